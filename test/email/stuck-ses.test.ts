import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { captureLogger } from './support/capture-logger.ts'
import { startSesStandIn, type SesBehaviour, type SesStandIn } from './support/ses-stand-in.ts'

/**
 * Faults of a provider that accepts the connection and does not answer, played by a local SES
 * stand-in that the real SDK talks to over HTTP. The order of what the stand-in saw is the
 * evidence: no assertion measures time.
 */
let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let logs: ReturnType<typeof captureLogger>
let ses: SesStandIn | null = null

useSeededDatabase((t) => ({ db, deps, seed } = t), {
  makeDepsOptions: () => {
    logs = captureLogger()
    return { logger: logs }
  },
})
afterEach(async () => {
  await ses?.close()
  ses = null
})

async function standIn(decide: (to: string) => SesBehaviour): Promise<SesStandIn> {
  ses = await startSesStandIn(decide)
  return ses
}

function sesSender(url: string, requestTimeoutMs: number) {
  return createSesSender({
    quotaWaitMs: 60_000,
    requestTimeoutMs,
    clientConfig: { region: 'eu-west-1', endpoint: url, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
  })
}

async function row(email: string) {
  return db.knex('email_outbox').where({ to_email: email }).first('status', 'attempts', 'last_error', 'next_attempt_at', 'message_id', 'claim_token')
}

describe('an SES request that never answers', () => {
  it('times out and is retried with backoff while the other emails are delivered; logged once, counted in /metrics', async () => {
    const stand = await standIn((to) => (to === 'stuck@example.com' ? 'hang' : 'ok'))
    await inviteUser(deps, seed, 'stuck@example.com') // first in the queue
    const others = ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}@example.com`)
    for (const email of others) await inviteUser(deps, seed, email)

    const registry = new Registry()
    const worker = createEmailWorker({ deps, sender: sesSender(stand.url, 3_000), registry, maxSendRate: 50, pollIntervalMs: 20, concurrency: 3 })
    worker.start()
    try {
      await stand.waitFor(/^closed:stuck@example\.com$/)
      // The worker warns once it has handed the email back for a retry.
      await logs.until((lines) => lines.some((l) => l.level === 'warn' && l.msg.includes('did not answer in time')))
    } finally {
      await worker.stop()
    }

    // Every other email went out while the stuck request was still open.
    const closedAt = stand.events.indexOf('closed:stuck@example.com')
    expect(stand.events.slice(0, closedAt).filter((e) => e.startsWith('ok:')).sort()).toEqual(others.map((e) => `ok:${e}`))
    for (const email of others) expect(await row(email)).toMatchObject({ status: 'sent', claim_token: null })

    // The stuck one waits for its backoff (≥ 1.5 s, from the worker's clock) and says why.
    const stuck = await row('stuck@example.com')
    expect(stuck).toMatchObject({ status: 'queued', attempts: 1, claim_token: null })
    expect(stuck?.last_error).toMatch(/^Timeout: /)
    expect(stuck!.next_attempt_at.getTime() - deps.clock.now().getTime()).toBeGreaterThanOrEqual(1_500)

    const warnings = logs.lines.filter((l) => l.level === 'warn' && l.msg.includes('did not answer in time'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.fields).toMatchObject({ kind: 'invitation', attempts: 1 })
    const metrics = await registry.metrics()
    expect(metrics).toMatch(/^inviteops_email_send_timeouts_total\{transport="ses"\} 1$/m)
    expect(metrics).toMatch(/^inviteops_email_sent_total\{transport="ses"\} 5$/m)
    expect(metrics).toMatch(/^inviteops_email_sends_in_flight\{transport="ses"\} 0$/m)
  })

  it('the worker gives up at its own deadline even when the transport ignores its signal', async () => {
    await inviteUser(deps, seed, 'stuck@example.com')
    const sender = { name: 'deaf', send: () => new Promise<never>(() => {}) }
    const worker = createEmailWorker({ deps, sender, sendTimeoutMs: 200, lockMs: 1_000 })
    expect(await worker.drainOnce()).toBe(1)
    expect(await row('stuck@example.com')).toMatchObject({ status: 'queued', attempts: 1, last_error: 'Timeout: deaf: no answer within 200 ms' })
  })

  it('stop abandons a send still hanging after stopWaitMs and hands its email back, attempt not counted', async () => {
    const stand = await standIn(() => 'hang')
    await inviteUser(deps, seed, 'stuck@example.com')
    const worker = createEmailWorker({ deps, sender: sesSender(stand.url, 30_000), sendTimeoutMs: 29_000, pollIntervalMs: 20, stopWaitMs: 100 })
    worker.start()
    await stand.waitFor(/^hang:/)
    await worker.stop()
    expect(await row('stuck@example.com')).toMatchObject({ status: 'queued', attempts: 0, claim_token: null, last_error: 'interrupted by shutdown before the provider answered' })
    await stand.waitFor(/^closed:/) // the connection was torn down, not left open
  })

  it('a send deadline longer than half the lease is refused at construction', () => {
    const sender = { name: 'x', send: () => Promise.resolve({ messageId: 'm' }) }
    expect(() => createEmailWorker({ deps, sender, sendTimeoutMs: 31_000, lockMs: 60_000 })).toThrow(/at most half the lease/)
  })
})

describe('a worker that lost its claim', () => {
  const lockMs = 30_000

  /**
   * Bob invited, and two workers A and B on one database and one SES whose first request is held
   * open by the test (any later one is answered).
   */
  async function twoWorkersFirstRequestHeld() {
    let first = true
    const stand = await standIn(() => {
      if (!first) return 'ok'
      first = false
      return 'hold'
    })
    await inviteUser(deps, seed, 'bob@example.com')
    const options = { deps, gateClock: 'deps' as const, lockMs, sendTimeoutMs: 10_000, concurrency: 1 }
    const a = createEmailWorker({ ...options, sender: sesSender(stand.url, 9_000) })
    const b = createEmailWorker({ ...options, sender: sesSender(stand.url, 9_000) })
    return { stand, a, b }
  }

  it('changes nothing and does not send again: two workers, one accepted send', async () => {
    const { stand, a, b } = await twoWorkersFirstRequestHeld()

    const roundA = a.drainOnce() // A claims bob and sends: SES holds the request
    await stand.waitFor(/^hold:bob@example\.com$/)
    deps.clock.advance(lockMs + 1) // A's lease runs out while it waits
    expect(await b.drainOnce()).toBe(1) // B claims bob again and sends it
    expect(await row('bob@example.com')).toMatchObject({ status: 'sent', message_id: 'stand-in-1' })

    stand.held[0]!.reset() // A's connection resets: a retryable error for A
    expect(await roundA).toBe(1)
    expect(await row('bob@example.com')).toMatchObject({ status: 'sent', message_id: 'stand-in-1', attempts: 2, last_error: null })
    expect(logs.lines.some((l) => l.level === 'warn' && l.msg.includes("claim had passed to another"))).toBe(true)

    // Nothing is due any more, for either worker, however long we wait.
    deps.clock.advance(24 * 3_600_000)
    expect(await a.drainOnce()).toBe(0)
    expect(await b.drainOnce()).toBe(0)
    expect(stand.accepted).toEqual(['bob@example.com'])
  })

  it('a late success is not recorded over the other worker\'s record', async () => {
    const { stand, a, b } = await twoWorkersFirstRequestHeld()
    const roundA = a.drainOnce()
    await stand.waitFor(/^hold:/)
    deps.clock.advance(lockMs + 1)
    await b.drainOnce()
    const recordedByB = await row('bob@example.com')
    stand.held[0]!.answer() // SES answers A after all
    await roundA
    expect(await row('bob@example.com')).toEqual(recordedByB)
    const invitation = await db.knex('invitations').first('delivery_status', 'delivery_message_id')
    expect(invitation).toEqual({ delivery_status: 'sent', delivery_message_id: recordedByB?.message_id })
  })
})
