/**
 * The CLI tests' harness: `inviteops` run in-process (`main`) on a database of the file's own
 * (PGlite in memory, or a fresh database on DATABASE_URL's server) with a data directory of its
 * own, capturing what it prints.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { main } from '../../adapters/cli/main.ts'
import { createTestDatabase, type TestDatabase } from './db.ts'

/** What one run printed and how it ended. */
export interface CliRun {
  code: number
  out: string
  err: string
}

/** Run `inviteops <argv>` in-process with `env` as its environment. */
export async function runCli(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliRun> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, env)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

export interface CliDatabase {
  db: TestDatabase
  dataDir: string
  /** DATABASE_URL, DATA_DIR, LOG_LEVEL=silent, and the file's own variables. */
  env: NodeJS.ProcessEnv
}

/**
 * Registers the file's hooks: before all tests a database and a data directory (`use` receives
 * them: assign them to the file's variables), after all they are closed and removed.
 */
export function useCliDatabase(use: (t: CliDatabase) => void, opts: { dirPrefix: string; env?: Record<string, string> }): void {
  let t: CliDatabase | undefined
  beforeAll(async () => {
    const db = await createTestDatabase()
    const dataDir = await mkdtemp(join(tmpdir(), opts.dirPrefix))
    t = { db, dataDir, env: { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...opts.env } }
    use(t)
  })
  afterAll(async () => {
    await t?.db.close()
    if (t) await rm(t.dataDir, { recursive: true, force: true })
  })
}
