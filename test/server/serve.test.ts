import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { childEnv, freePort, run, startServe, waitFor, type ServeProcess } from '../support/serve.ts'

/**
 * `npm start` as a new user runs it: a real process on embedded PGlite under a fresh DATA_DIR,
 * with the CLI used from "another terminal" at the same time.
 */
let dataDir: string
let port: number
let serve: ServeProcess

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => childEnv({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', ...extra })

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-serve-'))
  port = await freePort()
  serve = await startServe(env())
}, 120_000)

afterAll(async () => {
  if (serve.process.exitCode === null) serve.process.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

test('serves health, readiness and Prometheus metrics, and says what to do next', async () => {
  expect(serve.stderr).toContain(`InviteOps is running on http://localhost:${port}`)
  expect(serve.stderr).toContain('npx inviteops accounts create')
  expect(serve.stderr).toContain('Teams is off: set MICROSOFT_APP_ID')
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  expect(health.status).toBe(200)
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  expect(ready.status).toBe(200)
  expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true } } })
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  expect(metrics).toMatch(/^# TYPE inviteops_http_requests_total counter$/m)
  expect(metrics).toMatch(/^inviteops_email_outbox_pending 0$/m)
  expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m)
  for (const line of serve.stdout.trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow()
})

test('the CLI works beside the running server, the worker emails, and no log carries a link secret', async () => {
  const created = await run(['accounts', 'create', '--name', 'Acme', '--admin', 'alice@acme.test', '--admin-name', 'Alice Admin'], env())
  expect(created).toMatchObject({ code: 0 })
  const added = await run(['run', '--account', 'Acme', '--as', 'alice@acme.test', '--', 'add', 'bob@acme.test', '--name', 'Bob Smith'], env())
  expect(added.out).toContain('Invited bob@acme.test')
  const link = await run(['run', '--account', 'Acme', '--as', 'alice@acme.test', '--', 'link', 'bob@acme.test'], env())
  const token = /\/invitations\/([A-Za-z0-9_-]{43})/.exec(link.out)?.[1]
  expect(token).toBeDefined()
  const files = await waitFor(
    'the email',
    async () => {
      const f = existsSync(join(dataDir, 'outbox')) ? (await readdir(join(dataDir, 'outbox'))).filter((n) => n.endsWith('.eml')) : []
      return f.length > 0 ? f : undefined
    },
    { detail: serve.detail },
  )
  expect(files).toHaveLength(1)
  const page = await fetch(`http://127.0.0.1:${port}/invitations/${token}`)
  expect(page.status).toBe(200)
  expect(serve.stdout).toContain('email written to the outbox folder')
  expect(serve.stdout + serve.stderr + added.out + added.err).not.toContain(token)
})

test('a second server on the same DATA_DIR refuses plainly instead of corrupting it', async () => {
  const second = await run(['serve'], env({ PORT: String(await freePort()) }))
  expect(second.code).not.toBe(0)
  expect(second.err).toMatch(/in use by another inviteops process \(pid \d+\)/)
})

test('invalid configuration: every problem printed together, non-zero exit', async () => {
  const r = await run(['serve'], env({ PORT: 'http', INVITE_TTL: 'a week', EMAIL_TRANSPORT: 'pigeon', MICROSOFT_APP_ID: 'not-a-guid', MICROSOFT_APP_TYPE: 'Bogus' }))
  expect(r.code).toBe(1)
  for (const v of ['PORT', 'INVITE_TTL', 'EMAIL_TRANSPORT', 'MICROSOFT_APP_TYPE']) expect(r.err).toContain(v)
})

test('SIGTERM: a graceful stop that releases DATA_DIR', async () => {
  const exited = new Promise<number | null>((resolve) => serve.process.once('exit', (code) => resolve(code)))
  serve.process.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(serve.stdout).toContain('"msg":"stopped"')
  expect(existsSync(join(dataDir, 'embedded.json'))).toBe(false)
  expect(existsSync(join(dataDir, 'embedded.lock'))).toBe(false)
})
