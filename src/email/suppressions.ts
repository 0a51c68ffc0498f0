import type { Knex } from 'knex'

// A suppression is a recipient SES told us not to write to again (hard bounce or complaint). The
// email worker's claim reads the table with each email it takes (outbox-repository.ts).

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
