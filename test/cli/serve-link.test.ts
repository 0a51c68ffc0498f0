import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'

/**
 * What a newcomer does: `PORT=4000 npm start` in one terminal, `npx inviteops run … link` in
 * another, whose environment has no PORT. Real processes on embedded PGlite under a fresh DATA_DIR.
 */
const BIN = join(import.meta.dirname, '../../bin/inviteops.js')
let dataDir: string
let port: number
let server: ChildProcessWithoutNullStreams
let stdout = ''
let stderr = ''

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
    s.once('error', reject)
  })
}

/** The environment of a fresh terminal: DATA_DIR only, so the CLI's own default would be port 3000. */
function terminalEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra }
  for (const name of ['DATABASE_URL', 'NODE_ENV', 'PUBLIC_BASE_URL', ...(extra.PORT ? [] : ['PORT'])]) delete env[name]
  return env
}

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: terminalEnv() })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('close', (code) => resolve({ code, out, err }))
  })
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 90_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-serve-link-'))
  do port = await freePort()
  while (port === 3000) // the CLI's own default: the test would prove nothing
  server = spawn(process.execPath, [BIN, 'serve'], { env: terminalEnv({ PORT: String(port) }) })
  server.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  await waitFor('the server to be ready', () => (stderr.includes('InviteOps is running on') ? true : server.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined))
}, 120_000)

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

const as = ['run', '--account', 'Acme', '--as', 'alice@acme.test', '--']
let printed = ''

test('the CLI prints the running server\'s links (its PORT, not the CLI\'s), the same one its email carries', async () => {
  expect((await run(['accounts', 'create', '--name', 'Acme', '--admin', 'alice@acme.test'])).code).toBe(0)
  expect((await run([...as, 'add', 'bob@acme.test', '--name', 'Bob Smith'])).code).toBe(0)
  const link = await run([...as, 'link', 'bob@acme.test'])
  expect(link.code).toBe(0)
  expect(link.err).not.toContain('guess')
  printed = link.out.split('\n')[0]!
  expect(printed).toMatch(new RegExp(`^http://localhost:${port}/invitations/[A-Za-z0-9_-]{43}$`))
  const token = printed.split('/invitations/')[1]!
  expect((await fetch(`http://127.0.0.1:${port}/invitations/${token}`)).status).toBe(200)

  const outbox = join(dataDir, 'outbox')
  const file = await waitFor('the email', async () => (existsSync(outbox) ? (await readdir(outbox)).find((n) => n.endsWith('.eml')) : undefined))
  // `grep -r invitations .data/outbox` finds the very link the CLI printed, whole.
  expect(await readFile(join(outbox, file), 'utf8')).toMatch(new RegExp(`^Accept or decline: ${printed.replace(/[/.]/g, '\\$&')}$`, 'm'))
})

test('after the server stopped, the CLI still prints the base that server recorded', async () => {
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
  server.kill('SIGTERM')
  expect(await exited).toBe(0)
  const link = await run([...as, 'link', 'bob@acme.test'])
  expect(link).toMatchObject({ code: 0, err: '' })
  expect(link.out).toMatch(new RegExp(`^http://localhost:${port}/invitations/`))
  expect(link.out.split('\n')[0]).toBe(printed)
})
