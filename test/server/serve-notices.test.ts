import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { openDatabase } from '../../src/db/open-database.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { runCli } from '../support/cli.ts'
import { BIN, childEnv, waitFor } from '../support/serve.ts'

/**
 * The notices worker inside a real `inviteops serve` (the composition root wires it when Slack is
 * configured): an operator links a workspace with a notice channel, an administrator invites
 * someone, the link expires, the server starts, and its first round posts the expiry notice to
 * Slack's Web API (a local HTTP server here, via SLACK_API_URL). The CLI commands and the expiry
 * run before the server starts, in this process, on the data directory's database opened once
 * here; the link is expired by moving its expiry into the past, rather than by waiting out a short
 * INVITE_TTL in real time.
 */
let dataDir: string
let slack: Server
let apiUrl: string
const posted: Record<string, string>[] = []

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => childEnv({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...extra })

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-notices-'))
  slack = createServer((req, res) => {
    void body(req).then((text) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/api/chat.postMessage') {
        posted.push(Object.fromEntries(new URLSearchParams(text)))
        res.end(JSON.stringify({ ok: true, channel: 'C0NOTICES', ts: '1.1' }))
      } else {
        res.end(JSON.stringify({ ok: false, error: 'unknown_method' }))
      }
    })
  })
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', () => resolve()))
  apiUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/`
})

afterAll(async () => {
  slack.closeAllConnections()
  await new Promise<void>((resolve) => slack.close(() => resolve()))
  await rm(dataDir, { recursive: true, force: true })
})

test('serve posts one expiry notice to the linked channel, then stops cleanly on SIGTERM', async () => {
  // The operator's and the administrator's CLI commands run in this process, beside the one
  // PGlite that holds DATA_DIR here (they connect to it as the CLI does to a running server):
  // one database start instead of one per command.
  const data = await openDatabase({ dataDir, embeddedMode: 'exclusive', logger: silentLogger })
  try {
    const cli = (...argv: string[]) => runCli({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, ...argv)
    expect((await cli('accounts', 'create', '--name', 'Acme', '--admin', 'alice@acme.test', '--admin-name', 'Alice Admin')).code).toBe(0)
    expect((await cli('slack', 'connect', '--team', 'T0NOTICES', '--account', 'Acme', '--channel', 'C0NOTICES')).code).toBe(0)
    const added = await cli('run', '--account', 'Acme', '--as', 'alice@acme.test', '--', 'add', 'bob@acme.test', '--name', 'Bob Smith')
    expect(added.out).toContain('Invited bob@acme.test')
    // Sent eight days ago, valid for seven: expired a day ago.
    const moved = await data.knex('invitations').where({ state: 'pending' }).update({ created_at: data.knex.raw("now() - interval '8 days'"), expires_at: data.knex.raw("now() - interval '1 day'") })
    expect(moved).toBe(1)
  } finally {
    await data.close()
  }

  const server = spawn(process.execPath, [BIN, 'serve'], {
    env: env({ SLACK_SIGNING_SECRET: 'serve-notices-secret', SLACK_BOT_TOKEN: 'xoxb-serve-notices', SLACK_API_URL: apiUrl }),
  })
  let stdout = ''
  let stderr = ''
  server.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  try {
    const detail = () => `stdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`
    // The round logs what it did after the post is recorded: wait for both (or for the server to end).
    await waitFor('the notice and the round that posted it', () => ((posted.length > 0 && stdout.includes('"msg":"notices round"')) || server.exitCode !== null ? true : undefined), { detail })
    expect(posted, detail()).toHaveLength(1)
    expect(posted[0]?.channel).toBe('C0NOTICES')
    expect(posted[0]?.text).toBe('The invitation of bob@acme.test has expired.')
    expect(posted[0]?.blocks).toContain('*Bob Smith* (bob@acme.test)')
    expect(posted[0]?.blocks).toContain('inviteops.do.regenerate')
    expect(stdout).toContain('"msg":"notices round"')
  } finally {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
    server.kill('SIGTERM')
    expect(await exited).toBe(0)
  }
  expect(posted).toHaveLength(1) // one notice, however many rounds ran
}, 120_000) // PGlite starts here, then in the server: over vitest's 30 s on a loaded machine
