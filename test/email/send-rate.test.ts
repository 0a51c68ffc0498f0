import knexFactory from 'knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { takeSendSlot } from '../../src/email/send-gate.ts'
import type { EmailMessage, EmailSender } from '../../src/ports/email.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { captureLogger } from './support/capture-logger.ts'

/**
 * SES_MAX_SEND_RATE is a limit of the whole SES account: replicas share one schedule in
 * Postgres (email_send_gate, locked FOR UPDATE). The gate grants a slot at most every 1/rate.
 */
let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await db.close()
})

describe('the send gate (explicit instants, no sleeping)', () => {
  it('grants one slot per 1/rate, tells the others how long to wait', async () => {
    await truncateAll(db.knex)
    const t0 = new Date('2026-11-26T10:00:00.000Z')
    const at = (ms: number) => new Date(t0.getTime() + ms)
    const take = (ms: number) => takeSendSlot(db.knex, { rate: 4, now: at(ms), probeMs: 60_000 })
    expect(await take(0)).toEqual({ granted: true, at: at(0) })
    expect(await take(0)).toEqual({ granted: false, waitMs: 250, hold: null })
    expect(await take(249)).toEqual({ granted: false, waitMs: 1, hold: null })
    expect(await take(250)).toEqual({ granted: true, at: at(250) })
    // A late arrival does not earn a burst: the next slot is 1/rate after the last grant.
    expect(await take(2_000)).toEqual({ granted: true, at: at(2_000) })
    expect(await take(2_001)).toMatchObject({ granted: false, waitMs: 249 })
  })

  it('two replicas asking at the same instant on separate connections: exactly one slot', async () => {
    await truncateAll(db.knex)
    const other = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } })
    try {
      const now = new Date('2026-11-26T11:00:00.000Z')
      const results = await Promise.all([
        takeSendSlot(db.knex, { rate: 1, now, probeMs: 60_000 }),
        takeSendSlot(other, { rate: 1, now, probeMs: 60_000 }),
        takeSendSlot(db.knex, { rate: 1, now, probeMs: 60_000 }),
        takeSendSlot(other, { rate: 1, now, probeMs: 60_000 }),
      ])
      expect(results.filter((r) => r.granted)).toHaveLength(1)
    } finally {
      await other.destroy()
    }
  })
})

describe('two worker replicas against one database', () => {
  it('send every email once and never start two sends closer than 1/SES_MAX_SEND_RATE', async () => {
    await truncateAll(db.knex)
    const rate = 20
    const logs = captureLogger()
    const deps = makeDeps(db.knex, { logger: logs })
    const seed = await seedAccount(deps)
    const N = 12
    for (let i = 0; i < N; i++) await inviteUser(deps, seed, `user${i}@example.com`)

    const sent: string[] = []
    let allSent!: () => void
    const reachedN = new Promise<void>((resolve) => (allSent = resolve))
    const sender: EmailSender = {
      name: 'recording',
      send: async (m: EmailMessage) => {
        sent.push(m.id)
        if (sent.length >= N) allSent()
        return { messageId: `m-${m.id}` }
      },
    }
    const second = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 4 } })
    const replicas = [
      createEmailWorker({ deps, sender, maxSendRate: rate, pollIntervalMs: 10, batchSize: 3 }),
      createEmailWorker({ deps: { ...deps, db: second }, sender, maxSendRate: rate, pollIntervalMs: 10, batchSize: 3 }),
    ]
    try {
      replicas.forEach((r) => r.start())
      await reachedN
    } finally {
      await Promise.all(replicas.map((r) => r.stop()))
      await second.destroy()
    }
    const grants = logs.lines
      .filter((l) => l.msg === 'send slot granted')
      .map((l) => Date.parse(String(l.fields.slotAt)))
      .sort((a, b) => a - b)
    const gaps = grants.slice(1).map((t, i) => t - grants[i]!)
    const duplicates = sent.length - new Set(sent).size
    const replicaShare = new Set(logs.lines.filter((l) => l.msg === 'email sent').map((l) => l.fields.outboxId)).size
    console.log(`rate test: sent ${new Set(sent).size} of ${N}, duplicates ${duplicates}, smallest gap ${Math.min(...gaps)} ms (1/rate = ${1000 / rate} ms)`)
    expect(new Set(sent).size).toBe(N)
    expect(duplicates).toBe(0)
    expect(replicaShare).toBe(N)
    expect(grants.length).toBeGreaterThanOrEqual(N)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000 / rate)
    expect((await db.knex('email_outbox').where({ status: 'sent' }).count<{ n: number }[]>({ n: '*' }))[0]?.n).toBe(N)
  })
})
