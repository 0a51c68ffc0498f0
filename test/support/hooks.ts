/**
 * The lifecycle hooks most database test files share: a migrated database of the file's own
 * (PGlite in memory, or a fresh database on DATABASE_URL's server), emptied before each test and
 * seeded with one account whose administrator is Active.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { createTestDatabase, truncateAll, type TestDatabase } from './db.ts'
import { makeDeps, seedAccount, type SeededAccount, type TestDeps } from './factories.ts'

export interface SeededDatabase {
  db: TestDatabase
  /** Fresh for each test (its clock starts at TEST_NOW). */
  deps: TestDeps
  seed: SeededAccount
}

/**
 * Registers the hooks; `use` receives the database, deps and seed before each test (assign them
 * to the file's variables). `makeDepsOptions` goes to `makeDeps` (a logger to inspect, say).
 */
export function useSeededDatabase(use: (t: SeededDatabase) => void, opts: { makeDepsOptions?: () => Parameters<typeof makeDeps>[1] } = {}): void {
  let db: TestDatabase | undefined
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.close()
  })
  beforeEach(async () => {
    if (!db) throw new Error('the test database did not start')
    await truncateAll(db.knex)
    const deps = makeDeps(db.knex, opts.makeDepsOptions?.())
    const seed = await seedAccount(deps)
    use({ db, deps, seed })
  })
}
