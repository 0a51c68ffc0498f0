import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { childEnv, freePort, run, startServe, waitFor, type ServeProcess } from '../support/serve.ts'

/**
 * What a newcomer does: `PORT=4000 npm start` in one terminal, `npx inviteops run … link` in
 * another, whose environment has no PORT. Real processes on embedded PGlite under a fresh DATA_DIR.
 */
let dataDir: string
let port: number
let serve: ServeProcess

/** The environment of a fresh terminal: DATA_DIR only, so the CLI's own default would be port 3000. */
const terminalEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  childEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra }, ['PUBLIC_BASE_URL', ...(extra.PORT ? [] : ['PORT'])])

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-serve-link-'))
  do port = await freePort()
  while (port === 3000) // the CLI's own default: the test would prove nothing
  serve = await startServe(terminalEnv({ PORT: String(port) }))
}, 120_000)

afterAll(async () => {
  if (serve.process.exitCode === null) serve.process.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

const as = ['run', '--account', 'Acme', '--as', 'alice@acme.test', '--']
let printed = ''

test('the CLI prints the running server\'s links (its PORT, not the CLI\'s), the same one its email carries', async () => {
  expect((await run(['accounts', 'create', '--name', 'Acme', '--admin', 'alice@acme.test'], terminalEnv())).code).toBe(0)
  expect((await run([...as, 'add', 'bob@acme.test', '--name', 'Bob Smith'], terminalEnv())).code).toBe(0)
  const link = await run([...as, 'link', 'bob@acme.test'], terminalEnv())
  expect(link.code).toBe(0)
  expect(link.err).not.toContain('guess')
  printed = link.out.split('\n')[0]!
  expect(printed).toMatch(new RegExp(`^http://localhost:${port}/invitations/[A-Za-z0-9_-]{43}$`))
  const token = printed.split('/invitations/')[1]!
  expect((await fetch(`http://127.0.0.1:${port}/invitations/${token}`)).status).toBe(200)

  const outbox = join(dataDir, 'outbox')
  const file = await waitFor('the email', async () => (existsSync(outbox) ? (await readdir(outbox)).find((n) => n.endsWith('.eml')) : undefined), { detail: serve.detail })
  // `grep -r invitations .data/outbox` finds the very link the CLI printed, whole.
  expect(await readFile(join(outbox, file), 'utf8')).toMatch(new RegExp(`^Accept or decline: ${printed.replace(/[/.]/g, '\\$&')}$`, 'm'))
})

test('after the server stopped, the CLI still prints the base that server recorded', async () => {
  const exited = new Promise<number | null>((resolve) => serve.process.once('exit', (code) => resolve(code)))
  serve.process.kill('SIGTERM')
  expect(await exited).toBe(0)
  const link = await run([...as, 'link', 'bob@acme.test'], terminalEnv())
  expect(link).toMatchObject({ code: 0, err: '' })
  expect(link.out).toMatch(new RegExp(`^http://localhost:${port}/invitations/`))
  expect(link.out.split('\n')[0]).toBe(printed)
})
