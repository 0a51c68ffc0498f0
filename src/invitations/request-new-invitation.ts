import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-log.ts'
import type { Deps } from '../deps.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { InvitationRow, UserRow } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { isWellFormedToken, tokenHash, tokenMatches } from './links.ts'
import type { Actor } from './model.ts'

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
  | { code: 'request.too_soon'; requestedAt: Date; retryAt: Date }

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
    const found = await lockInvitationByToken(deps, trx, cmd.token)
    if (!found) return fail({ code: 'link.invalid' as const })
    const { invitation, user } = found

    const refused = async (failure: RequestNewInvitationFailure) => {
      await audit(trx, { invitation, user, now, resultCode: failure.code, ok: false })
      return fail(failure)
    }

    const dead = deadLinkCode(invitation)
    if (dead) return refused({ code: dead })
    if (now.getTime() < invitation.expires_at.getTime()) return refused({ code: 'request.link_still_valid', expiresAt: invitation.expires_at })

    const last = await trx('invitation_requests')
      .where({ invitation_id: invitation.id })
      .orderBy('requested_at', 'desc')
      .first<{ requested_at: Date } | undefined>('requested_at')
    if (last && now.getTime() - last.requested_at.getTime() < NEW_INVITATION_REQUEST_INTERVAL_MS) {
      return refused({ code: 'request.too_soon', requestedAt: last.requested_at, retryAt: new Date(last.requested_at.getTime() + NEW_INVITATION_REQUEST_INTERVAL_MS) })
    }

    await trx('invitation_requests').insert({ account_id: invitation.account_id, user_id: user.id, invitation_id: invitation.id, requested_at: now })
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

/** The invitation behind `token` and its user, locked; null when the token opens nothing. */
async function lockInvitationByToken(
  deps: Deps,
  trx: Knex.Transaction,
  token: string,
): Promise<{ invitation: InvitationRow; user: UserRow } | null> {
  // Same path as `resolveLink`: a malformed token still costs one lookup (of a hash that matches
  // nothing), so malformed, unknown and dead tokens are not told apart by timing. The hash finds
  // the row; the constant-time check against the secret confirms the token is one we issued.
  const wellFormed = isWellFormedToken(token)
  const hash = tokenHash(wellFormed ? token : `malformed:${token.slice(0, 200)}`)
  const invitation = await trx<InvitationRow>('invitations').where({ token_hash: hash }).forUpdate().first()
  if (!invitation || !wellFormed || !tokenMatches(deps.config.inviteSecret, invitation.link_id, token)) return null
  const user = await trx<UserRow>('users').where({ id: invitation.user_id }).first()
  return user ? { invitation, user } : null
}

/** The page a non-pending link gets; null while it is pending. */
function deadLinkCode(invitation: InvitationRow): LinkCode | null {
  switch (invitation.state) {
    case 'pending':
      return null
    case 'accepted':
      return 'link.accepted'
    case 'declined':
      return 'link.declined'
    case 'replaced':
      return 'link.replaced'
    case 'revoked':
      return 'link.revoked'
  }
}

/** The invitee, as the audit log names them (as accept and decline do): the link vouches for them. */
function inviteeActor(user: UserRow, invitationId: string): Actor {
  return { platform: 'web', platformUserId: `invitation:${invitationId}`, email: user.email }
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
