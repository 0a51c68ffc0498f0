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
 *     cannot hold the queue. A platform that is down delays only its own deliveries. A post the
 *     platform answers "held" (its destination cannot be posted to until something outside the
 *     job changes: a Slack workspace that uninstalled the app) is handed back and looked at again
 *     every `holdRecheckMs`, however many times: it is never given up, and whatever releases the
 *     hold (a new install) makes it due at once (docs/notices.md "Held notices").
 *
 * Started (`start`), the job runs these as separate loops, each on its own schedule with at most
 * one round of its own in flight: one for the sweeps and the fan-out (1 and 2), and one per
 * platform (3 and 4). A platform whose posts wait for their deadline delays only its own next
 * round; the sweeps, the digest and the other platforms go on. `runOnce` runs all of them once.
 *
 * Delivery is at least once: a process killed between the post and the close, or a post that hit
 * its deadline or a 5xx after the platform had accepted it, posts that message again.
 */
import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import type { AccountEvent } from './account-events.ts'
import type { ChatNotifier, NoticeBatch, NoticeDestination } from './chat-notifier.ts'
import type { Logger } from '../ports/logger.ts'
import { claimDeliveries, closeDeliveries, fanOutEvents, NO_DESTINATION_NOTE, releaseDeliveries, renewDeliveries, type ClaimedNotice, type DeliveryClaim } from './notice-deliveries.ts'
import { findNoticeTarget } from './notice-destinations.ts'
import { sweepExpiredInvitations } from './sweep-expired.ts'
import { sweepExpiringSoon } from './sweep-expiring-soon.ts'

export interface NoticesJobOptions {
  /** Time between two rounds of each loop (default 30 s). */
  intervalMs?: number
  /** Deliveries claimed at a time, per platform (default 200). */
  batchSize?: number
  /** How long a claim holds before another replica may take the deliveries over (default 5 min). */
  leaseMs?: number
  /** When a platform says "later" without saying when (default 60 s). */
  retryDelayMs?: number
  /**
   * When a held notice (the platform cannot post there until something outside the job changes,
   * such as a Slack workspace reinstalling the app) is looked at again, when the platform does not
   * say (default 60 s). A held notice is never given up.
   */
  holdRecheckMs?: number
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
  /** Deliveries put back until their destination can be posted to again (the platform said "held"). */
  held: number
  /** Deliveries closed unposted because the platform refused for good, or for too long. */
  refused: number
  /** Deliveries not posted because this job's claim on them had passed to another worker. */
  lost: number
}

export interface NoticesJob {
  /** One round of everything: the sweeps and the fan-out, then every platform's deliveries side by side. */
  runOnce(): Promise<NoticeRound>
  /**
   * Starts the loops (the sweeps and fan-out, and one per platform): each runs a round now and
   * then `intervalMs` after its previous round ended, until `stop`. A fan-out that wrote
   * deliveries wakes the platform loops (one in the middle of a round runs again when it ends).
   * Called while a `stop` still waits for its rounds, it starts once they have ended.
   */
  start(): void
  /**
   * Stops the loops and waits for their rounds in flight, each of which ends after the post it is
   * making: the notices not posted yet (those it could not render, and one waiting out its
   * conversation's gap, too) are handed back, claimable at once by the next start or another
   * replica.
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
  return { expired: 0, digests: 0, fannedOut: 0, posted: 0, delivered: 0, withoutDestination: 0, retried: 0, held: 0, refused: 0, lost: 0 }
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
  const holdRecheckMs = opts.holdRecheckMs ?? 60_000
  const sleep = opts.sleep ?? sleepFor
  const monotonicMs = opts.monotonicMs ?? (() => performance.now())
  const platforms = new Set<ChatPlatform>()
  for (const n of notifiers) {
    if (platforms.has(n.platform)) throw new Error(`notices: two notifiers for the platform ${n.platform}`)
    platforms.add(n.platform)
  }
  /** When the last post to each conversation was made, per platform; pruned once the gap has passed. */
  const lastPostAt = new Map<ChatPlatform, Map<string, number>>(notifiers.map((n) => [n.platform, new Map()]))
  /** Set by `stop`: the rounds in flight post nothing more. */
  let stopping = false

  async function spaceOut(notifier: ChatNotifier, conversationId: string): Promise<void> {
    const posts = lastPostAt.get(notifier.platform) ?? new Map<string, number>()
    lastPostAt.set(notifier.platform, posts)
    const last = posts.get(conversationId)
    if (last !== undefined) {
      const wait = last + notifier.conversationGapMs - monotonicMs()
      if (wait > 0) await sleep(wait)
    }
    posts.set(conversationId, monotonicMs())
  }

  /** Forget conversations whose gap has passed: a post there may go at once, so the entry says nothing. */
  function pruneSpacing(notifier: ChatNotifier): void {
    const posts = lastPostAt.get(notifier.platform)
    if (!posts) return
    const now = monotonicMs()
    for (const [conversationId, at] of posts) if (now - at >= notifier.conversationGapMs) posts.delete(conversationId)
  }

  /** Render an account's events; a renderer that throws (a poison event) is answered like a post that failed "for now". */
  function render(notifier: ChatNotifier, events: AccountEvent[], timeZone: string): { ok: true; batches: NoticeBatch<unknown>[] } | { ok: false; error: string } {
    try {
      return { ok: true, batches: notifier.render(events, { now: deps.clock.now(), timeZone }) }
    } catch (error) {
      return { ok: false, error: (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 120) }
    }
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
    /** The platform asked this conversation to wait until then; `held`: because it cannot be posted to at all for now. */
    let holdUntil: { at: Date; held: boolean } | null = null
    const rendered = render(notifier, events, target.timeZone)
    if (!rendered.ok) {
      // One event the renderer cannot take must not stall the platform: this account's claims wait
      // like a refused post, and are closed with a note after `maxAttempts` claims. (Rendering the
      // account's events one by one to find the culprit would post them ungrouped.)
      if (stopping) {
        // Shutting down: hand them back now, like the notices a stopping round does not post.
        await releaseDeliveries(deps, allClaims, deps.clock.now())
      } else if (Math.max(...allClaims.map((c) => c.attempts)) >= maxAttempts) {
        log.warn({ ...where, error: rendered.error, attempts: maxAttempts }, `notice given up: the ${platform} notifier could not render it`)
        add(round, 'refused', await closeDeliveries(deps, allClaims, `${platform}: gave up after ${maxAttempts} attempts (render failed: ${rendered.error})`.slice(0, 200)))
      } else {
        const retryAt = new Date(deps.clock.now().getTime() + retryDelayMs)
        log.warn({ ...where, error: rendered.error, events: allClaims.length, retryAt: retryAt.toISOString() }, `notice not posted: the ${platform} notifier could not render it; trying again later`)
        add(round, 'retried', await releaseDeliveries(deps, allClaims, retryAt))
      }
      return
    }
    const batches = rendered.batches
    // A delivery no message reports would be claimed again and again, never posted nor given up:
    // close it now and say so (a renderer that skips an event type is a bug to fix).
    const reported = new Set(batches.flatMap((b) => b.eventIds))
    const skipped = allClaims.filter((c) => !reported.has(c.eventId))
    if (skipped.length > 0) {
      log.warn({ ...where, events: skipped.length }, `notice not posted: the ${platform} notifier rendered no message for it`)
      add(round, 'refused', await closeDeliveries(deps, skipped, `${platform}: not rendered`))
    }
    for (const { message, eventIds: ids } of batches) {
      // Each close or release is fenced by the claim this round holds (notice-deliveries.ts).
      const claims: DeliveryClaim[] = ids.flatMap((id) => claimOf.get(id) ?? [])
      if (claims.length === 0) {
        // A message about none of the claimed events (a renderer bug): posting it would close nothing.
        log.warn({ ...where }, `notice not posted: the ${platform} notifier rendered a message for no claimed event`)
        continue
      }
      if (holdUntil) {
        // The platform asked this conversation to wait: the rest of the account's notices wait with it.
        add(round, holdUntil.held ? 'held' : 'retried', await releaseDeliveries(deps, claims, holdUntil.at, { held: holdUntil.held }))
        continue
      }
      if (stopping) {
        // Shutting down: hand the rest back now rather than at the end of the lease.
        await releaseDeliveries(deps, claims, deps.clock.now())
        continue
      }
      await spaceOut(notifier, destination.conversationId)
      if (stopping) {
        // `stop` came while this post waited out the conversation's gap: hand it back, post nothing.
        await releaseDeliveries(deps, claims, deps.clock.now())
        continue
      }
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
      } else if (posted.transient && posted.held) {
        // Held: the destination waits for something outside the job (a workspace installing the
        // app again). Never given up, whatever the attempts; looked at again now and then, and at
        // once when the hold is released (releaseHeldDeliveries).
        holdUntil = { at: new Date(deps.clock.now().getTime() + (posted.retryAfterMs ?? holdRecheckMs)), held: true }
        log.info({ ...where, error: posted.error, events: claims.length, recheckAt: holdUntil.at.toISOString() }, `notice held: ${platform} cannot post there until it is installed again (${posted.error})`)
        add(round, 'held', await releaseDeliveries(deps, claims, holdUntil.at, { held: true }))
      } else if (posted.transient && Math.max(...claims.map((c) => c.attempts)) >= maxAttempts) {
        // "Later" for too long (an outage of hours, an error we cannot classify): stop, say so.
        log.warn({ ...where, error: posted.error, attempts: maxAttempts }, `notice given up: ${platform} kept refusing it`)
        add(round, 'refused', await closeDeliveries(deps, claims, `${platform}: gave up after ${maxAttempts} attempts (${posted.error})`.slice(0, 200)))
      } else if (posted.transient) {
        holdUntil = { at: new Date(deps.clock.now().getTime() + (posted.retryAfterMs ?? retryDelayMs)), held: false }
        log.info({ ...where, error: posted.error, retryAt: holdUntil.at.toISOString() }, `notice not posted yet: ${platform} asked to try later`)
        add(round, 'retried', await releaseDeliveries(deps, claims, holdUntil.at))
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
    pruneSpacing(notifier)
    // Bounded: a round ends even if notices keep arriving; the next round takes the rest.
    for (let batch = 0; batch < 10 && !stopping; batch += 1) {
      const claimed = await claimDeliveries(deps, notifier.platform, { limit: batchSize, leaseMs })
      const byAccount = new Map<string, ClaimedNotice[]>()
      for (const notice of claimed) byAccount.set(notice.event.accountId, [...(byAccount.get(notice.event.accountId) ?? []), notice])
      for (const [accountId, notices] of byAccount) await deliverAccount(notifier, accountId, notices, round)
      if (claimed.length < batchSize) break
    }
  }

  /** Sweeps and fan-out (steps 1 and 2). */
  async function runCore(round: NoticeRound): Promise<void> {
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
  }

  /** One platform's deliveries (steps 3 and 4); an outage on its path ends only its round. */
  async function runPlatform(notifier: ChatNotifier, round: NoticeRound): Promise<void> {
    try {
      await deliverPlatform(notifier, round)
    } catch (error) {
      // An outage on this platform's path (or the database): its claims come back after their lease.
      log.error({ platform: notifier.platform, err: error instanceof Error ? error.message : String(error) }, 'notices round failed for one platform; retrying next round')
    }
  }

  function report(round: NoticeRound, fields: Record<string, unknown> = {}): NoticeRound {
    if (Object.values(round).some((n) => n > 0)) log.info({ ...fields, ...round }, 'notices round')
    return round
  }

  async function runOnce(): Promise<NoticeRound> {
    const round = emptyRound()
    await runCore(round)
    // The platforms side by side, each claiming only its own rows.
    await Promise.all(notifiers.map((notifier) => runPlatform(notifier, round)))
    return report(round)
  }

  const platformLoops = notifiers.map((notifier) =>
    createLoop(intervalMs, log, notifier.platform, async () => {
      const round = emptyRound()
      await runPlatform(notifier, round)
      report(round, { platform: notifier.platform })
    }),
  )
  const coreLoop = createLoop(intervalMs, log, 'sweeps', async () => {
    const round = emptyRound()
    await runCore(round)
    report(round)
    // New deliveries: the platforms need not wait for their next turn.
    if (round.fannedOut > 0) for (const loop of platformLoops) loop.wake()
  })
  const loops = [coreLoop, ...platformLoops]

  /** Bumped by each `start` and `stop`: a start deferred behind a stop runs only if nothing came after it. */
  let generation = 0
  /** The `stop` still waiting for its rounds, if any. */
  let stopped: Promise<void> | null = null

  return {
    runOnce,
    start() {
      const mine = (generation += 1)
      const go = () => {
        if (mine !== generation) return
        stopping = false
        for (const loop of loops) loop.start()
      }
      // The stopped rounds still in flight must keep seeing `stopping` (they hand their notices
      // back): start once they have ended.
      if (stopped) void stopped.then(go)
      else go()
    },
    async stop() {
      generation += 1
      stopping = true
      const done = Promise.all(loops.map((loop) => loop.stop())).then(() => undefined)
      stopped = done
      await done
      if (stopped === done) stopped = null
    },
  }
}

/** One of the job's loops (see `createLoop`). */
export interface Loop {
  start(): void
  /**
   * Run the next round now. A loop waiting for its next round runs it at once; a loop with a round
   * in flight runs the next one as soon as that round ends, rather than an interval later.
   */
  wake(): void
  stop(): Promise<void>
}

/**
 * A round now and then one `intervalMs` after each round ends, at most one in flight. A round that
 * throws is logged and the loop goes on (what it had claimed comes back after the lease).
 *
 * `start` right after an un-awaited `stop`, while the stopped round is still running, does not
 * begin a second round beside it: that round, once ended, schedules the next one itself.
 */
export function createLoop(intervalMs: number, log: Logger, name: string, round: () => Promise<void>): Loop {
  let stopped = true
  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<void> | null = null
  /** A wake came while a round was in flight: the deliveries it announced may be past that round's claims. */
  let wakePending = false

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      timer = null
      wakePending = false
      inFlight = round()
        .catch((error: unknown) => {
          log.error({ loop: name, err: error instanceof Error ? error.message : String(error) }, 'notices round failed; retrying next round')
        })
        .finally(() => {
          inFlight = null
          // Whoever started the loop again meanwhile left the scheduling to this round (see `start`).
          if (!stopped) schedule(wakePending ? 0 : intervalMs)
          wakePending = false
        })
    }, delayMs)
    timer.unref()
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      // A round of the stopped run still in flight schedules the next one, at once, when it ends.
      if (inFlight) wakePending = true
      else schedule(0)
    },
    wake() {
      if (stopped) return
      if (inFlight) {
        wakePending = true
        return
      }
      if (!timer) return
      clearTimeout(timer)
      schedule(0)
    },
    async stop() {
      stopped = true
      wakePending = false
      if (timer) clearTimeout(timer)
      timer = null
      await inFlight
    },
  }
}
