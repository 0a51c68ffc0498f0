import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { ownEmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import { pgliteOptions } from '../../src/db/pglite-server.ts'
import { readTemplate, sidecarPath, TEMPLATE_ENV } from '../../src/db/template.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { migrations } from '../../migrations/index.ts'

/**
 * A fresh DATA_DIR starts from the prepared, migrated template (test/support/global-setup.ts made
 * this run's), falls back to initdb when the template cannot be used, and survives a first start
 * that stopped halfway. The template holds nothing of an instance.
 */
const INITDB_TIMEOUT = 120_000

function runTemplate(): string {
  const file = process.env[TEMPLATE_ENV]
  if (!file) throw new Error(`${TEMPLATE_ENV} is not set: run through vitest.config.ts (its globalSetup makes the template)`)
  return file
}

interface LogLine {
  level: string
  obj: object | string
  msg: string | undefined
}
function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, obj, msg })
    }
  const logger: Logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger }
  return logger
}

async function appliedMigrations(url: string): Promise<number> {
  const db = await openDatabase({ databaseUrl: url, logger: recordingLogger([]) })
  try {
    if (!(await db.knex.schema.hasTable('knex_migrations'))) return 0
    const { rows } = await db.knex.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM knex_migrations`)
    return rows[0]?.n ?? -1
  } finally {
    await db.close()
  }
}

let dataDir: string
let work: string
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'inviteops-template-'))
  dataDir = join(work, 'data')
})
afterEach(async () => {
  await rm(work, { recursive: true, force: true })
})

test('a fresh DATA_DIR starts from the template, already migrated, and keeps its data across a restart', async () => {
  const lines: LogLine[] = []
  const first = await ownEmbeddedDatabase(dataDir, recordingLogger(lines), { template: runTemplate() })
  try {
    // before anything ran migrations, knex's bookkeeping already lists every one
    expect(await appliedMigrations(first.url)).toBe(migrations.length)
    const db = await openDatabase({ databaseUrl: first.url, logger: recordingLogger([]) })
    expect(await migrateLatest(db.knex)).toEqual([])
    await db.knex('instance_settings').insert({ key: 'public_base_url', value: 'http://kept.test', updated_at: new Date() })
    await db.close()
  } finally {
    await first.close()
  }
  expect(lines.map((l) => l.msg)).toContain('embedded database created from the prepared template')
  expect(existsSync(join(dataDir, 'pgdata.creating'))).toBe(false)

  const again: LogLine[] = []
  const second = await ownEmbeddedDatabase(dataDir, recordingLogger(again), { template: runTemplate() })
  try {
    const db = await openDatabase({ databaseUrl: second.url, logger: recordingLogger([]) })
    expect(await db.knex('instance_settings').select('key', 'value')).toEqual([{ key: 'public_base_url', value: 'http://kept.test' }])
    await db.close()
  } finally {
    await second.close()
  }
  // an existing database is opened, not made again
  expect(again).toEqual([])
})

test('the template holds no rows but the migration bookkeeping (no secret, no instance settings)', async () => {
  const read = await readTemplate(runTemplate())
  if (!read.ok) throw new Error(read.reason)
  const db = await PGlite.create({ ...pgliteOptions(), loadDataDir: read.blob })
  try {
    const tables = (
      await db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
    ).rows.map((r) => r.name)
    expect(tables).toContain('instance_settings')
    const counts: Record<string, number> = {}
    for (const name of tables) {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`)
      counts[name] = rows[0]?.n ?? -1
    }
    const expected = Object.fromEntries(tables.map((name) => [name, 0]))
    expected.knex_migrations = migrations.length
    expected.knex_migrations_lock = 1
    // the send gate's one row is schema, made by its migration on every database (its singleton)
    expected.email_send_gate = 1
    expect(counts).toEqual(expected)
    expect((await db.query(`SELECT is_locked FROM knex_migrations_lock`)).rows).toEqual([{ is_locked: 0 }])
    expect((await db.query(`SELECT id FROM email_send_gate`)).rows).toEqual([{ id: 1 }])
    // nothing but the cluster's own databases either
    expect((await db.query<{ datname: string }>(`SELECT datname FROM pg_database ORDER BY datname`)).rows.map((r) => r.datname)).toEqual([
      'postgres',
      'template0',
      'template1',
    ])
  } finally {
    await db.close()
  }
  expect(read.info.migrations).toEqual(migrations.map(([name]) => name))
})

// Every way a template can be unusable takes the same branch of the first start (log the reason, run
// initdb): one case goes through a whole start (initdb takes seconds), the others check the reason.
test('without a template the first start falls back to initdb and says why', { timeout: INITDB_TIMEOUT }, async () => {
  const lines: LogLine[] = []
  const server = await ownEmbeddedDatabase(dataDir, recordingLogger(lines), { template: join(work, 'absent.tar') })
  try {
    expect(await appliedMigrations(server.url)).toBe(0)
  } finally {
    await server.close()
  }
  const fallback = lines.find((l) => l.msg?.startsWith('no usable prepared template'))
  expect(fallback?.level).toBe('info')
  expect(JSON.stringify(fallback?.obj)).toMatch(/no template at/)
})

test.each([
  [
    'a template made with another PGlite version',
    async () => {
      const file = join(work, 'other.tar')
      await writeFile(file, await readFile(runTemplate()))
      const info = JSON.parse(await readFile(sidecarPath(runTemplate()), 'utf8')) as Record<string, unknown>
      await writeFile(sidecarPath(file), JSON.stringify({ ...info, pgliteVersion: '0.0.1' }))
      return file
    },
    /made with PGlite 0\.0\.1/,
  ],
  [
    'a truncated template',
    async () => {
      const file = join(work, 'short.tar')
      await writeFile(file, (await readFile(runTemplate())).subarray(0, 1_000_000))
      await writeFile(sidecarPath(file), await readFile(sidecarPath(runTemplate())))
      return file
    },
    /incomplete/,
  ],
  [
    // damaged, but its description is intact: caught by the hash before PGlite unpacks anything
    'a template of the right size whose bytes are not the ones described',
    async () => {
      const file = join(work, 'garbage.tar')
      const size = (await readFile(runTemplate())).byteLength
      await writeFile(file, Buffer.alloc(size, 0x5a))
      await writeFile(sidecarPath(file), await readFile(sidecarPath(runTemplate())))
      return file
    },
    /is damaged/,
  ],
  [
    'a template with an unreadable description',
    async () => {
      const file = join(work, 'nodesc.tar')
      await writeFile(file, await readFile(runTemplate()))
      await writeFile(sidecarPath(file), '{not json')
      return file
    },
    /description .* is (not valid|unreadable)/,
  ],
])('%s is refused, with the reason the first start logs', async (_label, make, reason) => {
  const read = await readTemplate(await make())
  expect(read.ok).toBe(false)
  expect(read.ok ? '' : read.reason).toMatch(reason)
})

test('a template PGlite cannot start from falls back to initdb and says why', { timeout: INITDB_TIMEOUT }, async () => {
  // a well-formed tar (hash and description match) that holds no data directory
  const { createHash } = await import('node:crypto')
  const tar = Buffer.alloc(10240)
  tar.write('pgdata/note.txt', 0)
  tar.write('0000644\0', 100)
  tar.write('00000000000\0', 124)
  tar.write('ustar\0', 257)
  const file = join(work, 'empty.tar')
  await writeFile(file, tar)
  const info = JSON.parse(await readFile(sidecarPath(runTemplate()), 'utf8')) as Record<string, unknown>
  await writeFile(sidecarPath(file), JSON.stringify({ ...info, bytes: tar.byteLength, sha256: createHash('sha256').update(tar).digest('hex') }))
  const lines: LogLine[] = []
  const server = await ownEmbeddedDatabase(dataDir, recordingLogger(lines), { template: file })
  try {
    expect(await appliedMigrations(server.url)).toBe(0)
  } finally {
    await server.close()
  }
  expect(lines.some((l) => l.level === 'info' && l.msg?.startsWith('the prepared template could not be loaded'))).toBe(true)
})

test('a first start that stopped halfway (marker left, pgdata half-written) is made again on the next start', async () => {
  await mkdir(join(dataDir, 'pgdata', 'base'), { recursive: true })
  await writeFile(join(dataDir, 'pgdata', 'PG_VERSION'), '17\n')
  await writeFile(join(dataDir, 'pgdata', 'base', 'half'), 'x')
  await writeFile(join(dataDir, 'pgdata.creating'), '12345\n')
  const lines: LogLine[] = []
  const server = await ownEmbeddedDatabase(dataDir, recordingLogger(lines), { template: runTemplate() })
  try {
    expect(await appliedMigrations(server.url)).toBe(migrations.length)
  } finally {
    await server.close()
  }
  expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/stopped before the embedded database was complete/)
  expect(existsSync(join(dataDir, 'pgdata', 'base', 'half'))).toBe(false)
  expect(existsSync(join(dataDir, 'pgdata.creating'))).toBe(false)
})
