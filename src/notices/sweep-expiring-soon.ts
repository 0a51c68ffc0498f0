import { z } from 'zod'
import type { Deps } from '../deps.ts'

export interface SweepExpiringSoonOptions {
  /** The UTC hour (0–23, default 9) from which the day's digest is written; before it, nothing is. */
  hourUtc?: number
}

export interface SweepExpiringSoonOutcome {
  /** Digests written by this call (one `invitations.expiring_soon` event per account, per UTC day). */
  digests: number
}

/** Invitations listed in one digest at most; its `total` still counts them all. */
export const EXPIRING_SOON_LIST_LIMIT = 50

const DEFAULT_HOUR_UTC = 9
const HOUR = 3_600_000
/** "Expiring within 24 h" (docs/notices.md). */
const WINDOW_MS = 24 * HOUR
const EVENT_TYPE = 'invitations.expiring_soon'

/** ISO 8601 in UTC with milliseconds, as `Date#toISOString` writes it (what the parser reads). */
const isoUtc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The invitations a digest may list (bindings: now, now + 24 h): pending, still valid, expiring
 * within the window. Exported so a test can ask the planner about exactly this query (it must use
 * invitations_pending_expiry_idx, docs/performance.md: a range of the index, not a scan).
 */
export const EXPIRING_SOON_RANGE_SQL = `SELECT id, account_id, user_id, expires_at, invited_by_email FROM invitations WHERE state = 'pending' AND expires_at > ? AND expires_at <= ?`

// One statement, one digest per account per UTC day, whatever the replicas and the rounds:
//  - `soon` reads the window through invitations_pending_expiry_idx;
//  - `ranked` drops accounts that already have today's digest (a probe of account_events_dedupe_idx,
//    so a later round builds no JSON and burns no sequence value for them), then numbers each
//    account's invitations by expiry and counts them all;
//  - `listed` keeps the first few per account, with the user's name as it is now: one primary-key
//    lookup per listed invitation. A plain join was planned as a whole-table scan of users on 100k
//    users, and so was a LATERAL subquery without the LIMIT (the planner flattens it into the same
//    join); the LIMIT, harmless on a primary key, keeps it a per-row lookup.
//  - the INSERT writes one event per account. The NOT EXISTS alone is not enough: sweeps that start
//    together all see "no digest yet". ON CONFLICT on account_events_dedupe_idx is the guarantee:
//    a second sweep's insert waits for the first one's row to commit, then does nothing.
//    ORDER BY account_id: every sweep inserts in the same order, so two sweeps waiting on each
//    other's uncommitted rows cannot deadlock.
const DIGEST_SQL = `
  WITH soon AS (
    ${EXPIRING_SOON_RANGE_SQL}
  ), ranked AS (
    SELECT s.*,
           row_number() OVER (PARTITION BY s.account_id ORDER BY s.expires_at, s.id) AS n,
           count(*) OVER (PARTITION BY s.account_id) AS total
      FROM soon s
     WHERE NOT EXISTS (
             SELECT 1 FROM account_events e
              WHERE e.account_id = s.account_id AND e.type = '${EVENT_TYPE}' AND e.dedupe_key = ?::text)
  ), listed AS (
    SELECT r.*, u.email, u.first_name, u.last_name
      FROM ranked r
      CROSS JOIN LATERAL (SELECT email, first_name, last_name FROM users WHERE id = r.user_id LIMIT 1) u
     WHERE r.n <= ?
  )
  INSERT INTO account_events (account_id, type, dedupe_key, payload, created_at)
  SELECT l.account_id, '${EVENT_TYPE}', ?::text,
         jsonb_build_object(
           'day', ?::text,
           'total', max(l.total),
           'invitations', jsonb_agg(
             jsonb_build_object(
               'invitationId', l.id,
               'userId', l.user_id,
               'email', l.email,
               'firstName', l.first_name,
               'lastName', l.last_name,
               'expiresAt', ${isoUtc('l.expires_at')},
               'invitedByEmail', l.invited_by_email
             ) ORDER BY l.n)
         ),
         ?
    FROM listed l
   GROUP BY l.account_id
   ORDER BY l.account_id
  ON CONFLICT (account_id, type, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
  RETURNING id`

const optionsSchema = z.object({ hourUtc: z.number().int().min(0).max(23).default(DEFAULT_HOUR_UTC) })

/**
 * Write the daily "expiring within 24 h" digest (docs/notices.md): once `deps.clock` is at or past
 * `hourUtc` o'clock UTC, every account with pending invitations that expire within the next 24 h
 * gets one `invitations.expiring_soon` account event for that UTC day (its `dedupe_key`), listing
 * the first `EXPIRING_SOON_LIST_LIMIT` by expiry and counting them all; the notices worker posts
 * it to the account's channel. An account with nothing expiring gets nothing.
 *
 * Call it as often as you like (every sweep round) on every replica: the first call of the day
 * past the hour writes the digests; calls before the hour, later calls that day, and calls racing
 * it write none. The window is measured from the call that writes the digest, so a service that
 * was down at the hour still sends the day's digest when it comes back.
 */
export async function sweepExpiringSoon(deps: Deps, opts: SweepExpiringSoonOptions = {}): Promise<SweepExpiringSoonOutcome> {
  const { hourUtc } = optionsSchema.parse(opts)
  const now = deps.clock.now()
  if (now.getUTCHours() < hourUtc) return { digests: 0 }
  const day = now.toISOString().slice(0, 10)
  const until = new Date(now.getTime() + WINDOW_MS)
  const result = await deps.db.raw<{ rows: unknown[] }>(DIGEST_SQL, [now, until, day, EXPIRING_SOON_LIST_LIMIT, day, day, now])
  return { digests: result.rows.length }
}
