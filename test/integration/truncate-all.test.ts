import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'

// The support's truncateAll keeps the statement it made per database: a table created after its
// first call must still be emptied by the next one.
describe('truncateAll', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db.close()
  })

  it('empties a table created after its first call, and still works once it is dropped', async () => {
    await truncateAll(db.knex)
    await db.knex.schema.createTable('late_table', (t) => {
      t.increments('id')
      t.text('v')
    })
    await db.knex('late_table').insert({ v: 'a' })
    await truncateAll(db.knex)
    expect(Number((await db.knex('late_table').count({ n: '*' }))[0]?.n)).toBe(0)
    // Its sequence starts again too.
    expect(await db.knex('late_table').insert({ v: 'b' }).returning('id')).toEqual([{ id: 1 }])
    await db.knex.schema.dropTable('late_table')
    await truncateAll(db.knex)
  })
})
