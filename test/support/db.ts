import { randomBytes } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'
import { openDatabase } from '../../src/db/open-database.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { silentLogger } from '../../src/ports/logger.ts'

export interface TestDatabase {
  knex: Knex
  /** `postgres` when DATABASE_URL named a server, `embedded` for PGlite in memory. */
  kind: 'postgres' | 'embedded'
  /** A URL other processes (a child worker, a benchmark) can connect to. */
  url: string
  close(): Promise<void>
}

/**
 * A migrated database of its own for one test file: PGlite in memory by default, or a fresh
 * database on the server named by DATABASE_URL (created here, dropped on close), so test files
 * run in parallel without sharing rows.
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL
  let db: TestDatabase
  if (serverUrl) {
    const name = `inviteops_test_${randomBytes(6).toString('hex')}`
    const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } })
    await admin.raw(`CREATE DATABASE ${name}`)
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    const knex = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 10 } })
    db = {
      knex,
      kind: 'postgres',
      url: url.toString(),
      close: async () => {
        await knex.destroy()
        await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await admin.destroy()
      },
    }
  } else {
    const opened = await openDatabase({ memory: true, logger: silentLogger })
    db = { knex: opened.knex, kind: 'embedded', url: opened.url, close: opened.close }
  }
  if (opts.migrate ?? true) await migrateLatest(db.knex)
  return db
}

/** Empty every table (between tests in one file), keeping the schema. */
export async function truncateAll(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'knex_migrations%' LOOP
        EXECUTE 'TRUNCATE TABLE ' || quote_ident(r.tablename) || ' RESTART IDENTITY CASCADE';
      END LOOP;
    END $$;
  `)
}
