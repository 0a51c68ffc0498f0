/**
 * The channel notices worker for Slack (docs/notices.md). Each round:
 *
 *  1. sweeps invitations that expired since the last round into `invitation.expired` events
 *     (once each, whichever replica sweeps: src/notices/sweep-expired.ts), and once a day from
 *     09:00 UTC writes each account's "expiring within 24 h" digest (sweep-expiring-soon.ts);
 *  2. claims undelivered account events under a lease (`SKIP LOCKED`: replicas share the work
 *     and never post the same event twice while the lease holds);
 *  3. renders each account's events as a few grouped messages (render-notices.ts) and posts them
 *     to the account's notice channel (`inviteops slack connect --channel`), at most one message
 *     per `channelGapMs` per channel (Slack allows about one per second);
 *  4. closes what was posted; puts back what Slack refused for now (rate limit, outage) until
 *     later, up to `maxAttempts` claims; closes with a note, and a warning in the log, what Slack
 *     refuses for good (`not_in_channel`, `channel_not_found`…) or for too long, so one
 *     misconfigured account cannot hold the queue.
 *
 * Delivery is at least once: a process killed between the post and the close posts that message
 * again after the lease. Events of an account with no Slack notice channel are closed unposted.
 */
import { WebClient } from '@slack/web-api'
import { LogLevel } from '@slack/bolt'
import type { Deps } from '../../src/deps.ts'
import type { AccountEvent } from '../../src/notices/account-events.ts'
import { claimAccountEvents, findNoticeChannel, markEventsDelivered, releaseEvents, renewEventClaims, type EventClaim } from '../../src/notices/notice-queue.ts'
import { sweepExpiredInvitations } from '../../src/notices/sweep-expired.ts'
import { sweepExpiringSoon } from '../../src/notices/sweep-expiring-soon.ts'
import { SLACK_CALL_TIMEOUT_MS, type SlackConfig } from './config.ts'
import type { SlackIO } from './interactions.ts'
import { renderNotices } from './render-notices.ts'
import { createSlackIO } from './web-io.ts'

export interface SlackNoticesOptions {
  /** Time between two rounds (default 30 s). */
  intervalMs?: number
  /** Least time between two posts to one channel (default 1.1 s). */
  channelGapMs?: number
  /** Events claimed at a time (default 200). */
  batchSize?: number
  /** How long a claim holds before another replica may take the events over (default 5 min). */
  leaseMs?: number
  /** When Slack says "later" without saying when (default 60 s). */
  retryDelayMs?: number
  /** Claims after which a notice Slack keeps refusing "for now" is given up (default 30). */
  maxAttempts?: number
  /** Waiting between posts; tests pass one that records. */
  sleep?: (ms: number) => Promise<void>
  /** A monotonic clock in ms for the spacing of posts (default `performance.now`). */
  monotonicMs?: () => number
}

/** What one round did, for logs and tests. */
export interface NoticeRound {
  /** Invitations found expired and turned into events. */
  expired: number
  /** Daily "expiring within 24 h" digests written (one per account per day, from 09:00 UTC). */
  digests: number
  /** Messages posted. */
  posted: number
  /** Events closed because they were posted. */
  delivered: number
  /** Events closed unposted: the account has no Slack notice channel. */
  withoutChannel: number
  /** Events put back for a later round (Slack said "later"). */
  retried: number
  /** Events closed unposted because Slack refused for good. */
  refused: number
  /** Events not posted because this worker's claim on them had passed to another worker. */
  lost: number
}

export interface SlackNotices {
  runOnce(): Promise<NoticeRound>
  /** Runs a round now and then every `intervalMs`, until `stop`. */
  start(): void
  /**
   * Stops the loop and waits for the round in flight, which ends after the post it is making:
   * the notices it had not posted yet are handed back for the next start or another replica.
   */
  stop(): Promise<void>
}

/** Invitations swept into events per statement. */
const SWEEP_LIMIT = 1000

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The worker over a `postMessage`; see `createSlackNoticesFromConfig` for the production wiring. */
export function createSlackNotices(deps: Deps, io: Pick<SlackIO, 'postMessage'>, opts: SlackNoticesOptions = {}): SlackNotices {
  const log = deps.logger.child({ adapter: 'slack', component: 'notices' })
  const intervalMs = opts.intervalMs ?? 30_000
  const channelGapMs = opts.channelGapMs ?? 1100
  const batchSize = opts.batchSize ?? 200
  const leaseMs = opts.leaseMs ?? 5 * 60_000
  const retryDelayMs = opts.retryDelayMs ?? 60_000
  const maxAttempts = opts.maxAttempts ?? 30
  const sleep = opts.sleep ?? sleepFor
  const monotonicMs = opts.monotonicMs ?? (() => performance.now())
  const lastPostAt = new Map<string, number>()
  let stopped = true
  /** Set by `stop`: the round in flight posts nothing more. */
  let stopping = false

  async function spaceOut(channel: string): Promise<void> {
    const last = lastPostAt.get(channel)
    if (last !== undefined) {
      const wait = last + channelGapMs - monotonicMs()
      if (wait > 0) await sleep(wait)
    }
    lastPostAt.set(channel, monotonicMs())
  }

  async function deliverAccount(accountId: string, events: AccountEvent[], round: NoticeRound): Promise<void> {
    const channel = await findNoticeChannel(deps.db, accountId, 'slack')
    if (!channel) {
      await markEventsDelivered(deps, events, 'no notice channel')
      round.withoutChannel += events.length
      return
    }
    let holdUntil: Date | null = null
    const claimOf = new Map(events.map((e) => [e.id, e]))
    for (const { message, eventIds: ids } of renderNotices(events, deps.clock.now())) {
      // Each close or release is fenced by the claim this round holds (notice-queue.ts).
      const eventIds: EventClaim[] = ids.flatMap((id) => claimOf.get(id) ?? [])
      if (holdUntil) {
        // Slack asked this channel to wait: the rest of the account's notices wait with it.
        round.retried += await releaseEvents(deps, eventIds, holdUntil)
        continue
      }
      if (stopping) {
        // Shutting down: hand the rest back now rather than at the end of the lease.
        await releaseEvents(deps, eventIds, deps.clock.now())
        continue
      }
      await spaceOut(channel)
      // A round posts one message after another, so a slow Slack can make it outlive the claim
      // it took at the start: renew just before posting, and post only what is still ours.
      if (!(await renewEventClaims(deps, eventIds, leaseMs))) {
        log.warn({ channel, accountId, events: eventIds.length }, 'notice not posted: another worker claimed it meanwhile (this round was too slow)')
        round.lost += eventIds.length
        continue
      }
      const posted = await io.postMessage(channel, message)
      if (posted.ok) {
        round.posted += 1
        round.delivered += await markEventsDelivered(deps, eventIds)
      } else if (posted.transient && Math.max(...eventIds.map((e) => e.attempts)) >= maxAttempts) {
        // "Later" for too long (an outage of hours, an error we cannot classify): stop, say so.
        log.warn({ channel, accountId, error: posted.error, attempts: maxAttempts }, 'notice given up: Slack kept refusing it')
        round.refused += await markEventsDelivered(deps, eventIds, `slack: gave up after ${maxAttempts} attempts (${posted.error})`.slice(0, 200))
      } else if (posted.transient) {
        holdUntil = new Date(deps.clock.now().getTime() + (posted.retryAfterMs ?? retryDelayMs))
        log.info({ channel, error: posted.error, retryAt: holdUntil.toISOString() }, 'notice not posted yet: Slack asked to try later')
        round.retried += await releaseEvents(deps, eventIds, holdUntil)
      } else {
        log.warn(
          { channel, accountId, error: posted.error, events: eventIds.length },
          `notice not posted: Slack refused (${posted.error}). Add the app to the channel, or link another one with \`inviteops slack connect --channel\``,
        )
        round.refused += await markEventsDelivered(deps, eventIds, `slack: ${posted.error}`.slice(0, 200))
      }
    }
  }

  async function runOnce(): Promise<NoticeRound> {
    const round: NoticeRound = { expired: 0, digests: 0, posted: 0, delivered: 0, withoutChannel: 0, retried: 0, refused: 0, lost: 0 }
    // Bounded like the rest: a backlog of expiries (a first start) is swept over a few rounds.
    for (let sweep = 0; sweep < 10; sweep += 1) {
      const { noticed } = await sweepExpiredInvitations(deps, { limit: SWEEP_LIMIT })
      round.expired += noticed
      if (noticed < SWEEP_LIMIT) break
    }
    round.digests = (await sweepExpiringSoon(deps)).digests
    // Bounded: a round ends even if events keep arriving; the next round takes the rest.
    for (let batch = 0; batch < 10 && !stopping; batch += 1) {
      const events = await claimAccountEvents(deps, { limit: batchSize, leaseMs })
      const byAccount = new Map<string, AccountEvent[]>()
      for (const event of events) byAccount.set(event.accountId, [...(byAccount.get(event.accountId) ?? []), event])
      for (const [accountId, accountEvents] of byAccount) await deliverAccount(accountId, accountEvents, round)
      if (events.length < batchSize) break
    }
    if (round.expired + round.digests + round.posted + round.withoutChannel + round.retried + round.refused + round.lost > 0) log.info({ ...round }, 'notices round')
    return round
  }

  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<unknown> | null = null

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      timer = null
      inFlight = runOnce()
        .catch((error: unknown) => {
          // An outage (database, network): the claimed events come back after their lease.
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

/**
 * Production wiring: a Web API client of its own that gives rate limits back to the worker
 * (`rejectRateLimitedCalls`) instead of waiting inside the call, and does not retry by itself:
 * the queue's lease is the retry.
 */
export function createSlackNoticesFromConfig(deps: Deps, config: SlackConfig, opts: SlackNoticesOptions = {}): SlackNotices {
  // A post that hangs must not stall the round past its lease (another replica would post it too).
  const client = new WebClient(config.botToken, { slackApiUrl: config.apiUrl, logLevel: LogLevel.ERROR, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: SLACK_CALL_TIMEOUT_MS })
  const io = createSlackIO({ client, apiUrl: config.apiUrl, logger: deps.logger.child({ adapter: 'slack' }) })
  return createSlackNotices(deps, io, opts)
}
