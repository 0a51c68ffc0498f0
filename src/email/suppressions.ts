import type { Knex } from 'knex'

/** A recipient SES told us not to write to again (hard bounce or complaint). */
export interface Suppression {
  email: string
  reason: 'bounce' | 'complaint'
  detail: string | null
  createdAt: Date
}

interface SuppressionRow {
  email: string
  reason: 'bounce' | 'complaint'
  detail: string | null
  created_at: Date
}

/** The suppression of a (normalised, lower-case) address, or null when we may send to it. */
export async function findSuppression(db: Knex | Knex.Transaction, email: string): Promise<Suppression | null> {
  const row = await db<SuppressionRow>('email_suppressions').where({ email: email.toLowerCase() }).first()
  return row ? { email: row.email, reason: row.reason, detail: row.detail, createdAt: row.created_at } : null
}

/**
 * Add a suppression (idempotent: the first reason is kept; a complaint after a bounce does not
 * rewrite history).
 */
export async function suppressRecipient(
  db: Knex | Knex.Transaction,
  s: { email: string; reason: 'bounce' | 'complaint'; detail: string | null; sesMessageId: string | null; feedbackId: string | null; now: Date },
): Promise<boolean> {
  const inserted = await db('email_suppressions')
    .insert({ email: s.email.toLowerCase(), reason: s.reason, detail: s.detail?.slice(0, 1000) ?? null, ses_message_id: s.sesMessageId, feedback_id: s.feedbackId, created_at: s.now })
    .onConflict('email')
    .ignore()
    .returning('email')
  return inserted.length > 0
}
