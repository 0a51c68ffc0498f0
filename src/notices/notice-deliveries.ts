/**
 * The notice deliveries (docs/notices.md): one row per account event and platform, each with its
 * own lease, so an account with destinations on two platforms gets each notice on both, once
 * each, and a platform that is down holds only its own rows.
 *
 *  - `fanOutEvents` copies new account events into one delivery per destination the account has
 *    at that moment (a destination added later does not replay old notices);
 *  - `claimDeliveries` claims one platform's due deliveries on the shared lease queue
 *    (src/shared/lease-queue.ts) and reads their events;
 *  - `closeDeliveries`, `releaseDeliveries`, `renewDeliveries` finish them, fenced by the claim.
 *
 * The statements are in notice-delivery-repository.ts.
 */
import { z } from 'zod'
import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import type { LeaseClaim } from '../shared/lease-queue.ts'
import { readAccountEvent, type AccountEvent } from './account-events.ts'
import type { Knex } from 'knex'
import { fanOutAccountEvents, noticeDeliveryQueue, readAccountEventRows, releaseHeldDeliveryRows } from './notice-delivery-repository.ts'
import { isUuid } from '../shared/ids.ts'

/** Why a delivery was closed without a post, when the event could not be read. */
export const UNREADABLE_EVENT_NOTE = 'unreadable event'
/** Why a delivery was closed without a post, when its destination was removed meanwhile. */
export const NO_DESTINATION_NOTE = 'no notice destination'

/** What a worker holds of one claimed delivery: the event, the platform, the claim number and its fence. */
export interface DeliveryClaim {
  eventId: string
  platform: ChatPlatform
  /** How many times this delivery has been claimed, this claim included. */
  attempts: number
  fence: string
}

/** A claimed delivery and its event, read (attempts = the delivery's claim number). */
export interface ClaimedNotice {
  event: AccountEvent
  claim: DeliveryClaim
}

export interface ClaimDeliveriesOptions {
  /** Deliveries claimed at most (default 50). */
  limit?: number
  /** How long the claim holds (default 60 s); after that another worker may take them. */
  leaseMs?: number
}

const claimOptions = z.object({
  limit: z.number().int().min(1).max(1_000).default(50),
  leaseMs: z.number().int().min(1).max(24 * 3_600_000).default(60_000),
})

/** An event id as the queue hands it out: the bigserial in decimal. Others match no row. */
const eventIdPattern = /^[0-9]{1,19}$/


const claimedRow = z.object({ event_id: z.string().regex(eventIdPattern), platform: z.string(), attempts: z.number().int(), claim_token: z.string() })

function leaseClaims(claims: readonly DeliveryClaim[]): LeaseClaim[] {
  return claims.filter((c) => eventIdPattern.test(c.eventId) && Number.isSafeInteger(c.attempts)).map((c) => ({ key: [c.eventId, c.platform], fence: c.fence }))
}

/**
 * Fan new account events out to their account's destinations: one delivery per event and
 * destination platform, written with the mark that the event was seen, so each event is fanned
 * out once whatever the replicas. An account with no destination gets no delivery (its events
 * stay in `account_events` and the audit log). Call again while `events` equals `limit`.
 */
export async function fanOutEvents(deps: Deps, opts: { limit?: number } = {}): Promise<{ events: number; deliveries: number }> {
  const limit = z.number().int().min(1).max(10_000).default(1000).parse(opts.limit)
  return fanOutAccountEvents(deps.db, limit, deps.clock.now())
}

/**
 * Claim one platform's due deliveries, oldest event first, each leased until `now + leaseMs`
 * (docs/notices.md): no other claim returns them before then, whatever the replicas; after that
 * they are claimed again with `attempts` one higher. Finish each one with `closeDeliveries` or
 * `releaseDeliveries`.
 *
 * A delivery whose event cannot be read (an unknown type, a malformed payload) is closed at once
 * with the note 'unreadable event' and a warning, and is not returned: it would fail the same way
 * on every retry, and must not hold up the ones behind it.
 */
export async function claimDeliveries(deps: Deps, platform: ChatPlatform, opts: ClaimDeliveriesOptions = {}): Promise<ClaimedNotice[]> {
  const { limit, leaseMs } = claimOptions.parse(opts)
  const now = deps.clock.now()
  const rows = await noticeDeliveryQueue.claim<unknown>(deps.db, { now, leaseMs, limit, filter: { sql: 'platform = ?', bindings: [platform] } })
  const claims: DeliveryClaim[] = []
  for (const row of rows) {
    const r = claimedRow.safeParse(row)
    if (r.success) claims.push({ eventId: r.data.event_id, platform, attempts: r.data.attempts, fence: r.data.claim_token })
  }
  if (claims.length === 0) return []
  const eventRows = await readAccountEventRows(
    deps.db,
    claims.map((c) => c.eventId),
  )
  const byId = new Map(eventRows.map((row) => [String((row as { id: unknown }).id), row]))
  const out: ClaimedNotice[] = []
  const unreadable: DeliveryClaim[] = []
  for (const claim of claims) {
    const read = readAccountEvent({ ...(byId.get(claim.eventId) as object | undefined), attempts: claim.attempts })
    if (read.ok) {
      out.push({ event: read.value, claim })
      continue
    }
    deps.logger.warn({ eventId: claim.eventId, platform, type: read.type, reason: read.reason }, 'unreadable account event closed without a notice')
    unreadable.push(claim)
  }
  if (unreadable.length > 0) await closeDeliveries(deps, unreadable, UNREADABLE_EVENT_NOTE)
  // RETURNING has no order of its own; the ids (bigserial) are the order events were written in.
  return out.sort((a, b) => compareIds(a.event.id, b.event.id))
}

/**
 * Close deliveries: posted (`note` null), or deliberately not posted, with `note` saying why. A
 * delivery already closed keeps its first close, and one claimed again by another worker since is
 * left to that worker. Returns how many were closed now.
 */
export async function closeDeliveries(deps: Deps, claims: readonly DeliveryClaim[], note: string | null = null): Promise<number> {
  return noticeDeliveryQueue.complete(deps.db, leaseClaims(claims), deps.clock.now(), note)
}

/**
 * Extend the claims just before posting: true when every delivery is still open and still held
 * by these claims (then renewed to `now + leaseMs`); false when any was closed or claimed by
 * another worker since, and then none is renewed. A worker that gets false must not post.
 */
export async function renewDeliveries(deps: Deps, claims: readonly DeliveryClaim[], leaseMs: number): Promise<boolean> {
  const valid = leaseClaims(claims)
  if (valid.length !== claims.length) return false
  return noticeDeliveryQueue.renew(deps.db, valid, new Date(deps.clock.now().getTime() + leaseMs))
}

/**
 * Hand claimed deliveries back, to be claimed again at `retryAt` and not before (a rate limit's
 * Retry-After, a platform that is briefly down). The claim still counts in `attempts`. Returns
 * how many were released (closed ones, and ones claimed again since, are left alone).
 *
 * `held`: the destination cannot be posted to until something outside the job changes (a Slack
 * workspace without a usable install); the delivery is marked held (`held_since`, kept from the
 * first hold), and `releaseHeldDeliveries` makes it due at once when that changes. Any other
 * release clears the mark. A held claim is given back (`attempts` one lower): the platform was
 * not tried, so a notice held for days is not given up at its first refusal once it can be posted.
 */
export async function releaseDeliveries(deps: Deps, claims: readonly DeliveryClaim[], retryAt: Date, opts: { held?: boolean } = {}): Promise<number> {
  const extra = opts.held ? { held_since: deps.db.raw('coalesce(held_since, ?)', [deps.clock.now()]), attempts: deps.db.raw('greatest(attempts - 1, 0)') } : { held_since: null }
  return noticeDeliveryQueue.release(deps.db, leaseClaims(claims), retryAt, extra)
}

/**
 * The held deliveries of these accounts on one platform, due at once (a Slack workspace installed
 * the app again): nothing else is woken; the platform's next round claims them. Called inside the
 * caller's transaction. Returns how many.
 */
export async function releaseHeldDeliveries(db: Knex | Knex.Transaction, platform: ChatPlatform, accountIds: readonly string[], now: Date): Promise<number> {
  return releaseHeldDeliveryRows(db, platform, accountIds.filter(isUuid), now)
}

/** Numeric order of decimal ids without converting them (they may exceed 2^53). */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
