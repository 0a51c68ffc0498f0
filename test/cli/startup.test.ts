import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { childEnv, run, startServe, waitFor } from '../support/serve.ts'

/**
 * What `inviteops` loads, in real processes of the build (bin/inviteops.js → dist/), each with a
 * preload that records every module it loads (test/support/import-recorder.mjs). `--help` and a
 * usage error answer from the light entry; `serve` without Slack, Teams or SES loads none of their
 * SDKs. A static import added on one of these paths makes the package show up here.
 */

const RECORDER = join(import.meta.dirname, '../support/import-recorder.mjs')

let dir: string
let runs = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inviteops-startup-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Variables that would switch an adapter on: none of them reaches these processes. */
const ADAPTER_VARIABLES = Object.keys(process.env).filter((n) => /^(SLACK_|MICROSOFT_APP_|TEAMS_|SES_|AWS_|EMAIL_TRANSPORT$)/.test(n))

function recordedEnv(file: string, vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return childEnv({ IMPORT_RECORDER_FILE: file, LOG_LEVEL: 'warn', ...vars }, ADAPTER_VARIABLES)
}

async function loaded(file: string): Promise<string[]> {
  return [...new Set((await readFile(file, 'utf8')).split('\n').filter((l) => l !== ''))]
}

/** The npm packages among the modules, by name (`@slack/bolt`, `knex`). */
function packages(modules: string[]): string[] {
  const names = new Set<string>()
  for (const m of modules) {
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)
    if (match) names.add(match[1]!)
  }
  return [...names].sort()
}

/** The modules of this repository's build, from `dist/` on (`dist/adapters/cli/main.js`). */
function buildModules(modules: string[]): string[] {
  return modules.flatMap((m) => /\/dist\/((?:src|adapters|migrations)\/.*)$/.exec(m)?.slice(1) ?? []).map((m) => `dist/${m}`)
}

async function inviteops(...args: string[]): Promise<{ code: number | null; out: string; err: string; modules: string[] }> {
  const file = join(dir, `run-${++runs}.txt`)
  const r = await run(args, recordedEnv(file, { DATA_DIR: join(dir, 'unused') }), { nodeArgs: ['--import', RECORDER] })
  return { ...r, modules: await loaded(file) }
}

describe('help and usage errors load no package but zod', () => {
  test.each([
    [['--help'], 0, 'Usage:\n  inviteops serve'],
    [[], 2, 'Usage:\n  inviteops serve'],
    [['accounts', 'list', '--help'], 0, 'Usage: inviteops accounts list [--json]'],
    [['webhooks', 'add', '-h'], 0, 'Sends the account'],
  ])('inviteops %j: no package at all, only the CLI entry of the build', async (args, code, text) => {
    const r = await inviteops(...args)
    expect(r.code).toBe(code)
    expect(r.out).toContain(text)
    // The recorder saw the process (else an empty list would pass anything).
    expect(buildModules(r.modules)).toContain('dist/adapters/cli/main.js')
    expect(packages(r.modules)).toEqual([])
    expect(buildModules(r.modules).filter((m) => !/^dist\/(adapters\/cli\/(main|args)\.js|src\/(shared|installations|webhooks)\/)/.test(m))).toEqual([])
  })

  test('an unknown command: the usage, and nothing else loaded', async () => {
    const r = await inviteops('acounts', 'list')
    expect(r.code).toBe(2)
    expect(r.err).toContain('Unknown command "acounts list"')
    expect(packages(r.modules)).toEqual([])
  })

  test.each([
    [['serve', '--bogus'], "Unknown option '--bogus'"],
    [['accounts', 'create', '--admin', 'a@example.com'], '--name is required'],
    [['slack', 'connect', '--team', 'nope', '--account', 'Acme'], '--team: a Slack team id looks like T0123ABCD'],
    [['webhooks', 'test', 'not-an-id'], '"not-an-id" is not an endpoint id'],
  ])('usage error %j: exit 2, the environment checked with zod, no database, no server, no chat SDK', async (args, message) => {
    const r = await inviteops(...args)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
    expect(buildModules(r.modules)).toContain('dist/adapters/server/environment.js')
    expect(packages(r.modules)).toEqual(['zod'])
    expect(buildModules(r.modules).filter((m) => /^dist\/(adapters\/(web|api\/router|server\/start|cli\/commands)|src\/db)\//.test(m) || m.includes('/router'))).toEqual([])
  })
})

describe('serve without Slack, Teams or SES', () => {
  let db: TestDatabase | undefined

  afterAll(async () => {
    await db?.close()
  })

  test('loads no Slack, Bot Framework or AWS code, and answers /readyz', async () => {
    const file = join(dir, 'serve.txt')
    // On DATABASE_URL's server when the run has one, else embedded in a data directory of its own.
    if (process.env.DATABASE_URL) db = await createTestDatabase()
    const env = recordedEnv(file, { DATA_DIR: join(dir, 'data'), PORT: '0', ...(db ? { DATABASE_URL: db.url } : {}) })
    const serve = await startServe(env, { nodeArgs: ['--import', RECORDER] })
    try {
      const url = /InviteOps is running on (http:\/\/\S+) /.exec(serve.stderr)?.[1]
      expect(url, serve.detail()).toBeDefined()
      await waitFor('/readyz to answer 200', async () => ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) })).status === 200 ? true : undefined), { detail: serve.detail })
    } finally {
      serve.process.kill('SIGTERM')
      await new Promise((resolve) => (serve.process.exitCode !== null ? resolve(undefined) : serve.process.once('exit', resolve)))
    }
    expect(serve.process.exitCode, serve.detail()).toBe(0)
    const modules = await loaded(file)
    const used = packages(modules)
    // What a server needs was seen, including what a CommonJS package requires itself (knex → lodash).
    expect(used).toEqual(expect.arrayContaining(['express', 'knex', 'lodash', 'pino']))
    expect(used.filter((p) => /^(@slack\/|botbuilder|botframework|@azure\/|@aws-sdk\/|@smithy\/)/.test(p))).toEqual([])
    expect(buildModules(modules).filter((m) => /^dist\/adapters\/(slack|teams)\/(?!config\.js$)|^dist\/adapters\/email\/(ses|sns)/.test(m))).toEqual([])
  }, 120_000)
})

test('stack traces of the build name the TypeScript lines (source maps are on)', async () => {
  // A console.log that throws makes `inviteops --help` fail inside the compiled CLI entry; with
  // LOG_LEVEL=debug the CLI prints the stack.
  const preload = `data:text/javascript,${encodeURIComponent('console.log = () => { throw new Error("stdout refused") }')}`
  const r = await run(['--help'], childEnv({ LOG_LEVEL: 'debug' }), { nodeArgs: ['--import', preload] })
  expect(r.code).toBe(1)
  expect(r.err).toContain('inviteops: Error: stdout refused')
  const source = readFileSync(join(import.meta.dirname, '../../adapters/cli/main.ts'), 'utf8').split('\n')
  const line = source.findIndex((l) => l.includes('io.out(`Usage:\\n  ${ALL_USAGE}`)')) + 1
  expect(line).toBeGreaterThan(0)
  expect(r.err).toContain(`/adapters/cli/main.ts:${line}:`)
  expect(r.err).not.toContain('/dist/adapters/cli/main.js')
})
