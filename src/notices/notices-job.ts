/**
 * The notices job (docs/notices.md), run by the composition root whenever any chat platform is
 * enabled. Each round:
 *
 *  1. sweeps invitations that expired since the last round into `invitation.expired` events
 *     (once each, whichever replica sweeps: sweep-expired.ts), and writes each account's daily
 *     "expiring within 24 h" digest from 09:00 in the account's time zone (sweep-expiring-soon.ts);
 *  2. fans new events out to one delivery per destination the account has (notice-deliveries.ts);
 *  3. for each platform, claims its own due deliveries under a lease (`SKIP LOCKED`: replicas
 *     share the work and never post the same delivery twice while the lease holds), groups them
 *     by account, renders each account's as a few messages in the account's time zone (the
 *     platform's `ChatNotifier`), and posts them to the account's destination there, at most one
 *     message per `conversationGapMs` per conversation;
 *  4. closes what was posted; hands back what the platform refused for now (rate limit, outage)
 *     until its Retry-After, up to `maxAttempts` claims; closes with a note, and a warning in the
 *     log, what the platform refuses for good or for too long, so one misconfigured account
 *     cannot hold the queue. A platform that is down delays only its own deliveries.
 *
 * Delivery is at least once: a process killed between the post and the close posts that message
 * again after the lease.
 */
import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import type { AccountEvent } from './account-events.ts'
import type { ChatNotifier, NoticeDestination } from './chat-notifier.ts'
import { claimDeliveries, closeDeliveries, fanOutEvents, NO_DESTINATION_NOTE, releaseDeliveries, renewDeliveries, type ClaimedNotice, type DeliveryClaim } from './notice-deliveries.ts'
import { findNoticeTarget } from './notice-destinations.ts'
import { sweepExpiredInvitations } from './sweep-expired.ts'
import { sweepExpiringSoon } from './sweep-expiring-soon.ts'

export interface NoticesJobOptions {
  /** Time between two rounds (default 30 s). */
  intervalMs?: number
  /** Deliveries claimed at a time, per platform (default 200). */
  batchSize?: number
  /** How long a claim holds before another replica may take the deliveries over (default 5 min). */
  leaseMs?: number
  /** When a platform says "later" without saying when (default 60 s). */
  retryDelayMs?: number
  /** Claims after which a notice a platform keeps refusing "for now" is given up (default 30). */
  maxAttempts?: number
  /** The local hour of the daily digest in each account's time zone (default 9). */
  digestHour?: number
  /** Waiting between posts; tests pass one that records. */
  sleep?: (ms: number) => Promise<void>
  /** A monotonic clock in ms for the spacing of posts (default `performance.now`). */
  monotonicMs?: () => number
}

/** What one round did, for logs and tests. */
export interface NoticeRound {
  /** Invitations found expired and turned into events. */
  expired: number
  /** Daily "expiring within 24 h" digests written (one per account per local day, from 09:00). */
  digests: number
  /** Deliveries written for new events (one per event and destination). */
  fannedOut: number
  /** Messages posted. */
  posted: number
  /** Deliveries closed because they were posted. */
  delivered: number
  /** Deliveries closed unposted: the destination was removed after the event was fanned out. */
  withoutDestination: number
  /** Deliveries put back for a later round (the platform said "later"). */
  retried: number
  /** Deliveries closed unposted because the platform refused for good, or for too long. */
  refused: number
  /** Deliveries not posted because this job's claim on them had passed to another worker. */
  lost: number
}

export interface NoticesJob {
  runOnce(): Promise<NoticeRound>
  /** Runs a round now and then every `intervalMs`, until `stop`. */
  start(): void
  /**
   * Stops the loop and waits for the round in flight, which ends after the post it is making:
   * the notices it had not posted yet are handed back, claimable at once by the next start or
   * another replica.
   */
  stop(): Promise<void>
}

/** Invitations swept into events per statement, and events fanned out per statement. */
const SWEEP_LIMIT = 1000

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Add to a round's count after the await: the platforms run side by side, so `round.x += await …`
 * (which reads `round.x` before awaiting) would lose the other platform's counts.
 */
function add(round: NoticeRound, field: keyof NoticeRound, n: number): void {
  round[field] += n
}

/** A round that did nothing. */
export function emptyRound(): NoticeRound {
  return { expired: 0, digests: 0, fannedOut: 0, posted: 0, delivered: 0, withoutDestination: 0, retried: 0, refused: 0, lost: 0 }
}

/**
 * The notices job over the given platforms' notifiers (see the module comment). With no
 * notifier it still sweeps and fans out; deliveries wait for a process whose platform posts them.
 */
export function createNoticesJob(deps: Deps, notifiers: readonly ChatNotifier[], opts: NoticesJobOptions = {}): NoticesJob {
  const log = deps.logger.child({ component: 'notices' })
  const intervalMs = opts.intervalMs ?? 30_000
  const batchSize = opts.batchSize ?? 200
  const leaseMs = opts.leaseMs ?? 5 * 60_000
  const retryDelayMs = opts.retryDelayMs ?? 60_000
  const maxAttempts = opts.maxAttempts ?? 30
  const sleep = opts.sleep ?? sleepFor
  const monotonicMs = opts.monotonicMs ?? (() => performance.now())
  const platforms = new Set<ChatPlatform>()
  for (const n of notifiers) {
    if (platforms.has(n.platform)) throw new Error(`notices: two notifiers for the platform ${n.platform}`)
    platforms.add(n.platform)
  }
  /** When the last post to each conversation was made, by platform and conversation. */
  const lastPostAt = new Map<string, number>()
  let stopped = true
  /** Set by `stop`: the round in flight posts nothing more. */
  let stopping = false

  async function spaceOut(notifier: ChatNotifier, conversationId: string): Promise<void> {
    const key = `${notifier.platform}\u0000${conversationId}`
    const last = lastPostAt.get(key)
    if (last !== undefined) {
      const wait = last + notifier.conversationGapMs - monotonicMs()
      if (wait > 0) await sleep(wait)
    }
    lastPostAt.set(key, monotonicMs())
  }

  async function deliverAccount(notifier: ChatNotifier, accountId: string, notices: ClaimedNotice[], round: NoticeRound): Promise<void> {
    const platform = notifier.platform
    const claimOf = new Map(notices.map((n) => [n.event.id, n.claim]))
    const allClaims = notices.map((n) => n.claim)
    const target = await findNoticeTarget(deps.db, accountId, platform)
    if (!target?.destination) {
      // The destination was removed after these events were fanned out: nowhere to post.
      add(round, 'withoutDestination', await closeDeliveries(deps, allClaims, NO_DESTINATION_NOTE))
      return
    }
    const destination: NoticeDestination = target.destination
    const where = { platform, accountId, conversation: destination.conversationId }
    const events: AccountEvent[] = notices.map((n) => n.event)
    let holdUntil: Date | null = null
    const batches = notifier.render(events, { now: deps.clock.now(), timeZone: target.timeZone })
    // A delivery no message reports would be claimed again and again, never posted nor given up:
    // close it now and say so (a renderer that skips an event type is a bug to fix).
    const rendered = new Set(batches.flatMap((b) => b.eventIds))
    const skipped = allClaims.filter((c) => !rendered.has(c.eventId))
    if (skipped.length > 0) {
      log.warn({ ...where, events: skipped.length }, `notice not posted: the ${platform} notifier rendered no message for it`)
      add(round, 'refused', await closeDeliveries(deps, skipped, `${platform}: not rendered`))
    }
    for (const { message, eventIds: ids } of batches) {
      // Each close or release is fenced by the claim this round holds (notice-deliveries.ts).
      const claims: DeliveryClaim[] = ids.flatMap((id) => claimOf.get(id) ?? [])
      if (holdUntil) {
        // The platform asked this conversation to wait: the rest of the account's notices wait with it.
        add(round, 'retried', await releaseDeliveries(deps, claims, holdUntil))
        continue
      }
      if (stopping) {
        // Shutting down: hand the rest back now rather than at the end of the lease.
        await releaseDeliveries(deps, claims, deps.clock.now())
        continue
      }
      await spaceOut(notifier, destination.conversationId)
      // A round posts one message after another, so a slow platform can make it outlive the
      // claim it took at the start: renew just before posting, and post only what is still ours.
      if (!(await renewDeliveries(deps, claims, leaseMs))) {
        log.warn({ ...where, events: claims.length }, 'notice not posted: another worker claimed it meanwhile (this round was too slow)')
        round.lost += claims.length
        continue
      }
      const posted = await notifier.post(destination, message)
      if (posted.ok) {
        round.posted += 1
        add(round, 'delivered', await closeDeliveries(deps, claims))
      } else if (posted.transient && Math.max(...claims.map((c) => c.attempts)) >= maxAttempts) {
        // "Later" for too long (an outage of hours, an error we cannot classify): stop, say so.
        log.warn({ ...where, error: posted.error, attempts: maxAttempts }, `notice given up: ${platform} kept refusing it`)
        add(round, 'refused', await closeDeliveries(deps, claims, `${platform}: gave up after ${maxAttempts} attempts (${posted.error})`.slice(0, 200)))
      } else if (posted.transient) {
        holdUntil = new Date(deps.clock.now().getTime() + (posted.retryAfterMs ?? retryDelayMs))
        log.info({ ...where, error: posted.error, retryAt: holdUntil.toISOString() }, `notice not posted yet: ${platform} asked to try later`)
        add(round, 'retried', await releaseDeliveries(deps, claims, holdUntil))
      } else {
        log.warn(
          { ...where, error: posted.error, events: claims.length },
          `notice not posted: ${platform} refused (${posted.error}). Add the app to the conversation, or choose another one with \`/invite notices here\``,
        )
        add(round, 'refused', await closeDeliveries(deps, claims, `${platform}: ${posted.error}`.slice(0, 200)))
      }
    }
  }

  async function deliverPlatform(notifier: ChatNotifier, round: NoticeRound): Promise<void> {
    // Bounded: a round ends even if notices keep arriving; the next round takes the rest.
    for (let batch = 0; batch < 10 && !stopping; batch += 1) {
      const claimed = await claimDeliveries(deps, notifier.platform, { limit: batchSize, leaseMs })
      const byAccount = new Map<string, ClaimedNotice[]>()
      for (const notice of claimed) byAccount.set(notice.event.accountId, [...(byAccount.get(notice.event.accountId) ?? []), notice])
      for (const [accountId, notices] of byAccount) await deliverAccount(notifier, accountId, notices, round)
      if (claimed.length < batchSize) break
    }
  }

  async function runOnce(): Promise<NoticeRound> {
    const round = emptyRound()
    // Bounded like the rest: a backlog of expiries (a first start) is swept over a few rounds.
    for (let sweep = 0; sweep < 10; sweep += 1) {
      const { noticed } = await sweepExpiredInvitations(deps, { limit: SWEEP_LIMIT })
      round.expired += noticed
      if (noticed < SWEEP_LIMIT) break
    }
    round.digests = (await sweepExpiringSoon(deps, opts.digestHour === undefined ? {} : { hour: opts.digestHour })).digests
    for (let batch = 0; batch < 10; batch += 1) {
      const { events, deliveries } = await fanOutEvents(deps, { limit: SWEEP_LIMIT })
      round.fannedOut += deliveries
      if (events < SWEEP_LIMIT) break
    }
    // The platforms side by side, each claiming only its own rows: one that is slow or down
    // (a post waiting for its deadline) holds up nothing of the others'.
    await Promise.all(
      notifiers.map(async (notifier) => {
        try {
          await deliverPlatform(notifier, round)
        } catch (error) {
          // An outage on this platform's path (or the database): its claims come back after their lease.
          log.error({ platform: notifier.platform, err: error instanceof Error ? error.message : String(error) }, 'notices round failed for one platform; retrying next round')
        }
      }),
    )
    if (Object.values(round).some((n) => n > 0)) log.info({ ...round }, 'notices round')
    return round
  }

  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<unknown> | null = null

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      timer = null
      inFlight = runOnce()
        .catch((error: unknown) => {
          // An outage (database, network): the claimed deliveries come back after their lease.
          log.error({ err: error instanceof Error ? error.message : String(error) }, 'notices round failed; retrying next round')
        })
        .finally(() => {
          inFlight = null
          if (!stopped) schedule(intervalMs)
        })
    }, delayMs)
    timer.unref()
  }

  return {
    runOnce,
    start() {
      if (!stopped) return
      stopped = false
      stopping = false
      schedule(0)
    },
    async stop() {
      stopped = true
      stopping = true
      if (timer) clearTimeout(timer)
      timer = null
      await inFlight
    },
  }
}
