import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { zoneOrUtc } from '../shared/dates.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { UserRow } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { insertNewInvitationRequest, lastNewInvitationRequest, linkRefusal, resolveLinkToken, type InvitationRow } from './invitation-repository.ts'
import { inviteeActor } from './invitee-link.ts'

/** How often one expired link may ask the administrators for a new invitation. */
export const NEW_INVITATION_REQUEST_INTERVAL_MS = 24 * 60 * 60 * 1000

/** The audit action and the `account_events` type this use case writes. */
export const NEW_INVITATION_REQUESTED = 'invitation.new_requested'

export interface RequestNewInvitation {
  /** The token from the invitee's link (the path segment), as received. */
  token: string
}

export interface NewInvitationRequested {
  requestedAt: Date
}

/**
 * Why no request was recorded:
 *  - a `LinkCode`: the link is unknown, or dead for another reason than expiry (replaced,
 *    accepted, declined, revoked): the invitee sees that state's page instead;
 *  - `request.link_still_valid`: nothing to ask for, the link still opens the welcome screen;
 *  - `request.too_soon`: this link already asked within the interval (the administrators have it).
 */
export type RequestNewInvitationFailure =
  | { code: LinkCode }
  | { code: 'request.link_still_valid'; expiresAt: Date }
  /** `timeZone`: the account's, for showing the two times. */
  | { code: 'request.too_soon'; requestedAt: Date; retryAt: Date; timeZone: string }

/**
 * "Request a new invitation", the button on the expired-link page (docs/lifecycle.md):
 * records the request for the account's administrators (a row in `invitation_requests`, an
 * `account_events` row the notices worker posts, an audit entry), all in one transaction.
 *
 * Rate-limited per link: at most one request per `NEW_INVITATION_REQUEST_INTERVAL_MS`, counted
 * from stored rows (holds across restarts and replicas). The invitation row is locked first, so
 * a double click records one request. It sends no email and issues no link: only an
 * administrator decides to invite again (`regenerate`).
 *
 * Unknown and malformed tokens are refused with `link.invalid` without an audit entry: they
 * belong to no account, and writing one per guess would let anyone fill the log.
 */
export async function requestNewInvitation(deps: Deps, cmd: RequestNewInvitation): Promise<Result<NewInvitationRequested, RequestNewInvitationFailure>> {
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    // The same lookup as the invitee's page, locked: a double click records one request.
    const found = await resolveLinkToken(trx, deps.config.inviteSecret, cmd.token, { forUpdate: true })
    if (!found) return fail({ code: 'link.invalid' as const })
    const { invitation, user } = found

    const refused = async (failure: RequestNewInvitationFailure) => {
      await audit(trx, { invitation, user, now, resultCode: failure.code, ok: false })
      return fail(failure)
    }

    // Only an expired link asks: a dead one shows its own page, a valid one still opens.
    const refusal = linkRefusal(invitation, now)
    if (refusal === null) return refused({ code: 'request.link_still_valid', expiresAt: invitation.expires_at })
    if (refusal !== 'link.expired') return refused({ code: refusal })

    const last = await lastNewInvitationRequest(trx, invitation.id)
    if (last && now.getTime() - last.getTime() < NEW_INVITATION_REQUEST_INTERVAL_MS) {
      return refused({ code: 'request.too_soon', requestedAt: last, retryAt: new Date(last.getTime() + NEW_INVITATION_REQUEST_INTERVAL_MS), timeZone: zoneOrUtc(found.accountTimeZone) })
    }

    await insertNewInvitationRequest(trx, invitation, now)
    await trx('account_events').insert({
      account_id: invitation.account_id,
      type: NEW_INVITATION_REQUESTED,
      payload: JSON.stringify({
        userId: user.id,
        email: user.email,
        firstName: user.first_name,
        lastName: user.last_name,
        invitationId: invitation.id,
        invitedByEmail: invitation.invited_by_email,
        expiredAt: invitation.expires_at.toISOString(),
      }),
      created_at: now,
    })
    await audit(trx, { invitation, user, now, resultCode: NEW_INVITATION_REQUESTED, ok: true })
    return ok({ requestedAt: now })
  })
}

async function audit(
  trx: Knex.Transaction,
  e: { invitation: InvitationRow; user: UserRow; now: Date; resultCode: string; ok: boolean },
): Promise<void> {
  await recordAudit(trx, {
    accountId: e.invitation.account_id,
    at: e.now,
    actor: inviteeActor(e.user, e.invitation.id),
    action: NEW_INVITATION_REQUESTED,
    targetEmail: e.user.email,
    resultCode: e.resultCode,
    ok: e.ok,
    detail: { invitationId: e.invitation.id },
  })
}
