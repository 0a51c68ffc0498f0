import { afterAll, beforeAll, expect, test } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

test('smoke', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const { user, url } = await inviteUser(deps, seed, 'bob@x.test')
  expect(user.status).toBe('invited')
  expect(url).toMatch(/^http:\/\/invite\.test\/invitations\/[A-Za-z0-9_-]{43}$/)
})
