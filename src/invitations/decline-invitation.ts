import type { Deps } from '../deps.ts'
import { ok, type Result } from '../shared/result.ts'
import { setUserStatus } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { openLink } from './invitation-repository.ts'
import { recordInviteeAnswer } from './invitee-link.ts'

/**
 * The invitee declines through their link: `Declined`, the link dead, administrators told
 * through an account event (the channel notices consume it) and the audit log.
 */
export async function declineInvitation(deps: Deps, cmd: { token: string }): Promise<Result<{ email: string; accountName: string }, { code: LinkCode }>> {
  return deps.db.transaction(async (trx) => {
    const now = deps.clock.now()
    const link = await openLink(trx, deps.config.inviteSecret, cmd.token, now, { forUpdate: true })
    if (!link.ok) return link
    const { user, accountName } = link.value
    await setUserStatus(trx, user.id, 'declined', now)
    await recordInviteeAnswer(trx, link.value, 'declined', now)
    return ok({ email: user.email, accountName })
  })
}
