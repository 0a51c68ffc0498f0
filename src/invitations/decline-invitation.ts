import { recordAudit } from '../audit/audit-log.ts'
import type { Deps } from '../deps.ts'
import { ok, type Result } from '../shared/result.ts'
import type { LinkCode } from './codes.ts'
import { resolveLink } from './invitee-link.ts'

/**
 * The invitee declines through their link: `Declined`, the link dead, administrators told
 * through an account event (the channel notices consume it) and the audit log.
 */
export async function declineInvitation(deps: Deps, cmd: { token: string }): Promise<Result<{ email: string; accountName: string }, { code: LinkCode }>> {
  return deps.db.transaction(async (trx) => {
    const now = deps.clock.now()
    const link = await resolveLink(trx, deps.config.inviteSecret, cmd.token, now, { forUpdate: true })
    if (!link.ok) return link
    const { invitation, user, accountName } = link.value
    await trx('users').where({ id: user.id }).update({ status: 'declined', updated_at: now })
    await trx('invitations').where({ id: invitation.id }).update({ state: 'declined', ended_at: now })
    await trx('account_events').insert({
      account_id: invitation.account_id,
      type: 'invitation.declined',
      payload: JSON.stringify({ email: user.email, invitationId: invitation.id, invitedBy: invitation.invited_by_email }),
      created_at: now,
    })
    await recordAudit(trx, {
      accountId: invitation.account_id,
      at: now,
      actor: { platform: 'web', platformUserId: `invitation:${invitation.id}`, email: user.email },
      action: 'invitation.decline',
      targetEmail: user.email,
      resultCode: 'invitation.declined',
      ok: true,
    })
    return ok({ email: user.email, accountName })
  })
}
