import { afterAll, beforeAll, expect, test } from 'vitest'
import { firstDelivery, pruneDeliveries } from '../../src/chat/deliveries.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'

/** Delivery keys shared by replicas (docs/reliability.md): one effect per chat request, wherever it lands. */
let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

const T0 = new Date('2026-11-26T10:00:00Z')
const at = (ms: number) => new Date(T0.getTime() + ms)
const TTL = 10 * 60_000

test('a key is new once; seen again within the TTL it is not; after the TTL it is new again', async () => {
  expect(await firstDelivery(db.knex, 'slack', 'command:T1:trigger-1', T0, TTL)).toBe(true)
  expect(await firstDelivery(db.knex, 'slack', 'command:T1:trigger-1', at(TTL - 1), TTL)).toBe(false)
  expect(await firstDelivery(db.knex, 'teams', 'command:T1:trigger-1', T0, TTL)).toBe(true) // per platform
  expect(await firstDelivery(db.knex, 'slack', 'command:T1:trigger-1', at(TTL), TTL)).toBe(true)
})

test('concurrent deliveries of one key: exactly one is first', async () => {
  const results = await Promise.all(Array.from({ length: 12 }, () => firstDelivery(db.knex, 'slack', 'action:T1:U1:x:y:1.2', T0, TTL)))
  expect(results.filter(Boolean)).toHaveLength(1)
})

test('prune forgets old keys only; a very long key is stored as its digest, not refused', async () => {
  await firstDelivery(db.knex, 'slack', 'old', T0, TTL)
  await firstDelivery(db.knex, 'slack', 'x'.repeat(2000), at(TTL * 3), TTL)
  expect(await pruneDeliveries(db.knex, at(TTL))).toBeGreaterThanOrEqual(1)
  expect(await db.knex('chat_deliveries').where({ key: 'old' })).toEqual([])
  expect(await db.knex('chat_deliveries').where('key', 'like', 'sha256:%')).toHaveLength(1)
})

test('two long keys that share their first 500 characters are two deliveries, not one', async () => {
  const common = `message:${'c'.repeat(600)}`
  expect(await firstDelivery(db.knex, 'teams', `${common}|1`, T0, TTL)).toBe(true)
  expect(await firstDelivery(db.knex, 'teams', `${common}|2`, T0, TTL)).toBe(true)
  expect(await firstDelivery(db.knex, 'teams', `${common}|1`, T0, TTL)).toBe(false)
})
