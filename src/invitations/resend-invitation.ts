import type { Deps } from '../deps.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { findPendingInvitation, toUserView, userGroupNames } from '../users/user-repository.ts'
import { adminUserAction } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { refusalFor, sendInvitationEmail, sendLimitFailure } from './invitation-store.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'

export interface ResendInvitation {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
}

/**
 * Email the same link again and reset its expiry to the full validity from now (docs/lifecycle.md).
 * Only while the link is still valid: an expired one must be regenerated.
 */
export function resendInvitation(deps: Deps, cmd: ResendInvitation): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminUserAction(deps, { ...cmd, action: 'invitation.resend', targetEmail: cmd.email, successCode: 'invitation.resent', lock: 'user' }, async ({ trx, admin, now, detail }, user) => {
    const email = user.email
    const pending = await findPendingInvitation(trx, user.id)
    const status = displayStatus(user.status, pending?.expires_at ?? null, now)
    if (status !== 'invited' || !pending) {
      return fail(refusalFor(status, user, pending))
    }
    const limited = await sendLimitFailure(deps, trx, admin, email, now)
    if (limited) return fail(limited)
    const [invitation] = await trx('invitations')
      .where({ id: pending.id })
      .update({
        expires_at: new Date(now.getTime() + deps.config.inviteTtlMs),
        sent_count: pending.sent_count + 1,
        last_sent_at: now,
        // The email below is queued in this transaction.
        delivery_status: 'queued',
        // The new expiry is announced when it comes, even if a sweep on another replica (its clock
        // a few ms ahead) already announced the old one.
        expiry_noticed_at: null,
        delivery_detail: null,
        delivery_message_id: null,
      })
      .returning('*')
    if (!invitation) throw new Error('the pending invitation vanished inside its own transaction')
    const groups = await userGroupNames(trx, user.id)
    await sendInvitationEmail(trx, { kind: 'resend', user, invitation, admin, now, groups, invitationMarkedQueued: true })
    detail.invitationId = pending.id
    // The pending link is the user's latest invitation: the view needs nothing read back.
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups, latest: invitation, now }) })
  })
}
