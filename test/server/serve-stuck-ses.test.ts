import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startSesStandIn, type SesStandIn } from '../email/support/ses-stand-in.ts'
import { BIN, childEnv, run } from '../support/serve.ts'

/**
 * A real `inviteops serve` sending through SES, where SES accepts one request and never answers
 * it (a local stand-in at AWS_ENDPOINT_URL_SES). The operator's view: the other email still goes
 * out, the log says once what happened, /metrics counts it, /readyz stays ready, and SIGTERM
 * stops the process with exit code 0 (the grace timer would exit 1).
 */
let dataDir: string
let ses: SesStandIn

const env = (): NodeJS.ProcessEnv =>
  childEnv({
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    EMAIL_TRANSPORT: 'ses',
    EMAIL_FROM: 'InviteOps <invitations@acme.test>',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_ENDPOINT_URL_SES: ses.url,
    SES_MAX_SEND_RATE: '20',
    // The hung request must end by this deadline of its own: nothing else closes it.
    SES_REQUEST_TIMEOUT: '1s',
  })

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-stuck-ses-'))
  ses = await startSesStandIn((to) => (to === 'stuck@acme.test' ? 'hang' : 'ok'))
})

afterAll(async () => {
  await ses.close()
  await rm(dataDir, { recursive: true, force: true })
})

test('a hung SES request: the other email goes out, a warning, a metric, still ready, SIGTERM exits 0', async () => {
  const server = spawn(process.execPath, [BIN, 'serve'], { env: env() })
  let stdout = ''
  let stderr = ''
  let announced!: (base: string) => void
  const running = new Promise<string>((resolve) => (announced = resolve))
  server.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  server.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    const base = /InviteOps is running on (http:\/\/localhost:\d+)/.exec(stderr)?.[1]
    if (base) announced(base)
  })
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
  try {
    const base = await Promise.race([running, exited.then((code) => Promise.reject(new Error(`serve exited (${code}) before it ran:\n${stderr}`)))])
    // The CLI beside the running server (through its database): the stuck one is queued first.
    expect((await run(['accounts', 'create', '--name', 'Acme', '--admin', 'alice@acme.test', '--admin-name', 'Alice Admin'], env())).code).toBe(0)
    for (const email of ['stuck@acme.test', 'bob@acme.test']) {
      const added = await run(['run', '--account', 'Acme', '--as', 'alice@acme.test', '--', 'add', email, '--name', 'Some One'], env())
      expect(added.out).toContain(`Invited ${email}`)
    }
    // Each awaited on its own: bob's send and the hung request's deadline may end in either order.
    await ses.waitFor(/^ok:bob@acme\.test$/)
    await ses.waitFor(/^closed:stuck@acme\.test$/) // the SDK gave up on the hung request
    expect(ses.accepted).toEqual(['bob@acme.test']) // bob once, the stuck one never
    const timeouts = async () => Number((await (await fetch(`${base}/metrics`)).text()).match(/^inviteops_email_send_timeouts_total\{transport="ses"\} (\d+)$/m)?.[1] ?? 0)
    await expect.poll(timeouts, { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
  } finally {
    server.kill('SIGTERM')
  }
  expect(await exited, `stdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`).toBe(0)
  expect(stdout).toContain('"msg":"stopped"')
  // One warning per request SES left unanswered (it is retried with backoff meanwhile), none for bob.
  const warnings = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: number; msg: string; outboxId?: string })
    .filter((l) => l.msg.includes('did not answer in time'))
  const hung = ses.events.filter((e) => e === 'hang:stuck@acme.test').length
  expect(warnings.length).toBeGreaterThanOrEqual(1)
  expect(warnings.length).toBeLessThanOrEqual(hung)
  expect(warnings.every((w) => w.level === 40 && w.outboxId === '1')).toBe(true) // pino's warn; the stuck email was queued first
  expect(ses.accepted).toEqual(['bob@acme.test'])
}, 120_000) // a server and three CLI processes start one after another
