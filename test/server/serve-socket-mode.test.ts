import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { childEnv, freePort, startServe, waitFor, type ServeProcess } from '../support/serve.ts'
import { startSlackSocketStandIn, type SlackSocketStandIn, type SocketLink } from '../support/slack-socket-server.ts'

/**
 * `inviteops serve` in Socket Mode, as a developer runs it on a laptop: SLACK_BOT_TOKEN and
 * SLACK_APP_TOKEN, no signing secret, no public URL. Slack is a local stand-in (its Web API on
 * SLACK_API_URL, its Socket Mode WebSocket, its response_urls); the servers share one database
 * (this process's, on DATABASE_URL), as replicas would.
 */
const APP_TOKEN = 'xapp-1-A0STANDIN-1-servesocketmode'
const BOT_TOKEN = 'xoxb-serve-socket-mode'
const TEAM = 'T0001INVOPS'
const CHANNEL = 'C2147483705'
const ALICE = 'U2147483697'
const INVITE_SECRET = 'serve-socket-mode-invite-secret-0123456789'
/** Alice as users.info describes her (the recorded fixture), with the administrator's email. */
const MEMBER = JSON.parse(readFileSync(new URL('../slack/fixtures/users-info-member.json', import.meta.url), 'utf8')) as { ok: true; user: Record<string, unknown> & { profile: Record<string, unknown> } }

let db: TestDatabase
let standIn: SlackSocketStandIn
const dirs: string[] = []
const servers: ServeProcess[] = []
/** chat.postMessage calls, with the token they carried. */
const posted: { auth: string | undefined; fields: Record<string, string> }[] = []
/** response_url posts. */
const responded: Record<string, unknown>[] = []
/** users.info calls that carried another token than the bot's (must stay empty). */
const wrongTokens: string[] = []

function answer(req: IncomingMessage, body: string): { status?: number; json: unknown } | undefined {
  if (req.url === '/api/users.info') {
    if (req.headers.authorization !== `Bearer ${BOT_TOKEN}`) wrongTokens.push(String(req.headers.authorization))
    return { json: { ...MEMBER, user: { ...MEMBER.user, profile: { ...MEMBER.user.profile, email: 'alice@acme.test' } } } }
  }
  if (req.url === '/api/chat.postMessage') {
    posted.push({ auth: req.headers.authorization, fields: Object.fromEntries(new URLSearchParams(body)) })
    return { json: { ok: true, channel: CHANNEL, ts: `1732615300.${String(posted.length).padStart(6, '0')}` } }
  }
  if (req.url?.startsWith('/hooks/')) {
    responded.push(JSON.parse(body) as Record<string, unknown>)
    return { json: 'ok' }
  }
  return undefined
}

/** A server of its own (port, DATA_DIR) on the shared database, in Socket Mode. */
async function serveReplica(): Promise<{ serve: ServeProcess; port: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'inviteops-socket-'))
  dirs.push(dataDir)
  const port = await freePort()
  const env = {
    ...childEnv({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', INVITE_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: standIn.apiUrl }, ['SLACK_SIGNING_SECRET']),
    DATABASE_URL: db.url,
  }
  const serve = await startServe(env)
  servers.push(serve)
  return { serve, port }
}

async function readyz(port: number): Promise<{ status: number; body: { checks: Record<string, { ok: boolean; reason?: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean; reason?: string }> } }
}

const readyAgain = (port: number, serve: ServeProcess) => waitFor('/readyz 200', async () => ((await readyz(port)).status === 200 ? true : undefined), { detail: serve.detail, timeoutMs: 30_000 })

let trigger = 0
/** `/invite <text>` as Slack sends it over Socket Mode, answering to the stand-in's response_url. */
function command(text: string): Record<string, string> {
  trigger += 1
  return {
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    team_id: TEAM,
    team_domain: 'acme',
    channel_id: CHANNEL,
    channel_name: 'admins',
    user_id: ALICE,
    user_name: 'alice',
    command: '/invite',
    text,
    api_app_id: 'A0STANDIN',
    is_enterprise_install: 'false',
    response_url: `${standIn.origin}/hooks/commands/${TEAM}/${trigger}/socketmode`,
    trigger_id: `13345224609.738474920.socket${trigger}`,
  }
}

beforeAll(async () => {
  db = await createTestDatabase()
  const now = new Date()
  const deps = makeDeps(db.knex, { now: now.toISOString() })
  const seed = await seedAccount(deps, { name: 'Acme', adminEmail: 'alice@acme.test' })
  const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the workspace')
  // An invitation sent a month ago has expired: the first notices round posts about it.
  await inviteUser(makeDeps(db.knex, { now: new Date(now.getTime() - 30 * DAY).toISOString() }), seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Smith' })
  standIn = await startSlackSocketStandIn({ appToken: APP_TOKEN, onRequest: answer })
}, 60_000)

afterAll(async () => {
  for (const s of servers) if (s.process.exitCode === null) s.process.kill('SIGKILL')
  await standIn?.close()
  await db?.close()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

let first: { serve: ServeProcess; port: number }
let link: SocketLink

test('connects with no signing secret nor public URL; /readyz 503 until hello, 200 after; commands answered, notices posted', async () => {
  standIn.holdHello(true)
  first = await serveReplica()
  expect(first.serve.stderr).toContain('Slack: over Socket Mode (SLACK_APP_TOKEN), no Request URL needed')
  link = await standIn.nextLink()
  const before = await readyz(first.port)
  expect(before.status).toBe(503)
  expect(before.body.checks.slack_socket).toEqual({ ok: false, reason: 'slack_socket_connecting' })
  standIn.holdHello(false)
  link.hello()
  await readyAgain(first.port, first.serve)

  const ack = await link.deliver('slash_commands', command('add carol@acme.test --name "Carol Jones"'), { envelopeId: 'serve-envelope-1', acceptsResponsePayload: true })
  expect(ack).toEqual({ envelope_id: 'serve-envelope-1', payload: {} })
  const confirmation = await waitFor('the confirmation in the channel', () => posted.find((p) => p.fields.text?.includes('invited carol@acme.test')), { detail: () => `${first.serve.detail()}\n${JSON.stringify({ posted, responded }).slice(0, 2000)}` })
  expect(confirmation.auth).toBe(`Bearer ${BOT_TOKEN}`)
  expect(confirmation.fields.channel).toBe(CHANNEL)

  await link.deliver('slash_commands', command('show carol@acme.test'), { acceptsResponsePayload: true })
  const shown = await waitFor('the answer on response_url', () => responded.find((r) => JSON.stringify(r).includes('carol@acme.test')), { detail: first.serve.detail })
  expect(shown.response_type).toBe('ephemeral')

  // Notices go through the Web API, whichever way requests arrive.
  const notice = await waitFor('the expiry notice', () => posted.find((p) => p.fields.text === 'The invitation of bob@acme.test has expired.'), { detail: first.serve.detail })
  expect(notice.auth).toBe(`Bearer ${BOT_TOKEN}`)
  expect(wrongTokens).toEqual([])
}, 120_000)

test('a dropped socket and a disconnect message: a new connection each time, /readyz 200 again', async () => {
  const opens = standIn.opens
  link.drop()
  link = await standIn.nextLink()
  await readyAgain(first.port, first.serve)
  link.disconnect('refresh_requested')
  await link.closed
  expect(link.closeCode).toBe(1000) // the client closed it cleanly, as asked
  link = await standIn.nextLink()
  await readyAgain(first.port, first.serve)
  expect(standIn.opens).toBe(opens + 2)
  await link.deliver('slash_commands', command('groups'), { acceptsResponsePayload: true })
  await waitFor('the groups answer', () => responded.find((r) => JSON.stringify(r).includes('Members')), { detail: first.serve.detail })
  expect(first.serve.stdout).toContain('Socket Mode connection closed; opening a new one')
}, 60_000)

let second: { serve: ServeProcess; port: number }

test('a second replica on the same database holds its own socket; an envelope delivered to both runs once', async () => {
  second = await serveReplica()
  const other = await standIn.nextLink()
  await readyAgain(second.port, second.serve)
  expect(standIn.links).toHaveLength(2)
  const payload = command('add dave@acme.test --name "Dave Smith"')
  const acks = await Promise.all([
    link.deliver('slash_commands', payload, { envelopeId: 'redelivered', acceptsResponsePayload: true }),
    other.deliver('slash_commands', payload, { envelopeId: 'redelivered', acceptsResponsePayload: true }),
  ])
  expect(acks.map((a) => a.envelope_id)).toEqual(['redelivered', 'redelivered'])
  const detail = () => `${first.serve.detail()}\n${second.serve.detail()}`
  await waitFor('one replica to run it and the other to skip it', () => (posted.some((p) => p.fields.text?.includes('invited dave@acme.test')) && (first.serve.stdout + second.serve.stdout).includes('already handled by another replica') ? true : undefined), { detail })
  expect(posted.filter((p) => p.fields.text?.includes('invited dave@acme.test'))).toHaveLength(1)
  const [row] = await db.knex('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', 'dave@acme.test').count<{ n: string }[]>({ n: '*' })
  expect(Number(row?.n)).toBe(1)
}, 120_000)

test('SIGTERM: each server closes its socket first (a clean close frame), then exits 0', async () => {
  const links = [...standIn.links]
  for (const { serve } of [first, second]) {
    const exited = new Promise<number | null>((resolve) => serve.process.once('exit', (code) => resolve(code)))
    serve.process.kill('SIGTERM')
    expect(await exited).toBe(0)
    const out = serve.stdout
    expect(out.indexOf('Socket Mode connection closed for shutdown')).toBeGreaterThan(-1)
    expect(out.indexOf('Socket Mode connection closed for shutdown')).toBeLessThan(out.indexOf('"msg":"stopped"'))
  }
  await Promise.all(links.map((l) => l.closed))
  expect(links.map((l) => l.closeCode)).toEqual([1000, 1000])
}, 60_000)

test('a first connection that fails does not stop the server from starting; it connects when Slack answers', async () => {
  standIn.failOpens(2, { status: 503 })
  const opens = standIn.opens
  const third = await serveReplica()
  await waitFor('the failed attempt in the log', () => (third.serve.stdout.includes('could not open the Socket Mode connection') ? true : undefined), { detail: third.serve.detail })
  const state = await readyz(third.port)
  expect(state.status).toBe(503)
  expect(state.body.checks.slack_socket?.reason).toMatch(/^slack_socket_(closed|connecting)$/)
  await standIn.nextLink()
  await readyAgain(third.port, third.serve)
  expect(standIn.opens).toBe(opens + 1)
  const exited = new Promise<number | null>((resolve) => third.serve.process.once('exit', (code) => resolve(code)))
  third.serve.process.kill('SIGTERM')
  expect(await exited).toBe(0)
}, 120_000)
