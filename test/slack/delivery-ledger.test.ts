/**
 * The delivery ledger's group commit (src/chat/deliveries.ts): keys asked for while a statement
 * runs go together in the next one, and each key gets the answer `firstDelivery` would give it.
 */
import type { Knex } from 'knex'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createDeliveryLedger, firstDeliveries } from '../../src/chat/deliveries.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await db.close()
})
beforeEach(async () => {
  await truncateAll(db.knex)
})

/** Counts the statements `knex` sends that write delivery keys. */
function countInserts(knex: Knex): { count(): number; stop(): void } {
  let n = 0
  const on = (q: { sql?: string }) => {
    if (q.sql?.includes('INSERT INTO chat_deliveries')) n += 1
  }
  knex.on('query', on)
  return { count: () => n, stop: () => knex.off('query', on) }
}

const TTL = 10 * 60_000

describe('delivery ledger', () => {
  it('a burst of keys: every new key is first, in two statements rather than twenty', async () => {
    let now = new Date('2026-11-30T08:00:00Z')
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => now } }, 'slack', TTL)
    const inserts = countInserts(db.knex)
    const keys = Array.from({ length: 20 }, (_, i) => `command:T1:trigger${i}`)
    expect(await Promise.all(keys.map((k) => ledger.firstTime(k)))).toEqual(Array(20).fill(true))
    inserts.stop()
    // The first key alone (nothing was running), then the nineteen asked for meanwhile.
    expect(inserts.count()).toBe(2)
    // Seen: a redelivery is not first, alone or in a batch, until the TTL has passed.
    expect(await Promise.all([ledger.firstTime(keys[0]!), ledger.firstTime(keys[1]!), ledger.firstTime('command:T1:new')])).toEqual([false, false, true])
    now = new Date(now.getTime() + TTL)
    expect(await ledger.firstTime(keys[0]!)).toBe(true)
  })

  it('the same key twice in one batch is first once', async () => {
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => new Date() } }, 'teams', TTL)
    const answers = await Promise.all([ledger.firstTime('a|1'), ledger.firstTime('b|2'), ledger.firstTime('b|2'), ledger.firstTime('a|1')])
    expect(answers).toEqual([true, true, false, false])
  })

  it('keys stored as digests (too long, or not storable) come back as the keys given', async () => {
    const long = `conv|${'x'.repeat(600)}`
    const nul = 'conv|a\u0000b'
    const first = await firstDeliveries(db.knex, 'teams', [long, nul, 'short'], new Date(), TTL)
    expect(first).toEqual(new Set([long, nul, 'short']))
    expect(await firstDeliveries(db.knex, 'teams', [long, nul, 'short', 'other'], new Date(), TTL)).toEqual(new Set(['other']))
  })

  it('a failed statement fails the keys of its batch only; the next key is recorded', async () => {
    let fail = true
    const clock = {
      now: () => {
        if (fail) {
          fail = false
          throw new Error('clock broke')
        }
        return new Date()
      },
    }
    const ledger = createDeliveryLedger({ db: db.knex, clock }, 'slack', TTL)
    await expect(ledger.firstTime('k1')).rejects.toThrow('clock broke')
    expect(await ledger.firstTime('k1')).toBe(true)
  })
})
