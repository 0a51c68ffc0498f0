import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import type { LinkCode } from '../invitations/codes.ts'
import { openLink } from '../invitations/invitation-repository.ts'
import { inviteeActor } from '../invitations/invitee-link.ts'
import { ok, type Result } from '../shared/result.ts'
import { HANDOVER_CODE_TTL_MS, handOverCodeHash, handOverUrl, newHandOverCode } from './codes.ts'
import { deleteHandOverCodes, deleteSpentHandOverCodes, insertHandOverCode } from './handover-repository.ts'

/** Codes are deleted this long after they expire (used or not). */
export const SPENT_HANDOVER_CODE_RETENTION_MS = 86_400_000
/** Spent codes deleted per issue at most: each issue cleans a little, none waits long. */
const PURGE_PER_ISSUE = 100

/**
 * Accept, when the product registers its users itself (ACCEPT_REDIRECT_URL): the invitee's live
 * link gets a one-time code and the address of the product's sign-up carrying it. The invitation
 * stays pending until the product redeems the code (`redeemHandOverCode`); a new click replaces
 * any earlier code of the same invitation. Audited as the invitee's. Each issue also deletes a
 * bounded number of codes that expired more than a day ago (used or not), so the table stays small.
 *
 * Throws when ACCEPT_REDIRECT_URL is not configured: the page offers this only when it is.
 */
export async function issueHandOverCode(deps: Deps, cmd: { token: string }): Promise<Result<{ code: string; redirectTo: string; expiresAt: Date }, { code: LinkCode }>> {
  const redirectUrl = deps.config.acceptRedirectUrl
  if (!redirectUrl) throw new Error('issueHandOverCode needs ACCEPT_REDIRECT_URL')
  const issued = await deps.db.transaction(async (trx) => {
    const now = deps.clock.now()
    // The invitation first, then its codes: the order redeem takes them too.
    const link = await openLink(trx, deps.config.inviteSecret, cmd.token, now, { forUpdate: true })
    if (!link.ok) return link
    const { invitation, user } = link.value
    const code = newHandOverCode()
    const expiresAt = new Date(now.getTime() + HANDOVER_CODE_TTL_MS)
    await deleteHandOverCodes(trx, invitation.id)
    await insertHandOverCode(trx, { code_hash: handOverCodeHash(code), invitation_id: invitation.id, account_id: invitation.account_id, created_at: now, expires_at: expiresAt })
    await recordAudit(trx, {
      accountId: invitation.account_id,
      at: now,
      actor: inviteeActor(user, invitation.id),
      action: 'invitation.hand_over',
      targetEmail: user.email,
      resultCode: 'handover.issued',
      ok: true,
      detail: { expiresAt: expiresAt.toISOString() },
    })
    return ok({ code, redirectTo: handOverUrl(redirectUrl, code), expiresAt })
  })
  // Codes of other invitations that expired over a day ago, in a statement of its own after the
  // commit: it holds no lock of this invitation, and a failure costs the invitee nothing.
  await deleteSpentHandOverCodes(deps.db, new Date(deps.clock.now().getTime() - SPENT_HANDOVER_CODE_RETENTION_MS), PURGE_PER_ISSUE).catch((err: unknown) => {
    deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'deleting spent hand-over codes failed; the next issue tries again')
  })
  return issued
}
