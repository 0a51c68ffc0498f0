/**
 * A delivery key is built from what the platform sent (a Slack block_id, a Teams activity id), so
 * it may hold characters a Postgres text column cannot store: NUL, or half of a surrogate pair.
 * Such a key still counts once and is recognised again, instead of failing the request. Found by
 * the generated-input suite (a click whose block_id held a NUL was answered "something went wrong").
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { firstDelivery } from '../../src/chat/deliveries.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

const T0 = new Date('2026-11-26T10:00:00Z')
const TTL = 10 * 60_000

test.each([
  ['a NUL', 'action:T1:U1:inviteops.row:inviteops|list|\u0000|1|row:1.2', 'action:T1:U1:inviteops.row:inviteops|list|\u0000|2|row:1.2'],
  ['an unpaired surrogate', 'teams:19:abc|\ud800', 'teams:19:abc|\udbff'],
])('a key with %s is new once, recognised again, and distinct from its neighbour', async (_what, key, neighbour) => {
  expect(await firstDelivery(db.knex, 'slack', key, T0, TTL)).toBe(true)
  expect(await firstDelivery(db.knex, 'slack', key, T0, TTL)).toBe(false)
  expect(await firstDelivery(db.knex, 'slack', neighbour, T0, TTL)).toBe(true)
})

test('a key Postgres can store is stored as it is (readable, and the same key as before this rule)', async () => {
  await firstDelivery(db.knex, 'teams', '19:conversation|1795687200123', T0, TTL)
  expect(await db.knex('chat_deliveries').where({ platform: 'teams', key: '19:conversation|1795687200123' })).toHaveLength(1)
})
