import type { Deps } from '../deps.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { toUserView } from '../users/user-repository.ts'
import { adminUserAction, auditPart } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { pendingLinkFacts, replaceInvitation } from './invitation-repository.ts'
import { invitationEmailSql, refusalFor, sendLimitFactsQuery, sendLimitRefusal } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { webhookEventInsertSql } from '../webhooks/emit.ts'
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
 *
 * Three statements between BEGIN and COMMIT (docs/performance.md "Round trips and CPU per
 * command"): the administrator and the locked user (the frame), then everything decided on
 * (`pendingLinkFacts`), then every write (`replaceInvitation`, with the email, the webhook
 * messages and the audit entry as parts of the same statement).
 */
export function regenerateInvitation(deps: Deps, cmd: RegenerateInvitation): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminUserAction(deps, { ...cmd, action: 'invitation.regenerate', targetEmail: cmd.email, successCode: 'invitation.regenerated', lock: 'user' }, async (scope, user) => {
    const { trx, admin, now, detail } = scope
    const email = user.email
    const clickedId = isUuid(cmd.invitationId) ? cmd.invitationId : null
    // Read with the pending link even when the status refuses: one round trip either way.
    const facts = await pendingLinkFacts(trx, user.id, { clickedId, sendLimits: sendLimitFactsQuery(deps, admin, email, now) })
    const { pending, groups } = facts
    const status = displayStatus(user.status, pending?.expires_at ?? null, now)

    if (clickedId !== null && clickedId !== pending?.id) {
      if (facts.clickedState === 'replaced' && pending && status === 'invited') {
        return fail({ code: 'invitation.already_replaced', email, by: pending.invited_by_email, at: pending.created_at, expiresAt: pending.expires_at })
      }
    }
    if (status !== 'expired' || !pending) {
      return fail(refusalFor(status, user, pending))
    }
    const limited = sendLimitRefusal(deps, admin, email, facts.sendable)
    if (limited) return fail(limited)
    const invitation = await replaceInvitation(deps, trx, {
      pendingId: pending.id,
      user,
      invitedBy: admin,
      now,
      also: (next) => {
        detail.replaced = pending.id
        detail.invitationId = next.id
        const expiresAt = next.expiresAt.toISOString()
        return [
          // The email with the new link (the worker derives the link from the invitation).
          { name: 'queued', ...invitationEmailSql({ kind: 'new_invitation', user, invitation: { id: next.id, expires_at: next.expiresAt }, admin, now, groups }) },
          // One message per enabled webhook endpoint subscribed to the event.
          {
            name: 'announced',
            ...webhookEventInsertSql({
              type: 'invitation.regenerated',
              accountId: admin.accountId,
              at: now,
              data: { ...personOf(user), accountId: admin.accountId, invitationId: next.id, replacedInvitationId: pending.id, groups, invitedBy: admin.email, expiresAt },
            }),
          },
          // The success audit entry, which the frame then does not write.
          ...auditPart(scope.successAuditSql()),
        ]
      },
    })
    // Everything the view shows was just read or written here: no need to read it back.
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups, latest: invitation, now }) })
  })
}
