import { Counter, Gauge, Registry } from 'prom-client'
import { brandingOf, type Deps } from '../deps.ts'
import { invitationUrl } from '../invitations/links.ts'
import { EmailSendError, type EmailSender } from '../ports/email.ts'
import { leaseQueue, type LeaseClaim } from '../shared/lease-queue.ts'
import type { EmailKind, EmailPayload } from './outbox.ts'
import { gateNotHeldSql, outboxClaimReads, recordOutboxOutcome, type DeliveryOutcome, type OutboxClaimFacts } from './outbox-repository.ts'
import { clearHold, holdSending, readGate, takeSendSlot, type GateNow, type GateState } from './send-gate.ts'
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
  /** Emails in flight at once (default 4). The send rate still holds across every replica. */
  concurrency?: number
  /**
   * The worker's deadline for one send (default 15 s), on top of the transport's own. At most
   * half the lease: a send that ends by its deadline always ends while the claim still holds.
   */
  sendTimeoutMs?: number
  /** On stop, how long sends in flight may still finish before they are abandoned (default 2 s). */
  stopWaitMs?: number
}

export interface EmailWorker {
  /** Deliver continuously: up to `concurrency` emails in flight, new ones claimed as lanes free up. */
  start(): void
  /**
   * Stop claiming; sends in flight get `stopWaitMs` to finish, then are abandoned and their
   * emails handed back (queued, the attempt not counted). Resolves when nothing is in flight.
   */
  stop(): Promise<void>
  /**
   * One round, for tests: claim due emails, send them (`concurrency` at a time), record the
   * outcome. Returns how many were claimed. The whole batch is claimed at once, so a row may wait
   * behind earlier sends and be sent on facts (suppression, link) read tens of seconds before.
   * The service never calls it: it runs `start`, which claims a row only when a lane is free.
   */
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
  /** New for every claim: the fence on every update this worker makes to the row. */
  claim_token: string
}

/**
 * A row as this worker claimed it: with the facts read in the claim's statement, and until when
 * the worker's lease runs (the claim's instant plus the lease; moved on by each renewal).
 */
type ClaimedRow = OutboxRow & OutboxClaimFacts & { leaseUntil: Date }

/**
 * The outbox on the shared lease queue (src/shared/lease-queue.ts). A row is due when it is
 * queued and its time has come, or was being sent by a worker whose lease ran out; a claim marks
 * it `sending`. A release puts it back `queued` until `next_attempt_at`; a close marks it `sent`
 * (no note) or `failed` (the note is the reason). Served by email_outbox_due_idx.
 */
export const outboxQueue = leaseQueue({
  table: 'email_outbox',
  key: ['id'],
  leaseColumn: 'locked_until',
  fenceColumn: 'claim_token',
  attemptsColumn: 'attempts',
  due: (now) => ({ sql: `(status = 'queued' AND next_attempt_at <= ?) OR (status = 'sending' AND locked_until <= ?)`, bindings: [now, now] }),
  order: 'next_attempt_at, id',
  returning: 'id, account_id, invitation_id, kind, to_email, payload, attempts, claim_token',
  onClaim: `status = 'sending'`,
  held: { status: 'sending' },
  releaseAt: (at) => ({ status: 'queued', locked_until: null, next_attempt_at: at }),
  close: (now, note) => (note === null ? { status: 'sent', sent_at: now, locked_until: null, last_error: null } : { status: 'failed', locked_until: null, last_error: note.slice(0, 500) }),
})

/** The fence of a claimed row, as the queue checks it. */
function claimOf(row: OutboxRow): LeaseClaim {
  return { key: [row.id], fence: row.claim_token }
}

/** Exponential backoff with jitter: 2 s, 4 s, 8 s … capped at 15 minutes. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(15 * 60_000, 2_000 * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.75 + random() * 0.5))
}

type Outcome = 'sent' | 'parked' | 'retry' | 'held' | 'lost' | 'released'

/**
 * The outbox worker. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas share
 * the work and each email is sent by one of them. A claim is a lease (`locked_until`) fenced by
 * a `claim_token` that is new for every claim: every update the worker makes to a row it holds
 * (renew, sent, retry, park, release) is conditioned on that token, so a worker that lost its
 * lease (it stalled, another replica re-claimed the row) changes nothing and does not send. If
 * the process dies between claiming and recording, the row becomes due again and is sent once
 * more with the same link (the only duplicate the design allows).
 *
 * Sends run `concurrency` at a time, each with a deadline (`sendTimeoutMs`, and the transport's
 * own connect and request deadlines), so one provider request that never answers delays only
 * its own email: it is retried with backoff, counted in `inviteops_email_send_timeouts_total`
 * and logged once as a warning, while the other lanes keep delivering under the shared rate.
 *
 * By SES error: throttling, 5xx and network errors are retried with backoff; "daily
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
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4))
  const sendTimeoutMs = opts.sendTimeoutMs ?? 15_000
  const stopWaitMs = opts.stopWaitMs ?? 2_000
  if (sendTimeoutMs * 2 > lockMs) {
    // Just before a send, the lease is renewed unless half of it remains past the send's deadline
    // (keepAheadMs); a send allowed to outlive the lease could be sent twice.
    throw new Error(`email worker: the send deadline (${sendTimeoutMs} ms) must be at most half the lease (${lockMs} ms)`)
  }
  // The lease a send may start with unrenewed: enough that once its deadline has passed, half the
  // lease is still ahead (the time recording `sent` has, with the database away, before another
  // worker may claim the row and send it again; what renewing before every send left with the
  // longest deadline allowed). And no less than three quarters of the lease, so the margin is
  // never smaller than a renewal once a quarter has passed gives. With the defaults (a 60 s lease,
  // a 15 s deadline) a send that starts within 15 s of the claim or the last renewal needs none.
  const keepAheadMs = Math.max((lockMs * 3) / 4, lockMs / 2 + sendTimeoutMs)
  const waitAheadMs = (lockMs * 3) / 4
  const gateNow = (): GateNow => (opts.gateClock === 'deps' ? deps.clock.now() : 'database')
  // At most as many rows as can be sent in half a lease at the rate: the rest stay claimable by others.
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 10, rate ? Math.floor((rate * lockMs) / 2000) : Infinity))
  const log = deps.logger.child({ component: 'email-worker', transport: sender.name })
  const metrics = workerMetrics(opts.registry ?? new Registry(), sender.name)
  let running = false
  let stopping = false
  let loopDone: Promise<void> = Promise.resolve()
  /** Ends the loop's current pause early (a lane freed up, or stop). */
  let wake: (() => void) | null = null
  /** A lane freed up while the loop was not pausing (claiming): the next pause ends at once. */
  let wakePending = false
  /** Aborted by `stop` once `stopWaitMs` has passed: abandons sends still hanging. */
  let shutdown = new AbortController()
  const active = new Set<Promise<void>>()

  /**
   * Claim up to `limit` due rows, in one statement that also reads what handling them needs: each
   * row's suppression and invitation, and the send gate. Nothing is claimed while the gate is
   * held (a quota or pause hold whose time has not come), so no separate read of the gate first.
   */
  async function claim(limit: number): Promise<ClaimedRow[]> {
    const now = deps.clock.now()
    const fixed = gateNow()
    const gateAt = fixed === 'database' ? null : fixed
    const rows = await outboxQueue.claim<OutboxRow & OutboxClaimFacts>(deps.db, { now, leaseMs: lockMs, limit, filter: gateNotHeldSql(gateAt), alsoRead: outboxClaimReads(gateAt) })
    const leaseUntil = new Date(now.getTime() + lockMs)
    return rows.map((row) => ({ ...row, leaseUntil }))
  }

  /**
   * Keep the claim's lease: renewed (one statement) when less than `aheadMs` of it is left. Until
   * then no other worker can have claimed the row (it is not due before the lease runs out).
   * Before a send, `aheadMs` is `keepAheadMs`; while waiting for a send slot, three quarters of
   * the lease (one renewal per quarter lease waited). False when another worker has taken the row over.
   */
  async function keepLease(row: ClaimedRow, aheadMs: number): Promise<boolean> {
    const now = deps.clock.now().getTime()
    if (row.leaseUntil.getTime() - now >= aheadMs) return true
    const until = new Date(now + lockMs)
    if (!(await outboxQueue.renew(deps.db, [claimOf(row)], until))) return false
    row.leaseUntil = until
    return true
  }

  /** Give a claimed row back untouched (a hold, a shutdown): the attempt does not count. */
  async function release(row: OutboxRow, at: Date, lastError?: string): Promise<void> {
    await outboxQueue.release(deps.db, [claimOf(row)], at, { attempts: row.attempts - 1, ...(lastError ? { last_error: lastError.slice(0, 500) } : {}) })
  }

  /**
   * Close the row (sent: `note` null; failed: the note) and set its invitation's delivery columns,
   * if the claim still holds: one statement. False when the claim had passed to another worker.
   */
  async function close(row: OutboxRow, note: string | null, extra: Record<string, unknown>, delivery: DeliveryOutcome): Promise<boolean> {
    const completing = outboxQueue.completing(deps.db, [claimOf(row)], deps.clock.now(), note, extra, ['invitation_id'])
    return completing ? recordOutboxOutcome(deps.db, completing, delivery) : false
  }

  /** Close the row as failed (and say so on its invitation), if the claim still holds. */
  async function fail(row: OutboxRow, reason: string): Promise<boolean> {
    return close(row, reason, {}, { status: 'failed', detail: reason.slice(0, 500) })
  }

  function lostClaim(row: OutboxRow, what: string): 'lost' {
    log.warn({ outboxId: String(row.id), kind: row.kind }, `${what}, but this worker's claim had passed to another: its result stands`)
    return 'lost'
  }

  async function park(row: OutboxRow, reason: string, parkKind: string): Promise<'parked' | 'lost'> {
    if (!(await fail(row, reason))) return lostClaim(row, 'email would be parked')
    metrics.parked.inc({ reason: parkKind })
    log.error({ outboxId: String(row.id), kind: row.kind, reason }, 'email parked as failed')
    return 'parked'
  }

  /** The row's link (from the invitation facts its claim read), or why it must not be sent. */
  function linkFor(row: ClaimedRow): { link: string | null; expiresAt: string | null; dead: string | null } {
    if (!row.invitation_id) return { link: null, expiresAt: null, dead: null }
    if (row.invitation_state !== 'pending' || !row.invitation_link_id || !row.invitation_expires_at) {
      return { link: null, expiresAt: null, dead: 'superseded: the link changed before sending' }
    }
    if (row.invitation_expires_at <= deps.clock.now()) return { link: null, expiresAt: null, dead: 'expired: the link expired before it could be sent' }
    return { link: invitationUrl(deps.config.publicBaseUrl, deps.config.inviteSecret, row.invitation_link_id), expiresAt: row.invitation_expires_at.toISOString(), dead: null }
  }

  /**
   * Wait for a send slot; 'held' when the gate is held (quota, paused), 'lost' when the lease
   * went, 'stopping' when the worker is shutting down. `hadHold`: the gate had a hold or an
   * alarm when the slot was granted (a successful send then clears it).
   */
  async function waitForSlot(row: ClaimedRow): Promise<{ slot: 'go' | 'held' | 'lost' | 'stopping'; hadHold?: boolean }> {
    for (;;) {
      if (stopping) return { slot: 'stopping' }
      const slot = freeSlot(row) ?? (await takeSendSlot(deps.db, { rate, now: gateNow(), probeMs }))
      if (slot.granted) {
        // The grant instant, from the shared gate's clock: shows the pacing across replicas.
        log.debug({ outboxId: String(row.id), slotAt: slot.at.toISOString() }, 'send slot granted')
        return (await keepLease(row, keepAheadMs)) ? { slot: 'go', hadHold: slot.hadHold === true } : { slot: 'lost' }
      }
      if (slot.hold) return { slot: 'held' }
      // Wait, but never so long that the lease could run short unseen, and look up now and then
      // so a shutdown is not kept waiting for a slot far ahead.
      await sleep(Math.min(slot.waitMs, lockMs / 2, 1_000))
      if (!(await keepLease(row, waitAheadMs))) return { slot: 'lost' }
    }
  }

  async function handle(row: ClaimedRow): Promise<Outcome> {
    const id = String(row.id)
    // The suppression and the link are judged from what the claim read. In the running worker
    // (`start`) that is as fresh as it needs to be: the claim is the moment it decides to send the
    // row, and it claims a row only when a lane is free to start on it at once (only a wait for a
    // send slot comes between; the per-email reads this replaces also came before that wait). A
    // bounce or a new link recorded after the decision is the same race as one recorded while the
    // provider has the email. `drainOnce` (tests only) claims a batch whose later rows wait behind
    // earlier sends, so there the facts may be as old as those sends.
    if (row.suppressed_reason) return park(row, `suppressed: ${row.suppressed_reason}${row.suppressed_detail ? ` (${row.suppressed_detail})` : ''}`, 'suppressed')
    const { link, expiresAt, dead } = linkFor(row)
    if (dead) {
      // The link was replaced, used, revoked or expired before we got to it: its email would only confuse.
      const n = await outboxQueue.complete(deps.db, [claimOf(row)], deps.clock.now(), dead)
      if (n === 0) return lostClaim(row, 'email would be skipped')
      log.info({ outboxId: id, kind: row.kind, reason: dead }, 'email skipped')
      return 'parked'
    }
    const waited = await waitForSlot(row)
    if (waited.slot === 'lost') {
      log.warn({ outboxId: id }, 'lease lost before sending; another worker has this email')
      return 'lost'
    }
    if (waited.slot === 'held' || waited.slot === 'stopping') {
      await release(row, deps.clock.now())
      return waited.slot === 'held' ? 'held' : 'released'
    }
    const content = renderEmail(row.kind, { ...row.payload, expiresAt: expiresAt ?? row.payload.expiresAt }, link, brandingOf(deps.config))
    let messageId: string
    metrics.inFlight.inc()
    try {
      messageId = (await sendWithDeadline({ id, to: row.to_email, from: deps.config.emailFrom, ...content, tags: { kind: row.kind } })).messageId
    } catch (err) {
      if (shutdown.signal.aborted) {
        // Abandoned at shutdown while the provider had not answered: hand it back for the next
        // process (the attempt does not count). If the provider did accept it, the copy carries the same link.
        await release(row, deps.clock.now(), 'interrupted by shutdown before the provider answered')
        log.warn({ outboxId: id, kind: row.kind }, 'email send abandoned at shutdown; handed back to the queue')
        return 'released'
      }
      return recordFailure(row, err)
    } finally {
      metrics.inFlight.dec()
    }
    if (!(await recordSent(row, messageId))) return lostClaim(row, `email sent (${messageId})`)
    metrics.sent.inc()
    log.info({ outboxId: id, kind: row.kind, messageId }, 'email sent')
    // A send that succeeds ends a hold (and its alarm): only one seen on the gate when the slot
    // was granted can be ours to end, so with none seen there is nothing to read or clear.
    if (waited.hadHold) {
      const cleared = await clearHold(deps.db).catch(() => null)
      if (cleared) log.warn({ wasHeld: cleared.kind, reason: cleared.reason }, 'email sending resumed')
    }
    return 'sent'
  }

  /**
   * The transport's send, given up at `sendTimeoutMs` even if the transport ignores the signal:
   * the worker's lane must come back whatever the transport does.
   */
  async function sendWithDeadline(message: Parameters<EmailSender['send']>[0]): Promise<{ messageId: string }> {
    // One controller per send, aborted by its own timer or by shutdown. (Not AbortSignal.any over
    // the long-lived shutdown signal: Node 20 keeps every signal composed from it, a leak per send.)
    const controller = new AbortController()
    const stop = shutdown.signal
    let reject!: (error: EmailSendError) => void
    const abandoned = new Promise<never>((_resolve, fail) => (reject = fail))
    const giveUp = (why: string) => {
      reject(new EmailSendError('retry', `${sender.name}: ${why}`, { vendorCode: 'Timeout', timedOut: true }))
      controller.abort()
    }
    const timer = setTimeout(() => giveUp(`no answer within ${sendTimeoutMs} ms`), sendTimeoutMs)
    const onShutdown = () => giveUp('the worker is shutting down')
    stop.addEventListener('abort', onShutdown, { once: true })
    try {
      return await Promise.race([sender.send(message, { signal: controller.signal }), abandoned])
    } finally {
      clearTimeout(timer)
      stop.removeEventListener('abort', onShutdown)
    }
  }

  /**
   * The email is out: record it, and keep trying while the database is away (a Postgres restart
   * must not turn into a second send once the lease runs out). False when the claim had passed
   * to another worker: then that worker's record stands.
   */
  async function recordSent(row: OutboxRow, messageId: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await close(row, null, { message_id: messageId }, { status: 'sent', messageId, detail: null })
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
    if (failure.timedOut) metrics.timeouts.inc()
    switch (failure.kind) {
      case 'reject':
        return park(row, reason, 'rejected')
      case 'retry': {
        if (row.attempts >= maxAttempts) return park(row, `gave up after ${row.attempts} attempts: ${reason}`, 'attempts')
        const wait = backoffMs(row.attempts)
        const n = await outboxQueue.release(deps.db, [claimOf(row)], new Date(now.getTime() + wait), { last_error: reason })
        if (n === 0) return lostClaim(row, `email send failed (${reason})`)
        const fields = { outboxId: String(row.id), kind: row.kind, reason, retryInMs: wait, attempts: row.attempts }
        if (failure.timedOut) log.warn({ ...fields, deadlineMs: sendTimeoutMs }, 'email provider did not answer in time; will retry (other emails keep going)')
        else log.warn(fields, 'email send failed; will retry')
        return 'retry'
      }
      case 'quota': {
        const forMs = failure.retryAfterMs ?? 15 * 60_000
        await holdSending(deps.db, { kind: 'quota', forMs, reason, now: gateNow() })
        await release(row, now, reason)
        log.warn({ outboxId: String(row.id), reason, holdMs: forMs }, 'SES daily quota reached: every send waits for the window to reopen')
        return 'held'
      }
      case 'paused': {
        const state = await holdSending(deps.db, { kind: 'paused', forMs: probeMs, reason, now: gateNow() })
        await release(row, now, reason)
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

  /** Handle one claimed row; an outage (the database away) is logged, and the lease brings the row back. */
  async function handleSafely(row: ClaimedRow): Promise<Outcome | 'error'> {
    try {
      return await handle(row)
    } catch (err) {
      log.error({ outboxId: String(row.id), err: err instanceof Error ? err.message : String(err) }, 'email round failed for one email; it is retried after its lease')
      return 'error'
    }
  }

  /**
   * Without a rate limit and with neither hold nor alarm on the gate when the row was claimed,
   * takeSendSlot would lock the row, find nothing to change and grant the slot: the claim's read
   * of the gate gives the same answer with no statement. Null (ask takeSendSlot) when there is a
   * rate to keep or any hold, expired or not (a paused hold's probe must be taken under the lock,
   * so only one replica probes), or the gate row is missing (takeSendSlot recreates it). A hold
   * set by another replica after the claim is met by this send as by any send already under way:
   * the provider refuses it, and the row is held and handed back.
   */
  function freeSlot(row: ClaimedRow): { granted: true; at: Date; hadHold?: true } | null {
    if (rate !== undefined || !row.gate_found || row.gate_hold_kind !== null || row.gate_alarm_since !== null) return null
    return { granted: true, at: row.gate_now }
  }

  /** See `EmailWorker.drainOnce`: for tests; the service calls `start` (the loop below). */
  async function drainOnce(): Promise<number> {
    const rows = await claim(batchSize)
    let heldSeen = false
    const queue = [...rows]
    const lane = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        if (stopping || heldSeen) {
          // Shutdown or a hold: hand the rest back now rather than leaving them to the lease.
          await release(row, deps.clock.now())
          continue
        }
        if ((await handleSafely(row)) === 'held') heldSeen = true
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane))
    return rows.length
  }

  function pause(ms: number): Promise<void> {
    if (wakePending) {
      wakePending = false
      return Promise.resolve()
    }
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

  /**
   * Continuous delivery: keep up to `concurrency` emails in flight, claiming more as lanes free
   * up, so an email whose send hangs until its deadline holds one lane and nothing else.
   */
  async function loop(): Promise<void> {
    while (running) {
      try {
        const free = concurrency - active.size
        if (free > 0 && running) {
          for (const row of await claim(Math.min(free, batchSize))) {
            const lane: Promise<void> = handleSafely(row).then(() => {
              active.delete(lane)
              if (wake) wake()
              else wakePending = true
            })
            active.add(lane)
          }
        }
      } catch (err) {
        // The database may be restarting: keep the loop alive and try again after the poll wait.
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'email worker round failed')
      }
      // Until a lane frees up (then more may be claimed at once) or the next poll.
      if (running) await pause(pollIntervalMs)
    }
  }

  return {
    start() {
      if (running) return
      running = true
      stopping = false
      wakePending = false
      shutdown = new AbortController()
      loopDone = loop()
    },
    async stop() {
      running = false
      stopping = true
      if (wake) wake()
      else wakePending = true
      await loopDone.catch(() => undefined)
      const settled = Promise.allSettled([...active])
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), stopWaitMs)
      })
      if ((await Promise.race([settled, late])) === 'late') {
        log.warn({ inFlight: active.size, waitedMs: stopWaitMs }, 'shutdown: abandoning email sends still waiting for the provider')
        shutdown.abort()
      }
      clearTimeout(timer)
      await Promise.allSettled([...active])
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
  const timeouts =
    existing<Counter<'transport'>>('inviteops_email_send_timeouts_total') ??
    new Counter({
      name: 'inviteops_email_send_timeouts_total',
      help: 'Sends the provider did not answer within the deadline (each is retried with backoff)',
      labelNames: ['transport'] as const,
      registers: [registry],
    })
  const inFlight =
    existing<Gauge<'transport'>>('inviteops_email_sends_in_flight') ??
    new Gauge({ name: 'inviteops_email_sends_in_flight', help: 'Sends waiting for the provider right now', labelNames: ['transport'] as const, registers: [registry] })
  return {
    sent: { inc: () => sent.inc({ transport }) },
    failures: { inc: (l: { kind: string }) => failures.inc({ transport, kind: l.kind }) },
    parked: { inc: (l: { reason: string }) => parked.inc({ transport, reason: l.reason }) },
    timeouts: { inc: () => timeouts.inc({ transport }) },
    inFlight: { inc: () => inFlight.inc({ transport }), dec: () => inFlight.dec({ transport }) },
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
 * the alarm as a reason code (`email_sending_paused`, `email_quota_hold`) with the words for the
 * log, but stays `ok`: a paused SES account must not take every replica out of the load balancer
 * (Slack and the invitee pages still work; emails wait safely in the outbox).
 */
export function emailSendingReadiness(deps: Pick<Deps, 'db'>): { name: string; check(): Promise<{ ok: boolean; reason?: string; detail?: string }> } {
  return {
    name: 'email',
    async check() {
      const gate = describeGate(await readGate(deps.db, 'database'))
      if (gate.paused) return { ok: true, reason: 'email_sending_paused', detail: gate.detail }
      if (gate.quotaHeld) return { ok: true, reason: 'email_quota_hold', detail: gate.detail }
      return { ok: true }
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
