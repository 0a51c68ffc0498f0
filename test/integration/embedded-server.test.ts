import { afterAll, beforeAll, expect, test } from 'vitest'
import { openDatabase, type Database } from '../../src/db/open-database.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { EMBEDDED_SHARED_BUFFERS } from '../../src/db/embedded.ts'

/**
 * The embedded server always (whatever DATABASE_URL says): several pooled connections share
 * PGlite's one session, and one connection's extended-protocol messages must never interleave
 * with another's, nor run inside another's transaction.
 */
let db: Database
beforeAll(async () => {
  db = await openDatabase({ memory: true, poolMax: 8, logger: silentLogger })
  await db.knex.raw('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)')
  await db.knex('counter').insert({ id: 1, n: 0 })
})
afterAll(async () => db.close())

test('concurrent parameterised queries on several connections each get their own answer', async () => {
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => db.knex.raw<{ rows: { n: number; s: string }[] }>('select ?::int as n, ?::text as s', [i, `q${i}`])))
  expect(answers.map((a) => a.rows[0])).toEqual(Array.from({ length: 300 }, (_, i) => ({ n: i, s: `q${i}` })))
})

test('transactions on several connections stay isolated while plain queries run beside them', async () => {
  const work = Array.from({ length: 40 }, async (_, i) => {
    if (i % 2 === 0) {
      await db.knex.transaction(async (trx) => {
        const row = await trx('counter').where({ id: 1 }).forUpdate().first<{ n: number }>()
        await trx('counter').where({ id: 1 }).update({ n: row.n + 1 })
      })
    } else {
      // a plain read must not see (or join) a transaction in flight on another connection
      await db.knex.raw('select count(*) from counter where n >= ?', [0])
    }
  })
  await Promise.all(work)
  expect(await db.knex('counter').first()).toEqual({ id: 1, n: 20 })
  const [{ in_transaction }] = (await db.knex.raw<{ rows: { in_transaction: boolean }[] }>(`select now() <> statement_timestamp() as in_transaction`)).rows as [{ in_transaction: boolean }]
  expect(in_transaction).toBe(false)
})

test('a failed query in one connection leaves the others working', async () => {
  const results = await Promise.allSettled([db.knex.raw('select * from no_such_table where id = ?', [1]), ...Array.from({ length: 20 }, (_, i) => db.knex.raw('select ?::int as n', [i]))])
  expect(results[0]!.status).toBe('rejected')
  expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true)
})

test('runs with a buffer cache sized for one machine, not the server default (docs/performance.md memory)', async () => {
  const { rows } = await db.knex.raw<{ rows: { shared_buffers: string }[] }>('SHOW shared_buffers')
  expect(rows[0]?.shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS)
})
