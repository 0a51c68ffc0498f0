import type { Knex } from 'knex'
import type { SqlFragment } from '../shared/lease-queue.ts'

/**
 * The email repository: the statements on `email_outbox` and `email_feedback_events` that the
 * email use cases make (docs/architecture.md "Persistence"). The worker's claims, renewals and
 * closes go through the shared lease queue (`outboxQueue` in outbox-worker.ts); suppressions
 * live in suppressions.ts. Functions take the caller's connection or transaction and open none.
 */

type Db = Knex | Knex.Transaction

/** A new outbox row: one email to send, due at `now`. */
export interface OutboxInsert {
  accountId: string
  userId: string
  invitationId: string | null
  kind: string
  toEmail: string
  requestedByUserId: string | null
  /** The API key whose action caused the email (docs/api.md), when it was one. */
  requestedByApiKeyId?: string | null
  /** The template's data (stored as jsonb; never a link, docs/security.md). */
  payload: unknown
  now: Date
}

/** The email_outbox row of a new email. */
function outboxRow(email: OutboxInsert) {
  return {
    account_id: email.accountId,
    user_id: email.userId,
    invitation_id: email.invitationId,
    kind: email.kind,
    to_email: email.toEmail,
    requested_by_user_id: email.requestedByUserId,
    requested_by_api_key_id: email.requestedByApiKeyId ?? null,
    payload: JSON.stringify(email.payload),
    status: 'queued',
    next_attempt_at: email.now,
    created_at: email.now,
  }
}

/** Queue one email. */
export async function insertOutboxEmail(trx: Knex.Transaction, email: OutboxInsert): Promise<void> {
  await trx('email_outbox').insert(outboxRow(email))
}

/**
 * The same insert as `insertOutboxEmail`, as SQL for a use case that folds it into its own write
 * statement (a data-modifying CTE: `queued AS (<sql>)`), saving a round trip. `?` placeholders.
 * The invitation it names may be inserted by the same statement: the foreign key is checked at
 * the statement's end.
 */
export function outboxInsertSql(email: OutboxInsert): { sql: string; bindings: unknown[] } {
  const r = outboxRow(email)
  return {
    sql:
      'INSERT INTO email_outbox (account_id, user_id, invitation_id, kind, to_email, requested_by_user_id, requested_by_api_key_id, payload, status, next_attempt_at, created_at) ' +
      'VALUES (?::uuid, ?::uuid, ?::uuid, ?, ?, ?::uuid, ?::uuid, ?::jsonb, ?, ?::timestamptz, ?::timestamptz)',
    bindings: [r.account_id, r.user_id, r.invitation_id, r.kind, r.to_email, r.requested_by_user_id, r.requested_by_api_key_id, r.payload, r.status, r.next_attempt_at, r.created_at],
  }
}

/**
 * The facts `sendLimitFacts` reads, as a sub-select of one row (columns suppressed_reason,
 * suppressed_detail, admin_blocking, recipient_blocking) for a use case that joins it into a read
 * of its own: `CROSS JOIN (<sql>) sendable`. `?` placeholders.
 */
export function sendLimitFactsSql(q: SendLimitQuery): { sql: string; bindings: unknown[]; columns: readonly (keyof SendLimitFacts)[] } {
  // An API key has the hourly limit of an administrator, counted over its own sends.
  const requester = q.adminApiKeyId ? 'requested_by_api_key_id' : 'requested_by_user_id'
  return {
    sql: `SELECT
       s.reason AS suppressed_reason,
       s.detail AS suppressed_detail,
       (SELECT created_at FROM email_outbox WHERE ${requester} = ? AND created_at > ? AND kind <> 'removal' ORDER BY created_at DESC OFFSET ? LIMIT 1) AS admin_blocking,
       (SELECT created_at FROM email_outbox WHERE to_email = ? AND created_at > ? AND kind <> 'removal' ORDER BY created_at DESC OFFSET ? LIMIT 1) AS recipient_blocking
     FROM (SELECT 1) one
     LEFT JOIN email_suppressions s ON s.email = ?`,
    bindings: [q.adminApiKeyId ?? q.adminUserId, q.hourAgo, q.adminSendsPerHour - 1, q.toEmail, q.dayAgo, q.recipientSendsPerDay - 1, q.toEmail.toLowerCase()],
    columns: ['suppressed_reason', 'suppressed_detail', 'admin_blocking', 'recipient_blocking'],
  }
}

/** What decides whether one more email may go out (see `checkSendable` in outbox.ts). */
export interface SendLimitFacts {
  suppressed_reason: string | null
  suppressed_detail: string | null
  /** The administrator's send that keeps their hourly limit reached, or null while under it. */
  admin_blocking: Date | null
  /** The send to the recipient that keeps their daily limit reached, or null while under it. */
  recipient_blocking: Date | null
}

/**
 * The suppression of `toEmail` (lower-cased) and the sends that keep each limit reached, in one
 * round trip. Removal notices are not counted: they cannot be repeated for one person
 * (remove-user.ts). For each limit, the send that keeps it reached is the limit-th most recent one
 * in its window (null while under the limit); reading it walks at most `limit` entries of its
 * index, and sending is possible again as soon as it leaves the window.
 */
export interface SendLimitQuery {
  adminUserId: string | null
  adminApiKeyId?: string | null
  toEmail: string
  hourAgo: Date
  dayAgo: Date
  adminSendsPerHour: number
  recipientSendsPerDay: number
}

export async function sendLimitFacts(db: Db, q: SendLimitQuery): Promise<SendLimitFacts | null> {
  const { sql, bindings } = sendLimitFactsSql(q)
  const { rows } = await db.raw<{ rows: SendLimitFacts[] }>(sql, bindings as Knex.RawBinding[])
  return rows[0] ?? null
}

/** An email the outbox sent, as SES feedback finds it. */
export interface SentEmail {
  account_id: string
  invitation_id: string | null
  to_email: string
}

/** The emails sent as SES message `sesMessageId` to any of `toEmails`. */
export async function sentEmailsTo(db: Db, sesMessageId: string, toEmails: readonly string[]): Promise<SentEmail[]> {
  if (toEmails.length === 0) return []
  return db('email_outbox')
    .where({ message_id: sesMessageId })
    .whereIn('to_email', [...toEmails])
    .select<SentEmail[]>('account_id', 'invitation_id', 'to_email')
}

/**
 * Record one SNS notification about our email; false when it was recorded before (SNS delivers
 * at least once: the primary key on `sns_message_id` makes a redelivery change nothing).
 */
export async function insertFeedbackEvent(
  trx: Knex.Transaction,
  event: { snsMessageId: string; kind: 'bounce' | 'complaint'; sesMessageId: string; recipients: readonly string[]; receivedAt: Date },
): Promise<boolean> {
  const fresh = await trx('email_feedback_events')
    .insert({ sns_message_id: event.snsMessageId, kind: event.kind, ses_message_id: event.sesMessageId, recipients: JSON.stringify(event.recipients), received_at: event.receivedAt })
    .onConflict('sns_message_id')
    .ignore()
    .returning('sns_message_id')
  return fresh.length > 0
}

// ---- the worker's reads and writes folded into its claim and its record ----------------------

/**
 * What the email worker reads with each row it claims, in the claim's statement (the lease
 * queue's `alsoRead` over the claimed rows, `claimed`): the recipient's suppression, the state,
 * expiry and link id of the row's invitation, and the shared send gate (its hold, its alarm and
 * its clock). `gateNow`: the instant to judge the gate by, or null for the database's clock.
 * Columns from the migrations: email_suppressions (email is stored lower-case; outbox addresses
 * are normalised ASCII, so `lower` here is JavaScript's `toLowerCase`), invitations,
 * email_send_gate (one row, id 1; missing only when emptied: then `gate_found` is false).
 */
export function outboxClaimReads(gateNow: Date | null): { columns: SqlFragment; joins: SqlFragment } {
  return {
    columns: {
      sql: `s.reason AS suppressed_reason, s.detail AS suppressed_detail,
        i.state AS invitation_state, i.expires_at AS invitation_expires_at, i.link_id AS invitation_link_id,
        g.id IS NOT NULL AS gate_found, g.hold_kind AS gate_hold_kind, g.alarm_since AS gate_alarm_since,
        ${gateNow ? '?::timestamptz' : 'clock_timestamp()'} AS gate_now`,
      bindings: gateNow ? [gateNow] : [],
    },
    joins: {
      sql: `LEFT JOIN email_suppressions s ON s.email = lower(claimed.to_email)
        LEFT JOIN invitations i ON i.id = claimed.invitation_id
        LEFT JOIN email_send_gate g ON g.id = 1`,
      bindings: [],
    },
  }
}

/** The facts `outboxClaimReads` adds to a claimed row. */
export interface OutboxClaimFacts {
  suppressed_reason: string | null
  suppressed_detail: string | null
  /** Null when the row names no invitation, or it is gone. */
  invitation_state: string | null
  invitation_expires_at: Date | null
  invitation_link_id: string | null
  gate_found: boolean
  gate_hold_kind: string | null
  gate_alarm_since: Date | null
  /** The gate's clock at the claim. */
  gate_now: Date
}

/**
 * The claim's filter while the send gate is held (a quota or pause hold whose time has not come):
 * nothing is claimed then, in the claim's own statement (no read of the gate before it).
 */
export function gateNotHeldSql(gateNow: Date | null): SqlFragment {
  return {
    sql: `NOT EXISTS (SELECT 1 FROM email_send_gate g WHERE g.id = 1 AND g.hold_kind IS NOT NULL AND g.hold_until > ${gateNow ? '?::timestamptz' : 'clock_timestamp()'})`,
    bindings: gateNow ? [gateNow] : [],
  }
}

/** How an email's invitation is told of the outcome (its delivery columns). */
export interface DeliveryOutcome {
  status: 'sent' | 'failed'
  detail: string | null
  /** Set (or cleared with null) when given; left as it is when undefined. */
  messageId?: string | null
}

/**
 * Close an outbox row and tell its invitation, in ONE statement and without a transaction:
 * `completing` (the lease queue's `completing`, returning `invitation_id`) closes the row only while
 * the worker's claim holds, and the invitation's delivery columns are set only for a row it
 * closed (a data-modifying CTE: both happen, or neither). True when the row was closed.
 */
export async function recordOutboxOutcome(db: Db, completing: SqlFragment, delivery: DeliveryOutcome): Promise<boolean> {
  const sets = ['delivery_status = ?', 'delivery_detail = ?']
  const bindings: Knex.Value[] = [delivery.status, delivery.detail]
  if (delivery.messageId !== undefined) {
    sets.push('delivery_message_id = ?')
    bindings.push(delivery.messageId)
  }
  const sql = `WITH done AS (${completing.sql}),
    delivered AS (UPDATE invitations SET ${sets.join(', ')} WHERE id IN (SELECT invitation_id FROM done WHERE invitation_id IS NOT NULL) RETURNING id)
    SELECT count(*)::int AS closed FROM done`
  const { rows } = await db.raw<{ rows: { closed: number }[] }>(sql, [...completing.bindings, ...bindings] as Knex.RawBinding[])
  return (rows[0]?.closed ?? 0) > 0
}
