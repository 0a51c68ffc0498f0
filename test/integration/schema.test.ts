import { afterAll, beforeAll, expect, test } from 'vitest'
import { migrateLatest, rollbackAll } from '../../src/db/migrate.ts'
import { migrations } from '../../migrations/index.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false })
})
afterAll(async () => db.close())

async function tables(): Promise<string[]> {
  const r = await db.knex.raw<{ rows: { tablename: string }[] }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'knex_%' ORDER BY 1`)
  return r.rows.map((x) => x.tablename)
}

test('migrate latest → rollback all → latest, on this database', async () => {
  expect(await migrateLatest(db.knex)).toEqual(migrations.map(([name]) => name))
  const created = await tables()
  for (const t of ['accounts', 'groups', 'users', 'user_groups', 'invitations', 'audit_log', 'email_outbox', 'chat_connections', 'account_events', 'slack_installations']) expect(created).toContain(t)
  expect((await rollbackAll(db.knex)).length).toBe(migrations.length)
  expect(await tables()).toEqual([])
  expect(await migrateLatest(db.knex)).toHaveLength(migrations.length)
  expect(await tables()).toEqual(created)
  expect(await migrateLatest(db.knex)).toEqual([])
})

test('the database itself holds the invariants', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const { user } = await inviteUser(deps, seed, 'bob@x.test')
  const base = { account_id: seed.account.id, status: 'invited', created_at: new Date(), updated_at: new Date() }
  // one membership per email per account
  await expect(db.knex('users').insert({ ...base, email: 'bob@x.test' })).rejects.toThrow(/users_account_email_key/)
  // emails are stored normalised
  await expect(db.knex('users').insert({ ...base, email: 'Eve@x.test' })).rejects.toThrow(/check/i)
  await expect(db.knex('users').insert({ ...base, email: 'a@x.test,b@x.test' })).rejects.toThrow(/check/i)
  // one pending invitation per user
  const inv = await db.knex('invitations').where({ user_id: user.id }).first()
  await expect(
    db.knex('invitations').insert({ ...inv, id: undefined, link_id: 'f'.repeat(32), token_hash: 'other' }),
  ).rejects.toThrow(/invitations_one_pending_per_user/)
  // pending invitations by expiry (the `expired` filter of the list) come from an index, not the table
  // (a tiny table is always cheapest to scan, so ask the planner what it would do without scans;
  // SET LOCAL in a transaction keeps the setting and the EXPLAIN on one connection)
  const plan = await db.knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off')
    return trx.raw<{ rows: Record<string, string>[] }>(`EXPLAIN SELECT id FROM invitations WHERE state = 'pending' AND expires_at <= now() ORDER BY expires_at`)
  })
  expect(JSON.stringify(plan.rows)).toContain('invitations_pending_expiry_idx')
})
