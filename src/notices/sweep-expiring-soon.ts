import { z } from 'zod'
import type { Deps } from '../deps.ts'
import { accountTimeZones, insertExpiringSoonDigests } from '../invitations/invitation-repository.ts'
import { localDate, localParts, zoneOrUtc } from '../shared/dates.ts'

/** The invitations a digest may list, for tests that ask the planner about it. */
export { EXPIRING_SOON_RANGE_SQL } from '../invitations/invitation-repository.ts'

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
  const zones = await accountTimeZones(deps.db)
  let digests = 0
  for (const stored of zones) {
    const zone = zoneOrUtc(stored)
    if (localParts(now, zone).hour < hour) continue
    const day = localDate(now, zone)
    // One statement per zone, once per account and local day whatever the replicas (invitation-repository.ts).
    digests += await insertExpiringSoonDigests(deps.db, { now, until, storedZone: stored, day, listLimit: EXPIRING_SOON_LIST_LIMIT })
  }
  return { digests }
}
