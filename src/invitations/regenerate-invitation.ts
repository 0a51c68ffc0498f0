import type { Deps } from '../deps.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { toUserView, userGroupNames } from '../users/user-repository.ts'
import { adminUserAction } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { endInvitation, findInvitation, findPendingInvitation, insertInvitation, markReplacedBy } from './invitation-repository.ts'
import { refusalFor, sendInvitationEmail, sendLimitFailure } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'

export interface RegenerateInvitation {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
  /**
   * The expired link a button refers to. With it the action is idempotent by business key: a
   * second click (or a platform retry, or another administrator) on the same notice is told that
   * this link was already replaced, by whom and when, instead of a generic refusal.
   */
  invitationId?: string | null
}

/**
 * "Send new invitation" (docs/lifecycle.md): only for an expired invitation. The old link is dead for
 * good (`replaced`), a new one is valid for INVITE_TTL and emailed. The user row is locked first,
 * so concurrent regenerates serialise: exactly one new link and one email.
 */
export function regenerateInvitation(deps: Deps, cmd: RegenerateInvitation): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminUserAction(deps, { ...cmd, action: 'invitation.regenerate', targetEmail: cmd.email, successCode: 'invitation.regenerated', lock: 'user' }, async ({ trx, admin, now, detail }, user) => {
    const email = user.email
    const pending = await findPendingInvitation(trx, user.id)
    const status = displayStatus(user.status, pending?.expires_at ?? null, now)

    if (isUuid(cmd.invitationId) && cmd.invitationId !== pending?.id) {
      const clicked = await findInvitation(trx, cmd.invitationId)
      if (clicked && clicked.user_id === user.id && clicked.state === 'replaced' && pending && status === 'invited') {
        return fail({ code: 'invitation.already_replaced', email, by: pending.invited_by_email, at: pending.created_at, expiresAt: pending.expires_at })
      }
    }
    if (status !== 'expired' || !pending) {
      return fail(refusalFor(status, user, pending))
    }
    const limited = await sendLimitFailure(deps, trx, admin, email, now)
    if (limited) return fail(limited)
    // End the old link first: the partial unique index allows one pending link per user.
    await endInvitation(trx, pending.id, { state: 'replaced', now, byEmail: admin.email })
    const invitation = await insertInvitation(deps, trx, user, admin, now)
    await markReplacedBy(trx, pending.id, invitation.id)
    const groups = await userGroupNames(trx, user.id)
    await sendInvitationEmail(trx, { kind: 'new_invitation', user, invitation, admin, now, groups, invitationMarkedQueued: true })
    await emitWebhookEvent(trx, {
      type: 'invitation.regenerated',
      accountId: admin.accountId,
      at: now,
      data: { ...personOf(user), accountId: admin.accountId, invitationId: invitation.id, replacedInvitationId: pending.id, groups, invitedBy: admin.email, expiresAt: invitation.expires_at.toISOString() },
    })
    detail.replaced = pending.id
    detail.invitationId = invitation.id
    // Everything the view shows was just read or written here: no need to read it back.
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups, latest: invitation, now }) })
  })
}
