import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { findAdmin } from '../invitations/admin-action.ts'
import { findLinkTarget, linkRefusal } from '../invitations/invitation-repository.ts'
import { recordInviteeAnswer } from '../invitations/invitee-link.ts'
import type { Actor } from '../invitations/model.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { activateUser, userGroupNames } from '../users/user-repository.ts'
import { handOverCodeHash, isWellFormedHandOverCode } from './codes.ts'
import { findHandOverCode, markHandOverCodeUsed } from './handover-repository.ts'

/** Who the product's new user is, as the redeemed code says. */
export interface HandedOverInvitee {
  email: string
  /** As the administrator typed them when inviting; null when none was given. */
  firstName: string | null
  lastName: string | null
  accountId: string
  accountName: string
  groups: string[]
  userId: string
  acceptedAt: Date
}

/**
 * Why a code does not redeem:
 *  - `handover.invalid`: no such code for this account (unknown, malformed, tampered, or another
 *    account's: the two read alike, so a key learns nothing about other accounts);
 *  - `handover.expired`: older than its ten minutes;
 *  - `handover.used`: redeemed already;
 *  - `invitation.no_longer_valid`: the invitation behind it ended or expired meanwhile
 *    (regenerated, the user removed, the link expired);
 *  - `auth.not_admin`: the actor is no API key active for the account (revoked after the router
 *    let the request in, or another account's).
 */
export type HandOverFailure = { code: 'handover.invalid' | 'handover.expired' | 'handover.used' | 'invitation.no_longer_valid' | 'auth.not_admin' }

export type HandOverFailureCode = HandOverFailure['code']

/**
 * The product's backend redeems the code its sign-up page received (`POST
 * /api/v1/invitations/redeem`): in one transaction the API key is checked active for the account,
 * the code is found for `accountId`, checked
 * unused and unexpired, its invitation still open; then the code is used up and the invitation
 * accepted as the invitee's page accepts it (the user Active with the names the administrator
 * gave, an `invitation.accepted` account event, the invitee's audit entry), and the redeem is
 * audited as `actor`'s. A refusal changes nothing but its audit entry.
 */
export async function redeemHandOverCode(deps: Deps, cmd: { accountId: string; code: string; actor: Actor }): Promise<Result<HandedOverInvitee, HandOverFailure>> {
  // A malformed code still costs a lookup, so timing does not tell it from an unknown one.
  const wellFormed = isWellFormedHandOverCode(cmd.code)
  const codeHash = handOverCodeHash(wellFormed ? cmd.code : `malformed:${cmd.code.slice(0, 200)}`)
  return deps.db.transaction(async (trx) => {
    const now = deps.clock.now()
    const refuse = async (code: HandOverFailureCode, targetEmail: string | null) => {
      if (isUuid(cmd.accountId)) {
        await recordAudit(trx, { accountId: cmd.accountId, at: now, actor: cmd.actor, action: 'invitation.redeem', targetEmail, resultCode: code, ok: false })
      }
      return fail({ code })
    }
    // The key is read again here, as every administrator action does (findAdmin), so a key
    // revoked after the router let the request in redeems nothing. Only the product's backend
    // redeems: an API key of this account, never a chat administrator.
    if (!isUuid(cmd.accountId)) return refuse('handover.invalid', null)
    if (cmd.actor.platform !== 'api' || !(await findAdmin(trx, cmd.accountId, cmd.actor))) return refuse('auth.not_admin', null)
    const found = await findHandOverCode(trx, codeHash)
    if (!found || !wellFormed || !isUuid(cmd.accountId) || found.account_id !== cmd.accountId) return refuse('handover.invalid', null)
    // Lock the invitation, then the code (issue takes them in this order too); a concurrent
    // redeem of the same code waits here and then finds it used.
    const target = await findLinkTarget(trx, found.invitation_id, { forUpdate: true })
    const row = await findHandOverCode(trx, codeHash, { forUpdate: true })
    if (!target || !row) return refuse('handover.invalid', null)
    const { invitation, user } = target
    if (row.used_at) return refuse('handover.used', user.email)
    if (now.getTime() >= row.expires_at.getTime()) return refuse('handover.expired', user.email)
    if (linkRefusal(invitation, now) !== null) return refuse('invitation.no_longer_valid', user.email)
    if (!(await markHandOverCodeUsed(trx, codeHash, now))) throw new Error('a locked hand-over code changed under its lock')
    // The product keeps the credentials: no password here.
    await activateUser(trx, user.id, { firstName: user.first_name, lastName: user.last_name, passwordHash: null, now })
    await recordInviteeAnswer(trx, target, 'accepted', now)
    await recordAudit(trx, { accountId: invitation.account_id, at: now, actor: cmd.actor, action: 'invitation.redeem', targetEmail: user.email, resultCode: 'handover.redeemed', ok: true, detail: { invitationId: invitation.id } })
    return ok({
      email: user.email,
      firstName: user.first_name === '' ? null : user.first_name,
      lastName: user.last_name === '' ? null : user.last_name,
      accountId: invitation.account_id,
      accountName: target.accountName,
      groups: await userGroupNames(trx, user.id),
      userId: user.id,
      acceptedAt: now,
    })
  })
}
