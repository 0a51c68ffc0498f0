import { lastSuccessfulActor } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { toUserView, userGroupNames } from '../users/user-repository.ts'
import { adminUserAction } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { extendInvitation, findPendingInvitation } from './invitation-repository.ts'
import { refusalFor, sendInvitationEmail, sendLimitFailure } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'

export interface ResendInvitation {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
  /**
   * From a button: the pending invitation the message showed, and the expiry it showed. With them
   * a second click on the same message (or another administrator's) sends nothing: it is told
   * that the link was replaced, or resent meanwhile (its expiry moved past what was shown).
   * Typed `resend` passes neither and always resends a valid link.
   */
  invitationId?: string | null
  seenExpiresAt?: Date | null
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
    if (isUuid(cmd.invitationId) && cmd.invitationId !== pending.id) {
      // The message showed a link that has since been replaced by this one.
      return fail({ code: 'invitation.already_replaced', email, by: pending.invited_by_email, at: pending.created_at, expiresAt: pending.expires_at })
    }
    if (isUuid(cmd.invitationId) && cmd.seenExpiresAt && pending.expires_at.getTime() > cmd.seenExpiresAt.getTime() + 999) {
      // Resent since the message was drawn (its expiry was pushed on): a second email would say nothing new.
      // The message carries whole seconds, hence the margin.
      const at = pending.last_sent_at ?? pending.created_at
      return fail({ code: 'invitation.already_resent', email, by: await lastSuccessfulActor(trx, admin.accountId, 'invitation.resend', email), at, expiresAt: pending.expires_at })
    }
    const limited = await sendLimitFailure(deps, trx, admin, email, now)
    if (limited) return fail(limited)
    // The email below is queued in this transaction.
    const invitation = await extendInvitation(trx, pending, new Date(now.getTime() + deps.config.inviteTtlMs), now)
    const groups = await userGroupNames(trx, user.id)
    await sendInvitationEmail(trx, { kind: 'resend', user, invitation, admin, now, groups, invitationMarkedQueued: true })
    await emitWebhookEvent(trx, {
      type: 'invitation.resent',
      accountId: admin.accountId,
      at: now,
      data: { ...personOf(user), accountId: admin.accountId, invitationId: invitation.id, groups, invitedBy: admin.email, expiresAt: invitation.expires_at.toISOString() },
    })
    detail.invitationId = pending.id
    // The pending link is the user's latest invitation: the view needs nothing read back.
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups, latest: invitation, now }) })
  })
}

