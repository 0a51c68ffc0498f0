import type { Knex } from 'knex'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { setInvitationDelivery } from '../invitations/invitation-repository.ts'
import { insertOutboxEmail, sendLimitFacts, type SendLimitFacts, type SendLimitQuery } from './outbox-repository.ts'

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
  /** The API key whose action caused the email, when it was one. */
  requestedByApiKeyId?: string | null
  payload: EmailPayload
  now: Date
  /**
   * The caller already set the invitation's delivery status to `queued` in this transaction
   * (a new link's insert, resend's update), so it needs no second write.
   */
  invitationMarkedQueued?: boolean
}

/** Write an email to the outbox inside the caller's transaction (docs/reliability.md). */
export async function enqueueEmail(trx: Knex.Transaction, email: EnqueueEmail): Promise<void> {
  await insertOutboxEmail(trx, email)
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
  opts: { adminUserId: string | null; adminApiKeyId?: string | null; toEmail: string; now: Date; limits: { adminSendsPerHour: number; recipientSendsPerDay: number } },
): Promise<LifecycleFailure | null> {
  const r = await sendLimitFacts(trx, sendLimitQuery(opts))
  return sendRefusal(r, opts)
}

/** The send-limit query of `checkSendable`, for a use case that joins it into a read of its own (`sendLimitFactsSql`). */
export function sendLimitQuery(opts: { adminUserId: string | null; adminApiKeyId?: string | null; toEmail: string; now: Date; limits: { adminSendsPerHour: number; recipientSendsPerDay: number } }): SendLimitQuery {
  return {
    adminUserId: opts.adminUserId,
    adminApiKeyId: opts.adminApiKeyId ?? null,
    toEmail: opts.toEmail,
    hourAgo: new Date(opts.now.getTime() - HOUR),
    dayAgo: new Date(opts.now.getTime() - DAY),
    adminSendsPerHour: opts.limits.adminSendsPerHour,
    recipientSendsPerDay: opts.limits.recipientSendsPerDay,
  }
}

/** `checkSendable`'s decision from the facts read (`sendLimitFacts`, or the same columns read with other things). */
export function sendRefusal(
  r: SendLimitFacts | null,
  opts: { adminUserId: string | null; adminApiKeyId?: string | null; toEmail: string; limits: { adminSendsPerHour: number; recipientSendsPerDay: number } },
): LifecycleFailure | null {
  if (!r) return null
  const toEmail = opts.toEmail.toLowerCase()
  if (r.suppressed_reason) {
    return { code: 'email.suppressed', email: toEmail, reason: r.suppressed_detail ? `${r.suppressed_reason}: ${r.suppressed_detail}` : r.suppressed_reason }
  }
  if ((opts.adminUserId || opts.adminApiKeyId) && r.admin_blocking) {
    return { code: 'limit.admin_sends', limit: opts.limits.adminSendsPerHour, retryAt: new Date(r.admin_blocking.getTime() + HOUR) }
  }
  if (r.recipient_blocking) {
    return { code: 'limit.recipient_sends', email: opts.toEmail, limit: opts.limits.recipientSendsPerDay, retryAt: new Date(r.recipient_blocking.getTime() + DAY) }
  }
  return null
}
