import { Counter, Registry } from 'prom-client'
import type { Deps } from '../deps.ts'
import type { LeaseClaim } from '../shared/lease-queue.ts'
import { openSecret } from '../shared/secret-box.ts'
import { parseDuration } from '../invitations/rules.ts'
import { DEFAULT_RETENTION, RETRY_JITTER, type WebhookSettings } from './config.ts'
import { deliverWebhook, type DeliveryResult } from './deliver.ts'
import { webhookSecretKey } from './endpoints.ts'
import { resolveWebhookTarget, type Resolve } from './ssrf.ts'
import {
  attemptFacts,
  deleteClosedMessages,
  disableFailingEndpoint,
  ENABLED_ENDPOINTS_FILTER,
  findEndpoints,
  insertEndpointDisabledEvent,
  markEndpointFailing,
  markEndpointHealthy,
  webhookQueue,
  type EndpointRow,
  type MessageRow,
} from './webhook-repository.ts'

/**
 * The webhook delivery worker (docs/webhooks.md "Delivery"), beside the email worker and built
 * the same way: claims due messages from `webhook_messages` under a lease fenced by a
 * `claim_token` (src/shared/lease-queue.ts), so several replicas share the work and each message
 * is posted by one of them at a time. The lease is renewed just before posting and is longer than
 * twice the deadline, so a post that ends by its deadline ends while the claim holds; a worker that
 * dies mid-post leaves the row to be claimed again after its lease, and posted again with the same
 * `webhook-id` (at least once, never silently lost).
 *
 * Each attempt checks the URL again (SSRF rules, on freshly resolved addresses) and posts to the
 * address it checked. A 2xx delivers; anything else waits the next step of the retry schedule
 * (with ±10 % jitter, so receivers coming back are not hit by every replica at once) and, once the
 * schedule is used up, is given up (`failed`). A user's later events for an endpoint wait until
 * the earlier one is delivered or given up (the claim's order rule). An endpoint whose deliveries
 * have failed without a success for WEBHOOK_DISABLE_AFTER is disabled, and its account's
 * administrators are told in chat (an account event the notices job posts).
 *
 * Now and then (hourly, by the injected clock) the worker also deletes closed messages older than
 * WEBHOOK_RETENTION, a bounded batch at a time, so payloads with people's emails are not kept for
 * ever and the table stays the size of its retention.
 */

/** How often a running worker deletes expired closed messages at most. */
const PURGE_EVERY_MS = 3_600_000
/** Statements per purge (each of `purgeBatchSize` rows): a purge is short, and the next one continues. */
const PURGE_BATCHES = 5

export interface WebhookWorkerOptions {
  deps: Deps
  settings: WebhookSettings
  /** Messages claimed per round (default 20). */
  batchSize?: number
  /** Posts in flight at once (default 4). */
  concurrency?: number
  /** Idle wait between rounds (default 1 s). */
  pollIntervalMs?: number
  /** DNS for the SSRF check (tests answer names themselves). */
  resolve?: Resolve
  /** Jitter's randomness (tests pass a constant). */
  random?: () => number
  /** On stop, how long posts in flight may still finish before they are abandoned (default 2 s). */
  stopWaitMs?: number
  /** Where the worker's metrics go (the app's registry, served at /metrics). */
  registry?: Registry
  /** Rows deleted per statement of a purge (default 1000; a purge runs at most five). */
  purgeBatchSize?: number
}

export interface WebhookWorker {
  start(): void
  /** Stop claiming; posts in flight get `stopWaitMs`, then are abandoned and handed back. */
  stop(): Promise<void>
  /** One round: claim due messages, post them, record each outcome. Returns how many were claimed. */
  drainOnce(): Promise<number>
  /**
   * Delete closed (delivered or given-up) messages closed more than WEBHOOK_RETENTION ago, at
   * most a bounded number; returns how many went. A running worker calls it hourly.
   */
  purgeOnce(): Promise<number>
}

type Outcome = 'delivered' | 'retry' | 'failed' | 'lost'

function claimOf(row: MessageRow): LeaseClaim {
  return { key: [row.id], fence: row.claim_token }
}

/** The wait after the `attempts`-th failed attempt, or null when the schedule is used up. */
export function retryDelayMs(schedule: readonly number[], attempts: number, random: () => number = Math.random): number | null {
  const base = schedule[attempts - 1]
  if (base === undefined) return null
  return Math.round(base * (1 - RETRY_JITTER + random() * 2 * RETRY_JITTER))
}

export function createWebhookWorker(opts: WebhookWorkerOptions): WebhookWorker {
  const { deps, settings } = opts
  const batchSize = opts.batchSize ?? 20
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const pollIntervalMs = opts.pollIntervalMs ?? 1_000
  const random = opts.random ?? Math.random
  const stopWaitMs = opts.stopWaitMs ?? 2_000
  // DNS and the post each get the deadline; the lease outlives both twice over.
  const leaseMs = 4 * settings.timeoutMs + 10_000
  const key = webhookSecretKey(deps)
  const log = deps.logger.child({ component: 'webhook-worker' })
  const attempts = attemptsCounter(opts.registry ?? new Registry())
  let running = false
  let loopDone: Promise<void> = Promise.resolve()
  let shutdown = new AbortController()
  let wake: (() => void) | null = null
  const retentionMs = settings.retentionMs ?? parseDuration(DEFAULT_RETENTION)!
  const purgeBatch = Math.max(1, opts.purgeBatchSize ?? 1_000)
  // -Infinity: the first round purges; afterwards hourly, or at once while a purge hit its bound.
  let nextPurgeAt = Number.NEGATIVE_INFINITY

  async function purgeOnce(): Promise<number> {
    const before = new Date(deps.clock.now().getTime() - retentionMs)
    let total = 0
    for (let i = 0; i < PURGE_BATCHES; i++) {
      const n = await deleteClosedMessages(deps.db, before, purgeBatch)
      total += n
      if (n < purgeBatch) return total
    }
    return total
  }

  async function purgeIfDue(): Promise<void> {
    const now = deps.clock.now().getTime()
    if (now < nextPurgeAt) return
    nextPurgeAt = now + PURGE_EVERY_MS
    try {
      const n = await purgeOnce()
      if (n >= purgeBatch * PURGE_BATCHES) nextPurgeAt = now
      if (n > 0) log.info({ deleted: n, retentionMs }, 'deleted closed webhook messages past their retention')
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'deleting closed webhook messages failed; tried again within the hour')
    }
  }

  async function handle(row: MessageRow, endpoint: EndpointRow | undefined): Promise<Outcome> {
    const now = deps.clock.now()
    // Removed meanwhile: the row went with it (cascade). Disabled meanwhile: back to wait.
    if (!endpoint) return 'lost'
    if (endpoint.status !== 'enabled') {
      await webhookQueue.release(deps.db, [claimOf(row)], now)
      return 'lost'
    }
    if (!(await webhookQueue.renew(deps.db, [claimOf(row)], new Date(now.getTime() + leaseMs)))) return 'lost'
    const secret = openSecret(key, endpoint.secret, endpoint.id)
    let result: DeliveryResult
    if (secret === null) {
      // Sealed under another INVITE_SECRET: an operator must fix it; until then it fails like a down receiver.
      result = { ok: false, status: null, reason: 'the signing secret cannot be opened (was INVITE_SECRET changed?)' }
      log.error({ endpointId: endpoint.id }, 'webhook signing secret cannot be opened: INVITE_SECRET differs from the one it was sealed with')
    } else {
      const target = await resolveWebhookTarget(endpoint.url, settings, { deadlineMs: settings.timeoutMs, ...(opts.resolve ? { resolve: opts.resolve } : {}) })
      if (!target.ok) result = { ok: false, status: null, reason: `URL refused: ${target.code}${'range' in target ? ` (${target.address}, ${target.range})` : ''}${'reason' in target ? ` (${target.reason})` : ''}` }
      else {
        const sentAt = deps.clock.now()
        result = await deliverWebhook(target.value, secret, { id: row.message_id, timestamp: sentAt, body: JSON.stringify(row.payload) }, { timeoutMs: settings.timeoutMs, signal: shutdown.signal })
      }
    }
    const after = deps.clock.now()
    attempts.inc({ outcome: result.ok ? 'delivered' : 'failed' })
    if (result.ok) {
      const n = await webhookQueue.complete(deps.db, [claimOf(row)], after, null, attemptFacts(result.status, null))
      await markEndpointHealthy(deps.db, endpoint.id)
      return n > 0 ? 'delivered' : 'lost'
    }
    if (shutdown.signal.aborted) {
      // Abandoned at shutdown: handed back, due at once on the next start.
      await webhookQueue.release(deps.db, [claimOf(row)], after)
      return 'lost'
    }
    const wait = retryDelayMs(settings.retryScheduleMs, row.attempts, random)
    const facts = attemptFacts(result.status, result.reason)
    let outcome: Outcome
    if (wait === null) {
      const n = await webhookQueue.complete(deps.db, [claimOf(row)], after, `gave up after ${row.attempts} attempts: ${result.reason}`, { last_status: result.status })
      outcome = n > 0 ? 'failed' : 'lost'
      if (n > 0) attempts.inc({ outcome: 'given_up' })
      log.warn({ endpointId: endpoint.id, messageId: row.message_id, type: row.event_type, attempts: row.attempts, reason: result.reason }, 'webhook message given up after its last retry')
    } else {
      const n = await webhookQueue.release(deps.db, [claimOf(row)], new Date(after.getTime() + wait), facts)
      outcome = n > 0 ? 'retry' : 'lost'
      log.info({ endpointId: endpoint.id, messageId: row.message_id, attempts: row.attempts, retryInMs: wait, reason: result.reason }, 'webhook delivery failed; will retry')
    }
    await recordEndpointFailure(endpoint, after, result.reason)
    return outcome
  }

  async function recordEndpointFailure(endpoint: EndpointRow, now: Date, reason: string): Promise<void> {
    const since = await markEndpointFailing(deps.db, endpoint.id, now, reason)
    if (!since || now.getTime() - since.getTime() < settings.disableAfterMs) return
    await deps.db.transaction(async (trx) => {
      const disabled = await disableFailingEndpoint(trx, endpoint.id, new Date(now.getTime() - settings.disableAfterMs), now)
      if (!disabled) return
      await insertEndpointDisabledEvent(trx, { accountId: disabled.account_id, endpointId: disabled.id, url: disabled.url, failingSince: disabled.failing_since ?? since, lastError: disabled.last_error, now })
      log.warn({ endpointId: disabled.id, accountId: disabled.account_id, failingSince: since.toISOString() }, 'webhook endpoint disabled: it failed without a success for WEBHOOK_DISABLE_AFTER; the administrators are told in chat')
    })
  }

  async function handleSafely(row: MessageRow, endpoint: EndpointRow | undefined): Promise<void> {
    try {
      await handle(row, endpoint)
    } catch (err) {
      // The database may be away: the lease brings the row back.
      log.error({ messageId: row.message_id, err: err instanceof Error ? err.message : String(err) }, 'webhook round failed for one message; it is retried after its lease')
    }
  }

  async function drainOnce(): Promise<number> {
    const rows = await webhookQueue.claim<MessageRow>(deps.db, { now: deps.clock.now(), leaseMs, limit: batchSize, filter: ENABLED_ENDPOINTS_FILTER })
    if (rows.length === 0) return 0
    const endpoints = new Map((await findEndpoints(deps.db, rows.map((r) => r.endpoint_id))).map((e) => [e.id, e]))
    const queue = [...rows]
    const lane = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        if (!running && shutdown.signal.aborted) {
          await webhookQueue.release(deps.db, [claimOf(row)], deps.clock.now())
          continue
        }
        await handleSafely(row, endpoints.get(row.endpoint_id))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane))
    return rows.length
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        wake = null
        resolve()
      }
      wake = done
    })
  }

  async function loop(): Promise<void> {
    while (running) {
      let claimed = 0
      await purgeIfDue()
      try {
        claimed = await drainOnce()
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'webhook worker round failed')
      }
      // A full batch means more may be due: go again at once.
      if (running && claimed < batchSize) await pause(pollIntervalMs)
    }
  }

  return {
    start() {
      if (running) return
      running = true
      shutdown = new AbortController()
      loopDone = loop()
    },
    async stop() {
      running = false
      wake?.()
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), stopWaitMs)
      })
      if ((await Promise.race([loopDone.then(() => 'done' as const), late])) === 'late') {
        log.warn({ waitedMs: stopWaitMs }, 'shutdown: abandoning webhook posts still waiting for their receiver')
        shutdown.abort()
      }
      clearTimeout(timer)
      await loopDone.catch(() => undefined)
    },
    drainOnce,
    purgeOnce,
  }
}

/** `inviteops_webhook_attempts_total{outcome}`: delivered, failed (each failed attempt), given_up (a message's last). */
function attemptsCounter(registry: Registry): Counter<'outcome'> {
  return (
    (registry.getSingleMetric('inviteops_webhook_attempts_total') as Counter<'outcome'> | undefined) ??
    new Counter({ name: 'inviteops_webhook_attempts_total', help: 'Webhook delivery attempts by outcome (delivered, failed, given_up)', labelNames: ['outcome'] as const, registers: [registry] })
  )
}
