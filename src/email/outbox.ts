import type { Knex } from 'knex'
import type { LifecycleFailure } from '../invitations/failures.ts'

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
}

/** Write an email to the outbox inside the caller's transaction (DESIGN.md §6). */
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
  if (email.invitationId) {
    await trx('invitations').where({ id: email.invitationId }).update({ delivery_status: 'queued', delivery_detail: null, delivery_message_id: null })
  }
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * Per-administrator and per-recipient send limits (DESIGN.md §5). Counted from the outbox itself,
 * so they hold across restarts and replicas without a counter to keep in step.
 */
export async function checkSendLimits(
  trx: Knex.Transaction,
  opts: { adminUserId: string | null; toEmail: string; now: Date; limits: { adminSendsPerHour: number; recipientSendsPerDay: number } },
): Promise<LifecycleFailure | null> {
  if (opts.adminUserId) {
    const since = new Date(opts.now.getTime() - HOUR)
    const rows = await trx('email_outbox')
      .where('requested_by_user_id', opts.adminUserId)
      .andWhere('created_at', '>', since)
      .orderBy('created_at', 'asc')
      .limit(opts.limits.adminSendsPerHour)
      .select<{ created_at: Date }[]>('created_at')
    if (rows.length >= opts.limits.adminSendsPerHour && rows[0]) {
      return { code: 'limit.admin_sends', limit: opts.limits.adminSendsPerHour, retryAt: new Date(rows[0].created_at.getTime() + HOUR) }
    }
  }
  const since = new Date(opts.now.getTime() - DAY)
  const rows = await trx('email_outbox')
    .where('to_email', opts.toEmail)
    .andWhere('created_at', '>', since)
    .orderBy('created_at', 'asc')
    .limit(opts.limits.recipientSendsPerDay)
    .select<{ created_at: Date }[]>('created_at')
  if (rows.length >= opts.limits.recipientSendsPerDay && rows[0]) {
    return { code: 'limit.recipient_sends', email: opts.toEmail, limit: opts.limits.recipientSendsPerDay, retryAt: new Date(rows[0].created_at.getTime() + DAY) }
  }
  return null
}
