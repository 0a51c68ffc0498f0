/**
 * The lifecycle hooks most database test files share: a migrated database of the file's own
 * (PGlite in memory, or a fresh database on DATABASE_URL's server), emptied before each test and
 * seeded with one account whose administrator is Active.
 */
import nock from 'nock'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
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

/**
 * The hooks every chat-route test file shares: a database of its own, the network closed but for
 * loopback (the platform's hosts are played by nock), tables emptied before each test, and, when
 * `onHarness` is given, a fresh harness per test from `start`, closed after it.
 */
export function useRouteTests<H extends { close(): Promise<void> }>(
  start: (db: TestDatabase) => Promise<H>,
  opts: { onDatabase?: (db: TestDatabase) => void; onHarness?: (h: H) => void },
): void {
  let db: TestDatabase
  let harness: H | undefined
  beforeAll(async () => {
    db = await createTestDatabase()
    opts.onDatabase?.(db)
    nock.disableNetConnect()
    nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'))
  })
  afterAll(async () => {
    nock.enableNetConnect()
    await db.close()
  })
  beforeEach(async () => {
    await truncateAll(db.knex)
    if (opts.onHarness) {
      harness = await start(db)
      opts.onHarness(harness)
    }
  })
  afterEach(async () => {
    await harness?.close()
    harness = undefined
    nock.cleanAll()
  })
}
