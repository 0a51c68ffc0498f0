import { lastSuccessfulActor } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { toUserView } from '../users/user-repository.ts'
import { adminUserAction, auditPart } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { extendInvitationWith, pendingLinkFacts } from './invitation-repository.ts'
import { invitationEmailSql, refusalFor, sendLimitFactsQuery, sendLimitRefusal } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { webhookEventInsertSql } from '../webhooks/emit.ts'
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
  return adminUserAction(deps, { ...cmd, action: 'invitation.resend', targetEmail: cmd.email, successCode: 'invitation.resent', lock: 'user' }, async (scope, user) => {
    const { trx, admin, now, detail } = scope
    const email = user.email
    // The pending link, the groups and the send limits in one round trip (read even when refused).
    const facts = await pendingLinkFacts(trx, user.id, { clickedId: null, sendLimits: sendLimitFactsQuery(deps, admin, email, now) })
    const { pending, groups } = facts
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
    const limited = sendLimitRefusal(deps, admin, email, facts.sendable)
    if (limited) return fail(limited)
    const expiresAt = new Date(now.getTime() + deps.config.inviteTtlMs)
    detail.invitationId = pending.id
    // One statement: the link extended, its email queued, the webhook messages, the audit entry.
    const invitation = await extendInvitationWith(trx, pending, expiresAt, now, [
      { name: 'queued', ...invitationEmailSql({ kind: 'resend', user, invitation: { id: pending.id, expires_at: expiresAt }, admin, now, groups }) },
      {
        name: 'announced',
        ...webhookEventInsertSql({
          type: 'invitation.resent',
          accountId: admin.accountId,
          at: now,
          data: { ...personOf(user), accountId: admin.accountId, invitationId: pending.id, groups, invitedBy: admin.email, expiresAt: expiresAt.toISOString() },
        }),
      },
      ...auditPart(scope.successAuditSql()),
    ])
    // The pending link is the user's latest invitation: the view needs nothing read back.
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups, latest: invitation, now }) })
  })
}
