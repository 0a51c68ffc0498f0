import { readFileSync } from 'node:fs'
import nock from 'nock'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { createEmailWorker, emailSendingReadiness, registerEmailGateMetrics } from '../../src/email/outbox-worker.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { captureLogger } from './support/capture-logger.ts'

/**
 * The outbox worker with the real SES sender and SDK, SES's HTTP API intercepted by nock: each
 * SES answer leads to the behaviour docs/reliability.md describes. Time is the test's clock (the worker's
 * waits advance it), so backoffs and holds are exact and nothing sleeps.
 */
const SES = 'https://email.eu-west-1.amazonaws.com'
const xml = (name: string) => readFileSync(new URL(`./fixtures/ses/${name}.xml`, import.meta.url), 'utf8')
const okXml = (id: string) => xml('send-email-ok').replace(/<MessageId>[^<]+<\/MessageId>/, `<MessageId>${id}</MessageId>`)
const MIN = 60_000

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let logs: ReturnType<typeof captureLogger>

beforeAll(async () => {
  db = await createTestDatabase()
  nock.disableNetConnect()
})
afterAll(async () => {
  nock.enableNetConnect()
  await db.close()
})
beforeEach(async () => {
  nock.cleanAll()
  await truncateAll(db.knex)
  logs = captureLogger()
  deps = makeDeps(db.knex, { logger: logs })
  seed = await seedAccount(deps)
})

function worker(registry = new Registry()) {
  const sender = createSesSender({
    quotaWaitMs: 15 * MIN,
    clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
  })
  // One lane: each test scripts SES's answers in order, and a hold must find the next email not yet sent.
  return createEmailWorker({ deps, sender, registry, gateClock: 'deps', pauseProbeMs: 5 * MIN, sleep: async (ms) => deps.clock.advance(ms), concurrency: 1 })
}

/** SES answers, in order; every request is counted so an unexpected one shows. */
function sesAnswers(answers: [number, string][]) {
  const scope = nock(SES)
  for (const [status, body] of answers) scope.post('/').reply(status, body, { 'content-type': 'text/xml' })
  return scope
}

async function outbox() {
  return db.knex('email_outbox').orderBy('id').select('to_email', 'status', 'attempts', 'message_id', 'last_error', 'next_attempt_at')
}
async function delivery(email: string) {
  const u = await db.knex('users').where({ email, account_id: seed.account.id }).first('id')
  return db.knex('invitations').where({ user_id: u.id }).orderBy('created_at', 'desc').first('delivery_status', 'delivery_detail', 'delivery_message_id')
}

describe('retryable: throttling, 5xx', () => {
  for (const [name, status, body] of [
    ['Throttling "Maximum sending rate exceeded"', 400, xml('throttling-rate')],
    ['500 InternalFailure', 500, xml('internal-failure')],
    ['503 from a load balancer', 503, '<html>Service Unavailable</html>'],
  ] as const) {
    it(`${name}: retried after a backoff, then sent (delivery: queued → sent with the MessageId)`, async () => {
      await inviteUser(deps, seed, 'a@example.com')
      expect(await delivery('a@example.com')).toMatchObject({ delivery_status: 'queued' })
      const scope = sesAnswers([
        [status, body],
        [status, body],
        [200, okXml('msg-a')],
      ])
      const w = worker()
      const start = deps.clock.now().getTime()
      await w.drainOnce()
      let [row] = await outbox()
      expect(row).toMatchObject({ status: 'queued', attempts: 1 })
      const firstWait = row.next_attempt_at.getTime() - start
      expect(firstWait).toBeGreaterThanOrEqual(1_500)
      expect(await w.drainOnce()).toBe(0) // not due yet: the backoff holds
      deps.clock.advance(firstWait)
      await w.drainOnce()
      ;[row] = await outbox()
      expect(row).toMatchObject({ status: 'queued', attempts: 2 })
      expect(row.next_attempt_at.getTime() - deps.clock.now().getTime()).toBeGreaterThan(firstWait) // backoff grows
      deps.clock.set(row.next_attempt_at)
      await w.drainOnce()
      expect(await outbox()).toMatchObject([{ status: 'sent', attempts: 3, message_id: 'msg-a', last_error: null }])
      expect(await delivery('a@example.com')).toMatchObject({ delivery_status: 'sent', delivery_message_id: 'msg-a' })
      expect(scope.isDone()).toBe(true)
    })
  }
})

describe('rejected: parked as failed with the reason, never retried', () => {
  for (const [fixture, code] of [
    ['message-rejected', 'MessageRejected'],
    ['mail-from-not-verified', 'MailFromDomainNotVerifiedException'],
  ] as const) {
    it(code, async () => {
      await inviteUser(deps, seed, 'a@example.com')
      const scope = sesAnswers([[400, xml(fixture)]])
      const w = worker()
      await w.drainOnce()
      deps.clock.advance(24 * 60 * MIN)
      expect(await w.drainOnce()).toBe(0)
      const [row] = await outbox()
      expect(row).toMatchObject({ status: 'failed', attempts: 1 })
      expect(row.last_error).toContain(code)
      const d = await delivery('a@example.com')
      expect(d.delivery_status).toBe('failed')
      expect(d.delivery_detail).toContain(code)
      expect(scope.isDone()).toBe(true)
    })
  }
})

describe('daily quota: every send waits for the window', () => {
  it('holds all sends for SES_QUOTA_WAIT without spending attempts, then sends everything', async () => {
    await inviteUser(deps, seed, 'a@example.com')
    await inviteUser(deps, seed, 'b@example.com')
    const first = sesAnswers([[400, xml('throttling-daily-quota')]])
    const w = worker()
    await w.drainOnce()
    expect(first.isDone()).toBe(true)
    expect((await outbox()).map((r) => [r.status, r.attempts])).toEqual([
      ['queued', 0],
      ['queued', 0],
    ])
    deps.clock.advance(14 * MIN)
    expect(await w.drainOnce()).toBe(0) // still inside the window: no request (nock would refuse one)
    deps.clock.advance(1 * MIN)
    const rest = sesAnswers([
      [200, okXml('msg-a')],
      [200, okXml('msg-b')],
    ])
    await w.drainOnce()
    expect((await outbox()).map((r) => r.status)).toEqual(['sent', 'sent'])
    expect(rest.isDone()).toBe(true)
  })
})

describe('account sending paused: hold everything, raise the alarm, probe, resume', () => {
  it('log + metric + readiness detail while paused; one probe per interval; cleared by the first successful send', async () => {
    await inviteUser(deps, seed, 'a@example.com')
    await inviteUser(deps, seed, 'b@example.com')
    const registry = new Registry()
    registerEmailGateMetrics(registry, deps)
    const readiness = emailSendingReadiness(deps)
    const pausedGauge = async () => (await registry.getSingleMetric('inviteops_email_sending_paused')!.get()).values[0]?.value

    expect(await pausedGauge()).toBe(0)
    const paused = sesAnswers([[400, xml('account-sending-paused')]])
    const w = worker(registry)
    await w.drainOnce()
    expect(paused.isDone()).toBe(true)
    expect((await outbox()).map((r) => [r.status, r.attempts])).toEqual([
      ['queued', 0],
      ['queued', 0],
    ])
    const alarm = logs.lines.find((l) => l.fields.alarm === 'email_sending_paused')
    expect(alarm?.level).toBe('error')
    expect(await pausedGauge()).toBe(1)
    const check = await readiness.check()
    expect(check.ok).toBe(true) // stays in the load balancer: chat and pages still work
    expect(check.reason).toBe('email_sending_paused') // the code for /readyz; the words for the log
    expect(check.detail).toMatch(/^ALARM: sending paused since .*AccountSendingPausedException/)

    expect(await w.drainOnce()).toBe(0) // held: no request

    // The probe fails again: still paused, still held, nothing spent.
    deps.clock.advance(5 * MIN)
    const probe1 = sesAnswers([[400, xml('account-sending-paused')]])
    await w.drainOnce()
    expect(probe1.isDone()).toBe(true)
    expect(await pausedGauge()).toBe(1)

    // The operator re-enabled sending: the next probe succeeds and everything goes.
    deps.clock.advance(5 * MIN)
    const resumed = sesAnswers([
      [200, okXml('msg-a')],
      [200, okXml('msg-b')],
    ])
    await w.drainOnce()
    expect(resumed.isDone()).toBe(true)
    expect((await outbox()).map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
    ])
    expect(await pausedGauge()).toBe(0)
    expect(await readiness.check()).toEqual({ ok: true })
    expect(logs.lines.some((l) => l.msg === 'email sending resumed')).toBe(true)
  })
})

describe('suppressed recipients', () => {
  it('an email queued before the bounce arrived is parked, not sent', async () => {
    await inviteUser(deps, seed, 'a@example.com')
    await db.knex('email_suppressions').insert({ email: 'a@example.com', reason: 'bounce', detail: 'Permanent/General', created_at: deps.clock.now() })
    await worker().drainOnce() // nock has no answer: a request would fail the assertion below
    const [row] = await outbox()
    expect(row).toMatchObject({ status: 'failed' })
    expect(row.last_error).toContain('suppressed: bounce')
  })
})
