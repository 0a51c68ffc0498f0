import type { Knex } from 'knex'
import { leaseQueue } from '../shared/lease-queue.ts'

/**
 * The notice delivery repository: the statements on `notice_deliveries`, and the reads and marks
 * of `account_events` that feed them (docs/notices.md, docs/architecture.md "Persistence"). The
 * rules (what a claim returns, when a delivery is closed) are in notice-deliveries.ts.
 */

type Db = Knex | Knex.Transaction

/**
 * notice_deliveries as a lease queue. `claimed_until` is both the lease and the "not before" of
 * a delivery handed back; `attempts` counts claims and is never given back, so a delivery that
 * keeps failing is given up after a number of claims. Served by notice_deliveries_open_idx.
 */
export const noticeDeliveryQueue = leaseQueue({
  table: 'notice_deliveries',
  key: ['event_id', 'platform'],
  leaseColumn: 'claimed_until',
  fenceColumn: 'claim_token',
  attemptsColumn: 'attempts',
  due: (now) => ({ sql: 'delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)', bindings: [now] }),
  order: 'platform, event_id',
  returning: 'event_id::text AS event_id, platform, attempts, claim_token::text AS claim_token',
  held: { delivered_at: null },
  releaseAt: (at) => ({ claimed_until: at }),
  close: (now, note) => ({ delivered_at: now, note, claimed_until: null }),
})

// Lock the oldest events not seen yet (SKIP LOCKED: replicas fanning out at once take different
// ones), write one delivery per destination the account has now, and mark the events seen, in
// one statement: an event is fanned out exactly once. ON CONFLICT: rows the migration wrote.
const FAN_OUT_SQL = `
  WITH picked AS (
    SELECT id, account_id, created_at FROM account_events
     WHERE fanned_out_at IS NULL
     ORDER BY id
     LIMIT ?
     FOR UPDATE SKIP LOCKED
  ), fanned AS (
    INSERT INTO notice_deliveries (event_id, platform, account_id, created_at)
    SELECT p.id, d.platform, p.account_id, ?
      FROM picked p
      JOIN notice_destinations d ON d.account_id = p.account_id
    ON CONFLICT (event_id, platform) DO NOTHING
    RETURNING 1
  ), seen AS (
    UPDATE account_events e SET fanned_out_at = ?
      FROM picked
     WHERE e.id = picked.id
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM seen)::int AS events, (SELECT count(*) FROM fanned)::int AS deliveries`

/**
 * Fan up to `limit` events not seen yet out to one delivery per destination their account has,
 * and mark them seen, in one statement (see FAN_OUT_SQL). Returns how many events were seen and
 * how many deliveries written.
 */
export async function fanOutAccountEvents(db: Db, limit: number, now: Date): Promise<{ events: number; deliveries: number }> {
  const result = await db.raw<{ rows: { events: number; deliveries: number }[] }>(FAN_OUT_SQL, [limit, now, now])
  const row = result.rows[0]
  return { events: Number(row?.events ?? 0), deliveries: Number(row?.deliveries ?? 0) }
}

/**
 * The `account_events` rows of the given ids (decimal strings), as `readAccountEvent` reads them:
 * the id as text (a bigserial may outgrow a JS number). Unknown ids are left out.
 */
export async function readAccountEventRows(db: Db, ids: readonly string[]): Promise<unknown[]> {
  return db('account_events')
    .whereIn('id', [...ids])
    .select(db.raw('id::text AS id'), 'account_id', 'type', 'payload', 'created_at')
}


/**
 * Make the held deliveries (`held_since` set: handed back because the destination cannot be
 * posted to until something outside the job changes) of these accounts on one platform due at
 * `now`. Rows a worker holds right now (claim_token set) are left to it. Returns how many.
 */
export async function releaseHeldDeliveryRows(db: Db, platform: string, accountIds: readonly string[], now: Date): Promise<number> {
  if (accountIds.length === 0) return 0
  return db('notice_deliveries')
    .where({ platform })
    .whereIn('account_id', [...accountIds])
    .whereNull('delivered_at')
    .whereNull('claim_token')
    .whereNotNull('held_since')
    .update({ claimed_until: now })
}
