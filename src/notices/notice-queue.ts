import type { Knex } from 'knex'
import { z } from 'zod'
import type { Deps } from '../deps.ts'
import { readAccountEvent, type AccountEvent } from './account-events.ts'

export interface ClaimOptions {
  /** Events claimed at most (default 50). */
  limit?: number
  /** How long the claim holds (default 60 s); after that another worker may take the events. */
  leaseMs?: number
}

/** Why an event was closed without a post (stored in `account_events.delivery_note`). */
export const UNREADABLE_EVENT_NOTE = 'unreadable event'

const DEFAULT_LIMIT = 50
const DEFAULT_LEASE_MS = 60_000

const claimOptions = z.object({
  limit: z.number().int().min(1).max(1_000).default(DEFAULT_LIMIT),
  leaseMs: z.number().int().min(1).max(24 * 3_600_000).default(DEFAULT_LEASE_MS),
})

/** An id as `claimAccountEvents` hands it out: the bigserial in decimal. Others match no row. */
const eventId = /^[0-9]{1,19}$/

/**
 * What a worker holds of a claimed event: its id and the claim's number (`attempts`, which every
 * claim raises by one and nothing lowers). Closing or releasing an event is conditioned on both,
 * so a worker whose lease ran out (another worker has claimed the event since) changes nothing.
 */
export interface EventClaim {
  id: string
  attempts: number
}

/** Just the fence of a claimed row that could not be read otherwise. */
const claimedRow = z.object({ id: z.string().regex(eventId), attempts: z.number().int().nonnegative() })

// Like the email outbox (src/email/outbox-worker.ts): lock the oldest due rows, skipping those
// another replica holds, and take a lease on them in the same statement. `attempts` counts claims,
// so a worker can tell an event that keeps failing. Served by account_events_undelivered_idx.
const CLAIM_SQL = `
  WITH picked AS (
    SELECT id FROM account_events
     WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)
     ORDER BY id
     LIMIT ?
     FOR UPDATE SKIP LOCKED
  )
  UPDATE account_events e SET claimed_until = ?, attempts = e.attempts + 1
    FROM picked
   WHERE e.id = picked.id
  RETURNING e.id::text AS id, e.account_id, e.type, e.payload, e.created_at, e.attempts`

/**
 * Claim undelivered account events for posting (docs/notices.md), oldest first. Each is leased to
 * the caller until `now + leaseMs`: no other claim returns it before then, whatever the
 * replicas; after that (the worker died, or took too long) it is claimed again, with `attempts`
 * one higher. Finish each one with `markEventsDelivered` or `releaseEvents`.
 *
 * A row that cannot be read (an unknown type, a malformed payload) is closed at once with the
 * note 'unreadable event' and a warning, and is not returned: it would fail the same way on
 * every retry, and must not hold up the events behind it.
 */
export async function claimAccountEvents(deps: Deps, opts: ClaimOptions = {}): Promise<AccountEvent[]> {
  const { limit, leaseMs } = claimOptions.parse(opts)
  const now = deps.clock.now()
  const result = await deps.db.raw<{ rows: unknown[] }>(CLAIM_SQL, [now, limit, new Date(now.getTime() + leaseMs)])
  const events: AccountEvent[] = []
  const unreadable: EventClaim[] = []
  for (const row of result.rows) {
    const read = readAccountEvent(row)
    if (read.ok) {
      events.push(read.value)
      continue
    }
    deps.logger.warn({ eventId: read.id, type: read.type, reason: read.reason }, 'unreadable account event closed without a notice')
    const claim = claimedRow.safeParse(row)
    if (claim.success) unreadable.push(claim.data)
  }
  if (unreadable.length > 0) await markEventsDelivered(deps, unreadable, UNREADABLE_EVENT_NOTE)
  // RETURNING has no order of its own; the ids (bigserial) are the order events were written in.
  return events.sort((a, b) => compareIds(a.id, b.id))
}

/** The claimed events among `claims` that are still open and still held by these claims. */
function stillHeld(db: Knex | Knex.Transaction, claims: readonly EventClaim[]) {
  const valid = claims.filter((c) => eventId.test(c.id) && Number.isSafeInteger(c.attempts))
  if (valid.length === 0) return null
  return db('account_events')
    .whereIn(
      ['id', 'attempts'],
      valid.map((c) => [c.id, c.attempts]),
    )
    .whereNull('delivered_at')
}

/**
 * Close events: posted, or deliberately not posted, with `note` saying why (e.g. 'no notice
 * channel'). An event already closed keeps its first close, and an event claimed again by
 * another worker since is left to that worker. Returns how many were closed now.
 */
export async function markEventsDelivered(deps: Deps, claims: readonly EventClaim[], note: string | null = null): Promise<number> {
  const held = stillHeld(deps.db, claims)
  return held ? held.update({ delivered_at: deps.clock.now(), delivery_note: note, claimed_until: null }) : 0
}

/**
 * Extend the claims just before acting on them (posting a message): true when every event is
 * still open and still held by these claims, with the lease renewed to `now + leaseMs`; false
 * when any has been closed or claimed by another worker since, and then nothing is renewed. A
 * worker that gets false must not post: the events are someone else's now.
 */
export async function renewEventClaims(deps: Deps, claims: readonly EventClaim[], leaseMs: number): Promise<boolean> {
  if (claims.length === 0) return true
  return deps.db.transaction(async (trx) => {
    const held = stillHeld(trx, claims)
    if (!held) return false
    const renewed = await held.update({ claimed_until: new Date(deps.clock.now().getTime() + leaseMs) })
    if (renewed === claims.length) return true
    // Some were lost: undo the partial renewal (the transaction) and let the caller skip the post.
    throw new LostClaims()
  }).catch((err: unknown) => {
    if (err instanceof LostClaims) return false
    throw err
  })
}

class LostClaims extends Error {}

/**
 * Hand claimed events back, to be claimed again at `retryAt` and not before (a rate limit's
 * Retry-After, a channel that is briefly unavailable). The claim still counts in `attempts`.
 * Returns how many were released (closed events, and events claimed again since, are left alone).
 */
export async function releaseEvents(deps: Deps, claims: readonly EventClaim[], retryAt: Date): Promise<number> {
  const held = stillHeld(deps.db, claims)
  return held ? held.update({ claimed_until: retryAt }) : 0
}

const channelRow = z.object({ channel_id: z.string().trim().min(1) })

/**
 * The channel where an account's notices go on one platform: the `channel_id` of the account's
 * chat connection there (set by `inviteops slack connect --channel`), or null when the account
 * has no connection on that platform or it names no channel. When an account is linked to
 * several workspaces/tenants, the oldest connection with a channel wins, so the choice is stable.
 */
export async function findNoticeChannel(db: Knex | Knex.Transaction, accountId: string, platform: 'slack' | 'teams'): Promise<string | null> {
  // An id that is not a uuid names no account (and would make Postgres raise, not answer).
  if (!z.guid().safeParse(accountId).success) return null
  const row: unknown = await db('chat_connections')
    .where({ account_id: accountId, platform })
    .whereNotNull('channel_id')
    .whereRaw(`btrim(channel_id) <> ''`)
    .orderBy([{ column: 'created_at' }, { column: 'external_id' }])
    .first('channel_id')
  if (row === undefined) return null
  const parsed = channelRow.safeParse(row)
  return parsed.success ? parsed.data.channel_id : null
}

/** Numeric order of decimal ids without converting them (they may exceed 2^53). */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
