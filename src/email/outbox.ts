import type { Knex } from 'knex'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { setInvitationDelivery } from '../invitations/invitation-repository.ts'

export type EmailKind = 'invitation' | 'resend' | 'new_invitation' | 'removal'

/**
 * What a template needs, snapshotted when the change is made. Never a link: the worker derives
 * it from the invitation at send time, so the outbox holds no secret.
 */
export interface EmailPayload {
  accountName: string
  recipientFirstName: string
  inviterName: string | null
  inviterEmail: string | null
  groups: string[]
  /** ISO time the link stops working (invitation kinds). */
  expiresAt: string | null
  /** The account's time zone when the email was queued (IANA name); older rows have none: UTC. */
  timeZone?: string
}

export interface EnqueueEmail {
  accountId: string
  userId: string
  invitationId: string | null
  kind: EmailKind
  toEmail: string
  requestedByUserId: string | null
  payload: EmailPayload
  now: Date
  /**
   * The caller already set the invitation's delivery status to `queued` in this transaction
   * (`insertInvitation`, resend's update), so it needs no second write.
   */
  invitationMarkedQueued?: boolean
}

/** Write an email to the outbox inside the caller's transaction (docs/reliability.md). */
export async function enqueueEmail(trx: Knex.Transaction, email: EnqueueEmail): Promise<void> {
  await trx('email_outbox').insert({
    account_id: email.accountId,
    user_id: email.userId,
    invitation_id: email.invitationId,
    kind: email.kind,
    to_email: email.toEmail,
    requested_by_user_id: email.requestedByUserId,
    payload: JSON.stringify(email.payload),
    status: 'queued',
    next_attempt_at: email.now,
    created_at: email.now,
  })
  if (email.invitationId && !email.invitationMarkedQueued) {
    await setInvitationDelivery(trx, email.invitationId, { status: 'queued', detail: null, messageId: null })
  }
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * May an administrator's action email `toEmail` now? No when SES told us to stop writing to the
 * address (a hard bounce or a complaint), or when a per-administrator or per-recipient
 * send limit is reached (docs/security.md). Limits are counted from the outbox itself, so they hold
 * across restarts and replicas without a counter to keep in step. One round trip for all three.
 */
export async function checkSendable(
  trx: Knex.Transaction,
  opts: { adminUserId: string | null; toEmail: string; now: Date; limits: { adminSendsPerHour: number; recipientSendsPerDay: number } },
): Promise<LifecycleFailure | null> {
  const hourAgo = new Date(opts.now.getTime() - HOUR)
  const dayAgo = new Date(opts.now.getTime() - DAY)
  const toEmail = opts.toEmail.toLowerCase()
  // Removal notices are not counted: they cannot be repeated for one person (remove-user.ts).
  // For each limit, the send that keeps it reached: the limit-th most recent one in its window
  // (null while under the limit). Reading it walks at most `limit` entries of its index, and
  // sending is possible again as soon as it leaves the window.
  const { rows } = await trx.raw<{ rows: { suppressed_reason: string | null; suppressed_detail: string | null; admin_blocking: Date | null; recipient_blocking: Date | null }[] }>(
    `SELECT
       s.reason AS suppressed_reason,
       s.detail AS suppressed_detail,
       (SELECT created_at FROM email_outbox WHERE requested_by_user_id = ? AND created_at > ? AND kind <> 'removal' ORDER BY created_at DESC OFFSET ? LIMIT 1) AS admin_blocking,
       (SELECT created_at FROM email_outbox WHERE to_email = ? AND created_at > ? AND kind <> 'removal' ORDER BY created_at DESC OFFSET ? LIMIT 1) AS recipient_blocking
     FROM (SELECT 1) one
     LEFT JOIN email_suppressions s ON s.email = ?`,
    [opts.adminUserId, hourAgo, opts.limits.adminSendsPerHour - 1, opts.toEmail, dayAgo, opts.limits.recipientSendsPerDay - 1, toEmail],
  )
  const r = rows[0]
  if (!r) return null
  if (r.suppressed_reason) {
    return { code: 'email.suppressed', email: toEmail, reason: r.suppressed_detail ? `${r.suppressed_reason}: ${r.suppressed_detail}` : r.suppressed_reason }
  }
  if (opts.adminUserId && r.admin_blocking) {
    return { code: 'limit.admin_sends', limit: opts.limits.adminSendsPerHour, retryAt: new Date(r.admin_blocking.getTime() + HOUR) }
  }
  if (r.recipient_blocking) {
    return { code: 'limit.recipient_sends', email: opts.toEmail, limit: opts.limits.recipientSendsPerDay, retryAt: new Date(r.recipient_blocking.getTime() + DAY) }
  }
  return null
}
