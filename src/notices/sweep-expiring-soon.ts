import { z } from 'zod'
import type { Deps } from '../deps.ts'
import { localDate, localParts, zoneOrUtc } from '../shared/dates.ts'

export interface SweepExpiringSoonOptions {
  /** The local hour (0–23, default 9) in each account's time zone from which its day's digest is written. */
  hour?: number
}

export interface SweepExpiringSoonOutcome {
  /** Digests written by this call (one `invitations.expiring_soon` event per account, per local day). */
  digests: number
}

/** Invitations listed in one digest at most; its `total` still counts them all. */
export const EXPIRING_SOON_LIST_LIMIT = 50

const DEFAULT_HOUR = 9
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

// One statement per time zone, one digest per account per local day, whatever the replicas and
// the rounds:
//  - `soon` reads the window through invitations_pending_expiry_idx, for the accounts of one
//    time zone (the zone's accounts by primary key);
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
    ${EXPIRING_SOON_RANGE_SQL} AND account_id = ANY (ARRAY(SELECT id FROM accounts WHERE time_zone = ?))
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

const optionsSchema = z.object({ hour: z.number().int().min(0).max(23).default(DEFAULT_HOUR) })

/**
 * Write the daily "expiring within 24 h" digest (docs/notices.md): once it is `hour` o'clock (9 by
 * default) or later in an account's time zone (`accounts.time_zone`; a name the runtime does not
 * know counts as UTC), every account there with pending invitations that expire within the next
 * 24 h gets one `invitations.expiring_soon` event for its local day (its `dedupe_key`), listing the
 * first `EXPIRING_SOON_LIST_LIMIT` by expiry and counting them all; the notices job posts it. An
 * account with nothing expiring gets nothing.
 *
 * Call it as often as you like (every sweep round) on every replica: the first call of the local
 * day past the hour writes the digests; calls before the hour, later calls that day, and calls
 * racing it write none. The window is measured from the call that writes the digest, so a service
 * that was down at the hour still sends the day's digest when it comes back.
 */
export async function sweepExpiringSoon(deps: Deps, opts: SweepExpiringSoonOptions = {}): Promise<SweepExpiringSoonOutcome> {
  const { hour } = optionsSchema.parse(opts)
  const now = deps.clock.now()
  const until = new Date(now.getTime() + WINDOW_MS)
  // Few distinct zones (one per place the accounts are in): the hour is decided here, with the
  // runtime's tz database, the same one every date shown to the account is written with. In the
  // same order on every replica, so two sweeps waiting on each other's rows cannot deadlock.
  const zones = (await deps.db('accounts').distinct('time_zone').orderBy('time_zone')) as { time_zone: string }[]
  let digests = 0
  for (const { time_zone: stored } of zones) {
    const zone = zoneOrUtc(stored)
    if (localParts(now, zone).hour < hour) continue
    const day = localDate(now, zone)
    const result = await deps.db.raw<{ rows: unknown[] }>(DIGEST_SQL, [now, until, stored, day, EXPIRING_SOON_LIST_LIMIT, day, day, now])
    digests += result.rows.length
  }
  return { digests }
}
