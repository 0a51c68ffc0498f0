import { randomBytes } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'
import { openDatabase } from '../../src/db/open-database.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { readTemplate, TEMPLATE_ENV } from '../../src/db/template.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { migrations } from '../../migrations/index.ts'

/** Set by test/support/global-setup.ts with DATABASE_URL: the migrated database files copy. */
const TEMPLATE_DATABASE_ENV = 'INVITEOPS_TEST_TEMPLATE_DATABASE'

export interface TestDatabase {
  knex: Knex
  /** `postgres` when DATABASE_URL named a server, `embedded` for PGlite in memory. */
  kind: 'postgres' | 'embedded'
  /** A URL other processes (a child worker, a benchmark) can connect to. */
  url: string
  close(): Promise<void>
}

let pgliteTemplate: Promise<Blob | null> | undefined

/**
 * The run's PGlite template (global-setup.ts), read once per test process, if it holds every
 * migration of this code. Null without one (a file run outside the configured global setup):
 * then the file runs initdb and the migrations itself, as slow as before but just as correct.
 */
function migratedPgliteTemplate(): Promise<Blob | null> {
  pgliteTemplate ??= (async () => {
    const file = process.env[TEMPLATE_ENV]
    if (!file) return null
    const read = await readTemplate(file)
    if (!read.ok || read.info.migrations.length !== migrations.length) return null
    return read.blob
  })()
  return pgliteTemplate
}

/**
 * A database of its own for one test file, so test files run in parallel without sharing rows:
 * PGlite in memory by default, or a fresh database on the server named by DATABASE_URL (created
 * here, dropped on close). Migrated by default, by copying the run's migrated template (no initdb,
 * no migrations per file); `migrate: false` gives an empty database (the migration tests).
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const migrate = opts.migrate ?? true
  const serverUrl = process.env.DATABASE_URL
  let db: TestDatabase
  let migrated = false
  if (serverUrl) {
    // The pid names the process that made it: a run killed before its files closed leaves these
    // behind, and the next run's global setup drops those whose process is gone.
    const name = `inviteops_test_${process.pid}_${randomBytes(6).toString('hex')}`
    const template = migrate ? process.env[TEMPLATE_DATABASE_ENV] : undefined
    const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } })
    await admin.raw(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`)
    migrated = template !== undefined
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
    const template = migrate ? await migratedPgliteTemplate() : null
    const opened = await openDatabase({ memory: true, logger: silentLogger, ...(template ? { memoryTemplate: template } : {}) })
    migrated = template !== null
    db = { knex: opened.knex, kind: 'embedded', url: opened.url, close: opened.close }
  }
  if (migrate && !migrated) await migrateLatest(db.knex)
  return db
}

/**
 * Per database: the one statement that empties it, and the tables it was made for (tablesKey). A
 * test may create or drop tables (a migration test, a table of its own), so each call compares that
 * key first — one small catalog query — and makes the statement again when it changed.
 */
const emptyStatements = new WeakMap<Knex, { key: string; statement: Promise<string | null> }>()

/** The current schema's tables, as their oids: any table created or dropped changes it. */
async function tablesKey(knex: Knex): Promise<string> {
  const { rows } = (await knex.raw(
    `SELECT count(*)::int AS n, coalesce(sum(c.oid::int8), 0)::text AS s FROM pg_class c
      WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace`,
  )) as { rows: { n: number; s: string }[] }
  return `${rows[0]?.n}:${rows[0]?.s}`
}

/**
 * DELETE, children before parents, then every table's sequence back to 1: what TRUNCATE …
 * RESTART IDENTITY CASCADE does, but measured at 2–3 ms against TRUNCATE's 20–90 ms on these
 * few-row tables (TRUNCATE makes new files for every table; DELETE touches only the rows there
 * are). If the foreign keys ever form a cycle, no such order exists: then TRUNCATE, in one statement.
 */
async function emptyStatement(knex: Knex): Promise<string | null> {
  const tables = (
    (await knex.raw(
      `SELECT c.oid::int AS oid, quote_ident(c.relname) AS name FROM pg_class c
        WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace
          AND c.relname NOT LIKE 'knex_migrations%' AND NOT c.relispartition ORDER BY c.relname`,
    )) as { rows: { oid: number; name: string }[] }
  ).rows
  if (tables.length === 0) return null
  const references = (
    (await knex.raw(`SELECT conrelid::int AS child, confrelid::int AS parent FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid`)) as {
      rows: { child: number; parent: number }[]
    }
  ).rows
  const sequences = (
    (await knex.raw(
      `SELECT quote_literal(quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename)) AS name FROM pg_sequences s
        WHERE s.schemaname = current_schema() AND s.sequencename NOT LIKE 'knex_migrations%' ORDER BY s.sequencename`,
    )) as { rows: { name: string }[] }
  ).rows
  // children first: a table is deleted once every table referencing it has been
  const known = new Set(tables.map((t) => t.oid))
  const referencedBy = new Map<number, Set<number>>()
  for (const { child, parent } of references) {
    if (!known.has(child) || !known.has(parent)) continue
    const set = referencedBy.get(parent) ?? new Set<number>()
    set.add(child)
    referencedBy.set(parent, set)
  }
  const order: string[] = []
  const done = new Set<number>()
  while (done.size < tables.length) {
    const ready = tables.filter((t) => !done.has(t.oid) && [...(referencedBy.get(t.oid) ?? [])].every((c) => done.has(c)))
    if (ready.length === 0) return `TRUNCATE TABLE ${tables.map((t) => t.name).join(', ')} RESTART IDENTITY CASCADE`
    for (const t of ready) {
      done.add(t.oid)
      order.push(`DELETE FROM ${t.name};`)
    }
  }
  const restart = sequences.length > 0 ? ` SELECT ${sequences.map((s) => `setval(${s.name}, 1, false)`).join(', ')};` : ''
  return `${order.join(' ')}${restart}`
}

/** Empty every table but knex's bookkeeping (between tests in one file), keeping the schema. */
export async function truncateAll(knex: Knex): Promise<void> {
  const key = await tablesKey(knex)
  let cached = emptyStatements.get(knex)
  if (!cached || cached.key !== key) {
    const entry = { key, statement: emptyStatement(knex) }
    emptyStatements.set(knex, entry)
    // A failed read is not cached: the next call reads again.
    entry.statement.catch(() => {
      if (emptyStatements.get(knex) === entry) emptyStatements.delete(knex)
    })
    cached = entry
  }
  const sql = await cached.statement
  if (sql) await knex.raw(sql)
}
