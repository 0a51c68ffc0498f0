/**
 * Harness for Slack adapter tests: the real HTTP app (createHttpApp) with the Slack router
 * mounted, the real core on a real database, requests signed exactly as Slack signs them, and
 * Slack itself (Web API, response_url) played by nock.
 */
import nock from 'nock'
import { expect } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import type { SlackConfig } from '../../adapters/slack/config.ts'
import { createSlackRouter, type SlackRouter, type SlackRouterOptions } from '../../adapters/slack/router.ts'
import { saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { slackSignature } from '../../adapters/slack/verify.ts'
import { fixture, fixtureText } from './fixture.ts'
import type { TestDatabase } from '../support/db.ts'
import { useRouteTests } from '../support/hooks.ts'
import { serveRouter } from '../support/http.ts'
import { slackInstallation } from '../support/slack-installation.ts'
import { makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef'
export const BOT_TOKEN = 'xoxb-test-token'
/** A non-default SLACK_API_URL, so the tests also show it is honoured. */
export const API_ORIGIN = 'https://slack-api.test'
export const API_URL = `${API_ORIGIN}/api/`
export const TEAM = 'T0001INVOPS'
export const CHANNEL = 'C2147483705'
export const ALICE = 'U2147483697'
export const ADMIN_EMAIL = 'admin@acme.test'
export const HOOKS = 'https://hooks.slack.com'

/** Distribution mode ("Add to Slack"): a second workspace, its channel and its administrator's Slack id. */
export const TEAM2 = 'T0002GLOBEX'
export const CHANNEL2 = 'C0002GLOBEX'
export const BOB = 'U0002BOB'
export const GLOBEX_ADMIN_EMAIL = 'admin@globex.test'
export const ACME_TOKEN = 'xoxb-1111-acme-bot-token'
export const GLOBEX_TOKEN = 'xoxb-2222-globex-bot-token'
export const OAUTH = { clientId: '1111.2222', clientSecret: 'test-client-secret-abcdef', stateSecret: 'test-state-secret-0123456789abcdef0123' }
/** Distribution mode over HTTP: no SLACK_BOT_TOKEN, each workspace's token stored. */
export const DISTRIBUTION_CONFIG: SlackConfig = { signingSecret: SIGNING_SECRET, botToken: null, apiUrl: API_URL, oauth: OAUTH }

export { slackInstallation }

/** A logger that keeps each line with its level, to assert what was said and how loudly. */
export function levelLogger(): Logger & { lines: { level: string; line: string }[] } {
  const lines: { level: string; line: string }[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object | string, msg?: string) => {
      lines.push({ level, line: JSON.stringify({ ...bindings, ...(typeof obj === 'string' ? { msg: obj } : obj), ...(msg ? { msg } : {}) }) })
    }
    return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: (b) => make({ ...bindings, ...b }) }
  }
  return Object.assign(make({}), { lines })
}

export { fixture, fixtureText }

export interface Harness {
  base: string
  deps: TestDeps
  seed: SeededAccount
  router: SlackRouter
  close(): Promise<void>
}

/**
 * The hooks every route test file shares: a database of its own, the network closed but for
 * loopback (Slack's hosts are played by nock), tables emptied before each test, and — when
 * `onHarness` is given — a fresh harness per test, closed after it.
 */
export function useSlackRouteTests(opts: { onDatabase?: (db: TestDatabase) => void; onHarness?: (h: Harness) => void }): void {
  useRouteTests((db) => startHarness(db), opts)
}

/** A linked workspace, an account whose admin is `admin@acme.test`, the app listening on loopback. */
export async function startHarness(db: TestDatabase, opts: { link?: boolean } = {}): Promise<Harness> {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: `Acme ${Math.random().toString(16).slice(2, 8)}` })
  if (opts.link ?? true) {
    const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
    if (!linked.ok) throw new Error('could not link the test workspace')
  }
  const router = createSlackRouter(deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { clientOptions: { retryConfig: { retries: 0 } } })
  const { base, close } = await serveRouter(db.knex, router)
  return { base, deps, seed, router, close }
}

export interface DistributionHarness extends Harness {
  /** The second account, whose administrator is `admin@globex.test`, linked to TEAM2 (CHANNEL2). */
  globex: SeededAccount
}

/**
 * Distribution mode: two accounts, two workspaces installed with their own tokens (TEAM with
 * ACME_TOKEN, TEAM2 with GLOBEX_TOKEN), each linked to its account with a notice channel.
 */
export async function startDistributionHarness(db: TestDatabase, opts: { options?: SlackRouterOptions; deps?: TestDeps } = {}): Promise<DistributionHarness> {
  const deps = opts.deps ?? makeDeps(db.knex)
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: `Acme ${Math.random().toString(16).slice(2, 8)}` })
  const globex = await seedAccount(deps, { adminEmail: GLOBEX_ADMIN_EMAIL, name: `Globex ${Math.random().toString(16).slice(2, 8)}` })
  await saveSlackInstallation(deps, slackInstallation(TEAM, ACME_TOKEN))
  await saveSlackInstallation(deps, slackInstallation(TEAM2, GLOBEX_TOKEN, { installerUserId: BOB }))
  for (const [teamId, accountId, channelId] of [
    [TEAM, seed.account.id, CHANNEL],
    [TEAM2, globex.account.id, CHANNEL2],
  ] as const) {
    const linked = await connectChat(db.knex, { platform: 'slack', externalId: teamId, accountId, channelId })
    if (!linked.ok) throw new Error(`could not link ${teamId}`)
  }
  const router = createSlackRouter(deps, DISTRIBUTION_CONFIG, { clientOptions: { retryConfig: { retries: 0 } }, ...opts.options })
  const { base, close } = await serveRouter(db.knex, router)
  return { base, deps, seed, globex, router, close }
}

export interface SignOptions {
  /** Unix seconds; default now. */
  timestamp?: number | string
  /** Replace the signature (forged); `null` leaves the header out. */
  signature?: string | null
  /** `null` leaves the timestamp header out. */
  omitTimestamp?: boolean
  headers?: Record<string, string>
  contentType?: string
}

/** POSTs `body` to /slack/events signed as Slack signs it: v0=HMAC-SHA256(secret, `v0:ts:body`). */
export async function postSigned(base: string, body: string, opts: SignOptions = {}): Promise<{ status: number; text: string; ms: number }> {
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000))
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded', ...opts.headers }
  if (!opts.omitTimestamp) headers['x-slack-request-timestamp'] = ts
  const signature = opts.signature === undefined ? slackSignature(SIGNING_SECRET, ts, body) : opts.signature
  if (signature !== null) headers['x-slack-signature'] = signature
  const start = performance.now()
  const res = await fetch(`${base}/slack/events`, { method: 'POST', headers, body })
  const text = await res.text()
  return { status: res.status, text, ms: performance.now() - start }
}

export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

export function payloadBody(payload: unknown): string {
  return formBody({ payload: JSON.stringify(payload) })
}

/** The slash command fixture with `text` (and any field) replaced. */
export function slashCommand(text: string, overrides: Record<string, string> = {}): Record<string, string> {
  return { ...fixture<Record<string, string>>('slash-command.json'), text, ...overrides }
}

/**
 * `users.info` answering for `userId` with the member fixture, adjusted. With `token`, it answers
 * only a call carrying `Authorization: Bearer <token>` (distribution mode: each workspace's own).
 */
export function mockUsersInfo(userId: string, user: Record<string, unknown> = {}, profile: Record<string, unknown> = {}, opts: { token?: string } = {}): nock.Scope {
  const base = fixture<{ ok: true; user: Record<string, unknown> & { profile: Record<string, unknown> } }>('users-info-member.json')
  const body = { ok: true, user: { ...base.user, id: userId, ...user, profile: { ...base.user.profile, ...profile } } }
  return nock(API_ORIGIN, opts.token ? { reqheaders: { authorization: `Bearer ${opts.token}` } } : {})
    .post('/api/users.info', (b: Record<string, string>) => b.user === userId)
    .reply(200, body)
}

/** A Web API call seen by nock: its method, its `Authorization` header and its form body. */
export interface SeenCall {
  method: string
  authorization: string | undefined
  body: Record<string, string>
}

/** `chat.postMessage` calls, with the token each carried; answered `reply`. */
export function capturePostMessages(sink: SeenCall[], times = 1, reply: Record<string, unknown> = { ok: true, channel: CHANNEL, ts: '1732615300.000100' }): nock.Scope {
  return nock(API_ORIGIN)
    .post('/api/chat.postMessage')
    .times(times)
    .reply(function (_uri, body) {
      const header = this.req.headers.authorization
      const form = typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : (body as Record<string, string>)
      sink.push({ method: 'chat.postMessage', authorization: Array.isArray(header) ? header[0] : header, body: form })
      return [200, reply]
    })
}

/** Captures what is posted to a response_url. */
export function mockResponseUrl(url: string, sink: unknown[], times = 1): nock.Scope {
  const u = new URL(url)
  return nock(u.origin)
    .post(u.pathname, (b: unknown) => {
      sink.push(b)
      return true
    })
    .times(times)
    .reply(200, 'ok')
}

/**
 * A click from a workspace that cannot be answered with a token: posts it signed, waits for its
 * work, and checks it was told alone, through its response_url, without touching the message.
 * Returns the text it was told.
 */
export async function clickAnsweredAlone(h: { base: string; router: SlackRouter }, payload: { response_url: string }): Promise<string> {
  const replies: Record<string, unknown>[] = []
  mockResponseUrl(payload.response_url, replies)
  const res = await postSigned(h.base, payloadBody(payload))
  await h.router.idle()
  expect(res.status).toBe(200)
  expect(replies).toHaveLength(1)
  expect(replies[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false })
  return String(replies[0]?.text)
}

/** Captures chat.postMessage calls. */
export function mockPostMessage(sink: Record<string, unknown>[], reply: Record<string, unknown> = { ok: true, channel: CHANNEL, ts: '1732615300.000100' }): nock.Scope {
  return nock(API_ORIGIN)
    .post('/api/chat.postMessage', (b: Record<string, unknown>) => {
      sink.push(b)
      return true
    })
    .reply(200, reply)
}

/** Row counts that must not move when a request is refused. */
export async function snapshotCounts(deps: TestDeps): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['users', 'invitations', 'email_outbox', 'audit_log', 'user_groups']) {
    const [row] = await deps.db(table).count<{ n: string }[]>({ n: '*' })
    out[table] = Number(row?.n ?? 0)
  }
  return out
}
