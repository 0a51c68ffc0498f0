import { Counter, Gauge, Registry } from 'prom-client'
import type { Deps } from '../deps.ts'
import { invitationUrl } from '../invitations/links.ts'
import { EmailSendError, type EmailSender } from '../ports/email.ts'
import type { EmailKind, EmailPayload } from './outbox.ts'
import { clearHold, holdSending, readGate, takeSendSlot, type GateNow, type GateState } from './send-gate.ts'
import { findSuppression } from './suppressions.ts'
import { renderEmail } from './templates.ts'

export interface EmailWorkerOptions {
  deps: Deps
  sender: EmailSender
  /** Rows claimed per round (further limited so a round fits in one lease at the send rate). */
  batchSize?: number
  /** Idle wait between rounds when nothing is due. */
  pollIntervalMs?: number
  /** How long a claimed row stays ours; after that a crashed worker's row is claimed again. */
  lockMs?: number
  /** Retryable failures (throttling, 5xx, network) before the email is parked as failed. */
  maxAttempts?: number
  /** SES_MAX_SEND_RATE: sends per second across every replica. Unset = no limit (file transport). */
  maxSendRate?: number
  /** While the account is paused, one probe send per this interval (default 5 minutes). */
  pauseProbeMs?: number
  /** Where the worker's metrics go (the app's registry, served at /metrics). */
  registry?: Registry
  /** Clock of the shared send gate: the database's (default, one clock for all replicas) or `deps.clock` (tests). */
  gateClock?: 'database' | 'deps'
  /** How the worker waits for a slot (tests advance a fake clock instead of sleeping). */
  sleep?: (ms: number) => Promise<void>
}

export interface EmailWorker {
  start(): void
  /** Stop claiming; resolves when the round in flight has finished (graceful shutdown). */
  stop(): Promise<void>
  /** One round: claim due emails, send them, record the outcome. Returns how many were claimed. */
  drainOnce(): Promise<number>
}

interface OutboxRow {
  id: string | number
  account_id: string
  invitation_id: string | null
  kind: EmailKind
  to_email: string
  payload: EmailPayload
  attempts: number
}

/** Exponential backoff with jitter: 2 s, 4 s, 8 s … capped at 15 minutes. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(15 * 60_000, 2_000 * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.75 + random() * 0.5))
}

type Outcome = 'sent' | 'parked' | 'retry' | 'held' | 'lost'

/**
 * The outbox worker (DESIGN.md §6). Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several
 * replicas share the work and each email is sent by one of them. A claim is a lease
 * (`locked_until`), fenced by `attempts`: a worker that lost its lease (it stalled, another
 * replica re-claimed the row) notices before sending and skips the row. If the process dies
 * between claiming and recording, the row becomes due again and is sent once more with the same
 * link (the only duplicate the design allows).
 *
 * By SES error (issue 3): throttling, 5xx and network errors are retried with backoff; "daily
 * quota exceeded" holds every send until the window reopens; a rejected message is parked as
 * failed with the reason; "account sending paused" holds every send, raises the alarm (log,
 * metric, /readyz detail) and probes every `pauseProbeMs` until a send succeeds.
 * Sends never exceed `maxSendRate` across replicas (the shared gate, src/email/send-gate.ts).
 */
export function createEmailWorker(opts: EmailWorkerOptions): EmailWorker {
  const { deps, sender } = opts
  const pollIntervalMs = opts.pollIntervalMs ?? 1_000
  const lockMs = opts.lockMs ?? 60_000
  const maxAttempts = opts.maxAttempts ?? 100
  const rate = opts.maxSendRate
  const probeMs = opts.pauseProbeMs ?? 5 * 60_000
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const gateNow = (): GateNow => (opts.gateClock === 'deps' ? deps.clock.now() : 'database')
  // At most as many rows as can be sent in half a lease at the rate: the rest stay claimable by others.
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 10, rate ? Math.floor((rate * lockMs) / 2000) : Infinity))
  const log = deps.logger.child({ component: 'email-worker', transport: sender.name })
  const metrics = workerMetrics(opts.registry ?? new Registry(), sender.name)
  let running = false
  let stopping = false
  let inFlight: Promise<unknown> = Promise.resolve()
  let timer: NodeJS.Timeout | null = null

  async function claim(): Promise<OutboxRow[]> {
    const now = deps.clock.now()
    const result = await deps.db.raw<{ rows: OutboxRow[] }>(
      `UPDATE email_outbox SET status = 'sending', locked_until = ?, attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM email_outbox
           WHERE (status = 'queued' AND next_attempt_at <= ?) OR (status = 'sending' AND locked_until <= ?)
           ORDER BY next_attempt_at, id
           LIMIT ? FOR UPDATE SKIP LOCKED)
        RETURNING id, account_id, invitation_id, kind, to_email, payload, attempts`,
      [new Date(now.getTime() + lockMs), now, now, batchSize],
    )
    return result.rows
  }

  /** Extend our lease just before sending; false when another worker has taken the row over. */
  async function renewLease(row: OutboxRow): Promise<boolean> {
    const now = deps.clock.now()
    const n = await deps.db('email_outbox')
      .where({ id: row.id, status: 'sending', attempts: row.attempts })
      .update({ locked_until: new Date(now.getTime() + lockMs) })
    return n === 1
  }

  /** Give a claimed row back untouched (a hold, a shutdown): the attempt does not count. */
  async function release(rows: OutboxRow[], at: Date): Promise<void> {
    for (const row of rows) {
      await deps.db('email_outbox')
        .where({ id: row.id, status: 'sending', attempts: row.attempts })
        .update({ status: 'queued', locked_until: null, attempts: row.attempts - 1, next_attempt_at: at })
    }
  }

  async function park(row: OutboxRow, reason: string, parkKind: string): Promise<'parked'> {
    await deps.db.transaction(async (trx) => {
      await trx('email_outbox').where({ id: row.id }).update({ status: 'failed', locked_until: null, last_error: reason.slice(0, 500) })
      if (row.invitation_id) await trx('invitations').where({ id: row.invitation_id }).update({ delivery_status: 'failed', delivery_detail: reason.slice(0, 500) })
    })
    metrics.parked.inc({ reason: parkKind })
    log.error({ outboxId: String(row.id), kind: row.kind, reason }, 'email parked as failed')
    return 'parked'
  }

  async function linkFor(row: OutboxRow): Promise<{ link: string | null; expiresAt: string | null; dead: string | null }> {
    if (!row.invitation_id) return { link: null, expiresAt: null, dead: null }
    const inv = await deps.db('invitations').where({ id: row.invitation_id }).first<{ link_id: string; state: string; expires_at: Date } | undefined>('link_id', 'state', 'expires_at')
    if (!inv || inv.state !== 'pending') return { link: null, expiresAt: null, dead: 'superseded: the link changed before sending' }
    if (inv.expires_at <= deps.clock.now()) return { link: null, expiresAt: null, dead: 'expired: the link expired before it could be sent' }
    return { link: invitationUrl(deps.config.publicBaseUrl, deps.config.inviteSecret, inv.link_id), expiresAt: inv.expires_at.toISOString(), dead: null }
  }

  /** Wait for a send slot; 'held' when the gate is held (quota, paused), 'lost' when the lease went. */
  async function waitForSlot(row: OutboxRow): Promise<'go' | 'held' | 'lost'> {
    for (;;) {
      const slot = await takeSendSlot(deps.db, { rate, now: gateNow(), probeMs })
      if (slot.granted) {
        // The grant instant, from the shared gate's clock: shows the pacing across replicas.
        log.debug({ outboxId: String(row.id), slotAt: slot.at.toISOString() }, 'send slot granted')
        return (await renewLease(row)) ? 'go' : 'lost'
      }
      if (slot.hold) return 'held'
      // Wait, but never past half the lease without renewing it.
      await sleep(Math.min(slot.waitMs, lockMs / 2))
      if (!(await renewLease(row))) return 'lost'
    }
  }

  async function handle(row: OutboxRow): Promise<Outcome> {
    const id = String(row.id)
    const suppressed = await findSuppression(deps.db, row.to_email)
    if (suppressed) return park(row, `suppressed: ${suppressed.reason}${suppressed.detail ? ` (${suppressed.detail})` : ''}`, 'suppressed')
    const { link, expiresAt, dead } = await linkFor(row)
    if (dead) {
      // The link was replaced, used, revoked or expired before we got to it: its email would only confuse.
      await deps.db('email_outbox').where({ id: row.id }).update({ status: 'failed', locked_until: null, last_error: dead })
      log.info({ outboxId: id, kind: row.kind, reason: dead }, 'email skipped')
      return 'parked'
    }
    const slot = await waitForSlot(row)
    if (slot === 'lost') {
      log.warn({ outboxId: id }, 'lease lost before sending; another worker has this email')
      return 'lost'
    }
    if (slot === 'held') return 'held'
    const content = renderEmail(row.kind, { ...row.payload, expiresAt: expiresAt ?? row.payload.expiresAt }, link)
    let messageId: string
    try {
      messageId = (await sender.send({ id, to: row.to_email, from: deps.config.emailFrom, ...content, tags: { kind: row.kind } })).messageId
    } catch (err) {
      return recordFailure(row, err)
    }
    await recordSent(row, messageId)
    metrics.sent.inc()
    log.info({ outboxId: id, kind: row.kind, messageId }, 'email sent')
    const cleared = await clearHold(deps.db).catch(() => null)
    if (cleared) log.warn({ wasHeld: cleared.kind, reason: cleared.reason }, 'email sending resumed')
    return 'sent'
  }

  /**
   * The email is out: record it, and keep trying while the database is away (a Postgres restart
   * must not turn into a second send once the lease runs out).
   */
  async function recordSent(row: OutboxRow, messageId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const now = deps.clock.now()
        await deps.db.transaction(async (trx) => {
          await trx('email_outbox').where({ id: row.id }).update({ status: 'sent', sent_at: now, locked_until: null, message_id: messageId, last_error: null })
          if (row.invitation_id) await trx('invitations').where({ id: row.invitation_id }).update({ delivery_status: 'sent', delivery_message_id: messageId, delivery_detail: null })
        })
        return
      } catch (err) {
        if (attempt >= 60) throw err
        log.warn({ outboxId: String(row.id), messageId, err: err instanceof Error ? err.message : String(err) }, 'email sent but not yet recorded; retrying')
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * attempt)))
      }
    }
  }

  async function recordFailure(row: OutboxRow, err: unknown): Promise<Outcome> {
    const failure = err instanceof EmailSendError ? err : new EmailSendError('retry', err instanceof Error ? err.message : String(err), { cause: err })
    const now = deps.clock.now()
    const reason = `${failure.vendorCode ?? failure.kind}: ${failure.message}`.slice(0, 500)
    metrics.failures.inc({ kind: failure.kind })
    switch (failure.kind) {
      case 'reject':
        return park(row, reason, 'rejected')
      case 'retry': {
        if (row.attempts >= maxAttempts) return park(row, `gave up after ${row.attempts} attempts: ${reason}`, 'attempts')
        const wait = backoffMs(row.attempts)
        await deps.db('email_outbox')
          .where({ id: row.id })
          .update({ status: 'queued', locked_until: null, last_error: reason, next_attempt_at: new Date(now.getTime() + wait) })
        log.warn({ outboxId: String(row.id), kind: row.kind, reason, retryInMs: wait }, 'email send failed; will retry')
        return 'retry'
      }
      case 'quota': {
        const forMs = failure.retryAfterMs ?? 15 * 60_000
        await holdSending(deps.db, { kind: 'quota', forMs, reason, now: gateNow() })
        await release([row], now)
        await deps.db('email_outbox').where({ id: row.id }).update({ last_error: reason })
        log.warn({ outboxId: String(row.id), reason, holdMs: forMs }, 'SES daily quota reached: every send waits for the window to reopen')
        return 'held'
      }
      case 'paused': {
        const state = await holdSending(deps.db, { kind: 'paused', forMs: probeMs, reason, now: gateNow() })
        await release([row], now)
        await deps.db('email_outbox').where({ id: row.id }).update({ last_error: reason })
        log.error(
          { alarm: 'email_sending_paused', reason, since: state.hold?.alarmSince, probeEveryMs: probeMs },
          'ALARM: email sending is paused by the provider; every email is held (nothing is lost) until an operator re-enables sending',
        )
        return 'held'
      }
      default: {
        const never: never = failure.kind
        throw new Error(`unknown failure kind ${String(never)}`)
      }
    }
  }

  async function drainOnce(): Promise<number> {
    const gate = await readGate(deps.db, gateNow())
    if (gate.hold && gate.hold.until > gate.now) return 0
    const rows = await claim()
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!
      if (stopping) {
        // Shutdown: hand the rest back now rather than leaving them to the lease (DESIGN.md §4).
        await release(rows.slice(i), deps.clock.now())
        break
      }
      const outcome = await handle(row)
      if (outcome === 'held') {
        await release(rows.slice(i + 1), deps.clock.now())
        break
      }
    }
    return rows.length
  }

  async function loop(): Promise<void> {
    if (!running) return
    let handled = 0
    try {
      const round = drainOnce()
      inFlight = round
      handled = await round
    } catch (err) {
      // The database may be restarting: keep the loop alive and try again after the poll wait.
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'email worker round failed')
    }
    if (running) timer = setTimeout(() => void loop(), handled >= batchSize ? 0 : pollIntervalMs)
  }

  return {
    start() {
      if (running) return
      running = true
      stopping = false
      void loop()
    },
    async stop() {
      running = false
      stopping = true
      if (timer) clearTimeout(timer)
      timer = null
      await inFlight.catch(() => undefined)
    },
    drainOnce,
  }
}

function workerMetrics(registry: Registry, transport: string) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined
  const sent =
    existing<Counter<'transport'>>('inviteops_email_sent_total') ??
    new Counter({ name: 'inviteops_email_sent_total', help: 'Emails accepted by the transport', labelNames: ['transport'] as const, registers: [registry] })
  const failures =
    existing<Counter<'transport' | 'kind'>>('inviteops_email_send_failures_total') ??
    new Counter({
      name: 'inviteops_email_send_failures_total',
      help: 'Failed sends by how the worker treats them (retry, quota, reject, paused)',
      labelNames: ['transport', 'kind'] as const,
      registers: [registry],
    })
  const parked =
    existing<Counter<'transport' | 'reason'>>('inviteops_email_parked_total') ??
    new Counter({ name: 'inviteops_email_parked_total', help: 'Emails parked as failed, by reason', labelNames: ['transport', 'reason'] as const, registers: [registry] })
  return {
    sent: { inc: () => sent.inc({ transport }) },
    failures: { inc: (l: { kind: string }) => failures.inc({ transport, kind: l.kind }) },
    parked: { inc: (l: { reason: string }) => parked.inc({ transport, reason: l.reason }) },
  }
}

/** What `/readyz` and `/metrics` show about sending (see `registerEmailGateMetrics`, `emailSendingReadiness`). */
export function describeGate(gate: GateState): { paused: boolean; quotaHeld: boolean; detail: string } {
  if (!gate.hold) return { paused: false, quotaHeld: false, detail: 'sending' }
  if (gate.hold.kind === 'paused') {
    return {
      paused: true,
      quotaHeld: false,
      detail: `ALARM: sending paused since ${gate.hold.alarmSince?.toISOString() ?? '?'} (${gate.hold.reason ?? 'no reason'}); emails are held; next probe at ${gate.hold.until.toISOString()}`,
    }
  }
  return { paused: false, quotaHeld: true, detail: `daily sending quota reached (${gate.hold.reason ?? ''}); emails held until ${gate.hold.until.toISOString()}` }
}

/**
 * A readiness check for the composition root (`createHttpApp({ checks: [...] })`). It reports
 * the alarm as a detail but stays `ok`: a paused SES account must not take every replica out of
 * the load balancer (Slack and the invitee pages still work; emails wait safely in the outbox).
 */
export function emailSendingReadiness(deps: Pick<Deps, 'db'>): { name: string; check(): Promise<{ ok: boolean; detail?: string }> } {
  return {
    name: 'email',
    async check() {
      const gate = await readGate(deps.db, 'database')
      return { ok: true, detail: describeGate(gate).detail }
    },
  }
}

/**
 * Gauges read from the shared gate at scrape time, so every replica reports the same alarm:
 * `inviteops_email_sending_paused` (1 = the alarm) and `inviteops_email_quota_hold` (1 = waiting
 * for the daily quota window).
 */
export function registerEmailGateMetrics(registry: Registry, deps: Pick<Deps, 'db'>): void {
  const read = async () => describeGate(await readGate(deps.db, 'database'))
  new Gauge({
    name: 'inviteops_email_sending_paused',
    help: '1 while the email provider has paused sending (alarm), else 0',
    registers: [registry],
    async collect() {
      try {
        this.set((await read()).paused ? 1 : 0)
      } catch {
        // database down: /readyz says so; keep /metrics answering
      }
    },
  })
  new Gauge({
    name: 'inviteops_email_quota_hold',
    help: '1 while sends wait for the provider daily quota window, else 0',
    registers: [registry],
    async collect() {
      try {
        this.set((await read()).quotaHeld ? 1 : 0)
      } catch {
        // see above
      }
    },
  })
}
