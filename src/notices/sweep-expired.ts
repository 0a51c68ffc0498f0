import { z } from 'zod'
import type { Deps } from '../deps.ts'

export interface SweepExpiredOptions {
  /** Invitations noticed per call at most (default 1000); call again while it returns `limit`. */
  limit?: number
}

export interface SweepExpiredOutcome {
  /** Invitations whose expiry was announced by this call (one `invitation.expired` event each). */
  noticed: number
}

const DEFAULT_LIMIT = 1000

/** ISO 8601 in UTC with milliseconds, as `Date#toISOString` writes it (what the parser reads). */
const isoUtc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The rows a sweep takes (bindings: now, limit): newly expired pending invitations, oldest expiry
 * first. Exported so a test can ask the planner about exactly this query (it must use
 * invitations_expiry_unnoticed_idx, docs/performance.md).
 */
export const SWEEP_SELECT_SQL = `SELECT id FROM invitations WHERE state = 'pending' AND expiry_noticed_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`

// One statement, so the mark and the event commit together or not at all:
//  - `due` locks up to `limit` newly expired pending invitations, oldest expiry first, through
//    invitations_expiry_unnoticed_idx (docs/performance.md). SKIP LOCKED: a row another sweeper (or a
//    regenerate, a remove) holds is left to it. A row another sweeper marked and committed after
//    our snapshot is re-checked on locking (READ COMMITTED re-evaluates the WHERE on the newest
//    version), so it no longer qualifies: each expiry gets exactly one event, whatever the replicas.
//  - `noticed` marks them, by primary key;
//  - the INSERT writes one `invitation.expired` account event per marked invitation, with the
//    user's name as it is now (see src/notices/account-events.ts for the payload's reader).
// Only index lookups: on 100k invitations plain joins here were planned as whole-table scans of
// invitations and users (bench/expiry-sweep.ts counts the rows read by sequential scans).
const SWEEP_SQL = `
  WITH due AS (
    ${SWEEP_SELECT_SQL}
    FOR UPDATE SKIP LOCKED
  ), noticed AS (
    -- By primary key: a join to due is planned as a hash join over the whole table.
    UPDATE invitations i SET expiry_noticed_at = ?
     WHERE i.id = ANY (ARRAY(SELECT id FROM due))
    RETURNING i.id, i.account_id, i.user_id, i.created_at, i.expires_at, i.invited_by_email
  )
  INSERT INTO account_events (account_id, type, payload, created_at)
  SELECT n.account_id, 'invitation.expired',
         jsonb_build_object(
           'invitationId', n.id,
           'userId', n.user_id,
           'email', u.email,
           'firstName', u.first_name,
           'lastName', u.last_name,
           'invitedAt', ${isoUtc('n.created_at')},
           'invitedByEmail', n.invited_by_email,
           'expiredAt', ${isoUtc('n.expires_at')}
         ),
         ?
    FROM noticed n
    -- One index lookup per invitation (a plain join reads every user: bench/expiry-sweep.ts).
    CROSS JOIN LATERAL (SELECT email, first_name, last_name FROM users WHERE id = n.user_id) u
   ORDER BY n.expires_at, n.id
  RETURNING id`

const optionsSchema = z.object({ limit: z.number().int().min(1).max(100_000).default(DEFAULT_LIMIT) })

/**
 * Announce invitations that have expired since the last sweep (docs/notices.md): each pending
 * invitation whose `expires_at` has passed (by `deps.clock`) gets one `invitation.expired`
 * account event, which the notices job posts to the account's destinations. Expiry itself is never
 * a state change (docs/lifecycle.md): the sweep only records that the expiry was announced
 * (`expiry_noticed_at`).
 *
 * Safe to run on every replica at once. A link that is resent is still valid (resend refuses
 * expired links), and a regenerated link is a new row, so it is announced when it expires in turn.
 * An invitation regenerated, accepted or revoked before the sweep reached it is no longer pending
 * and gets no expiry notice (its own event, if any, says what happened).
 */
export async function sweepExpiredInvitations(deps: Deps, opts: SweepExpiredOptions = {}): Promise<SweepExpiredOutcome> {
  const { limit } = optionsSchema.parse(opts)
  const now = deps.clock.now()
  const result = await deps.db.raw<{ rows: unknown[] }>(SWEEP_SQL, [now, limit, now, now])
  return { noticed: result.rows.length }
}
