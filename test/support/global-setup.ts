/**
 * Once per test run (vitest `globalSetup`): the prepared databases every test file clones instead
 * of running initdb and the migrations itself.
 *
 * - PGlite: a template tarball (src/db/template.ts) in node_modules/.cache/inviteops, named by a
 *   hash of the migrations' sources, the template code and the PGlite version, so it is rebuilt
 *   exactly when one of them changes and reused across runs otherwise. Its path goes to the test
 *   processes in INVITEOPS_PGLITE_TEMPLATE, which `serve` started by a test reads as well, so a
 *   test's fresh DATA_DIR starts from it too.
 * - Postgres (DATABASE_URL): one migrated database for this run, which each file copies with
 *   CREATE DATABASE … TEMPLATE (test/support/db.ts); dropped at the end of the run.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import knexFactory, { type Knex } from 'knex'
import { migrateLatest } from '../../src/db/migrate.ts'
import { readTemplate, sourceKey, TEMPLATE_ENV, writeTemplate } from '../../src/db/template.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cacheDir = join(root, 'node_modules', '.cache', 'inviteops')

/** Set for the test processes: the migrated Postgres database to copy (only with DATABASE_URL). */
export const TEMPLATE_DATABASE_ENV = 'INVITEOPS_TEST_TEMPLATE_DATABASE'

async function preparePgliteTemplate(key: string): Promise<string> {
  const file = join(cacheDir, `pglite-template-${key}.tar`)
  if (!(await readTemplate(file)).ok) await writeTemplate(file, { sourceKey: key })
  // Templates of older migrations: kept a day (another checkout's run may still read one), then removed.
  const dayAgo = Date.now() - 86_400_000
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith('pglite-template-') || name.startsWith(`pglite-template-${key}`)) continue
    const path = join(cacheDir, name)
    const info = await stat(path).catch(() => null)
    if (info && info.mtimeMs < dayAgo) await rm(path, { force: true })
  }
  return file
}

/**
 * The databases a run makes (this template; each file's copy, test/support/db.ts) carry the pid of
 * the process that made them. A run that is killed drops none of them; so each run drops those
 * whose process is no longer alive. Only for a server on this machine: another machine's pids say
 * nothing here. A database another run still uses has a live pid and is left alone.
 */
const LEFTOVER_NAMES = [/^inviteops_tmpl_[0-9a-f]{8}_(\d+)_[0-9a-f]{6}$/, /^inviteops_test_(\d+)_[0-9a-f]{12}$/]

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

async function dropLeftoverDatabases(admin: Knex, serverUrl: string): Promise<void> {
  if (!['localhost', '127.0.0.1', '[::1]'].includes(new URL(serverUrl).hostname)) return
  const { rows } = (await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE 'inviteops%'`)) as { rows: { datname: string }[] }
  for (const { datname } of rows) {
    const pid = LEFTOVER_NAMES.map((re) => re.exec(datname)?.[1]).find((p) => p !== undefined)
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue
    try {
      await admin.raw(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    } catch (err) {
      // Not this run's to fail for: another run may be dropping it at the same moment.
      console.warn(`global setup: could not drop the leftover database ${datname}: ${(err as Error).message}`)
    }
  }
}

async function preparePostgresTemplate(serverUrl: string, key: string): Promise<() => Promise<void>> {
  const name = `inviteops_tmpl_${key.slice(0, 8)}_${process.pid}_${randomBytes(3).toString('hex')}`
  const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } })
  await dropLeftoverDatabases(admin, serverUrl)
  await admin.raw(`CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const knex = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } })
  try {
    await migrateLatest(knex)
  } finally {
    // CREATE DATABASE … TEMPLATE refuses while anyone is connected to the template: close ours now.
    await knex.destroy()
  }
  process.env[TEMPLATE_DATABASE_ENV] = name
  return async () => {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.destroy()
  }
}

/**
 * The tests that spawn `bin/inviteops.js` run the build in dist/, as `npm start` does. `npm test`
 * builds first; this also covers `npx vitest run <file>` after an edit (a few tens of milliseconds
 * when nothing changed), so no test runs yesterday's build.
 */
function buildDist(): void {
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`npm run build failed before the tests:\n${built.stdout}${built.stderr}`)
}

export default async function setup(): Promise<() => Promise<void>> {
  buildDist()
  const key = await sourceKey()
  const file = await preparePgliteTemplate(key)
  process.env[TEMPLATE_ENV] = file
  const serverUrl = process.env.DATABASE_URL
  const dropPostgresTemplate = serverUrl ? await preparePostgresTemplate(serverUrl, key) : null
  return async () => {
    await dropPostgresTemplate?.()
  }
}


