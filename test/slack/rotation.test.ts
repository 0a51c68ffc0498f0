/**
 * Token rotation at use (distribution mode), through the real signed route: a bot token that
 * expires within two hours is refreshed with `oauth.v2.access` (grant_type=refresh_token) before
 * the request is answered, once across replicas (two routers on one database here), and the new
 * token is used and stored. A refresh that fails or times out while the old token still works
 * falls back to the old token; with an expired token the workspace is told, and nothing else is
 * called.
 */
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSlackRouter, type SlackRouter, type SlackRouterOptions } from '../../adapters/slack/router.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { findSlackInstallation, saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import type { TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { ADMIN_EMAIL, ALICE, API_ORIGIN, CHANNEL, DISTRIBUTION_CONFIG, OAUTH, TEAM, formBody, levelLogger, mockResponseUrl, mockUsersInfo, postSigned, slackInstallation, slashCommand, useSlackRouteTests } from './support.ts'

const OLD_TOKEN = 'xoxe.xoxb-1-acme-old-rotating'
const OLD_REFRESH = 'xoxe-1-old-refresh-token'
const NEW_TOKEN = 'xoxe.xoxb-1-acme-new-rotating'
const NEW_REFRESH = 'xoxe-1-new-refresh-token'
const HOUR = 60 * 60_000
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0001INVOPS/1234567890/abcdefghijklmnop'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let logger: ReturnType<typeof levelLogger>
let trigger = 0
const served: { close(): Promise<void> }[] = []

useSlackRouteTests({ onDatabase: (x) => (db = x) })
beforeEach(async () => {
  logger = levelLogger()
  deps = makeDeps(db.knex, { logger })
  seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
  const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the test workspace')
})
afterEach(async () => {
  while (served.length > 0) await served.pop()?.close()
  nock.cleanAll()
})

/** The workspace installed with a rotating token that expires `inMs` from the test's clock. */
async function installRotating(inMs: number): Promise<void> {
  await saveSlackInstallation(deps, slackInstallation(TEAM, OLD_TOKEN, { botRefreshToken: OLD_REFRESH, botTokenExpiresAt: new Date(deps.clock.now().getTime() + inMs) }))
}

/** One replica: its own router (and token cache) on the shared database. */
async function replica(options: SlackRouterOptions = {}): Promise<{ base: string; router: SlackRouter }> {
  const router = createSlackRouter(deps, DISTRIBUTION_CONFIG, { clientOptions: { retryConfig: { retries: 0 } }, ...options })
  const s = await serveRouter(db.knex, router)
  served.push(s)
  return { base: s.base, router }
}

/** `oauth.v2.access` refreshing OLD_REFRESH with our client id and secret; counts its calls. */
function mockRefresh(calls: { n: number }, reply: Record<string, unknown>, opts: { delayMs?: number } = {}): nock.Scope {
  const interceptor = nock(API_ORIGIN)
    .post('/api/oauth.v2.access', (b: Record<string, string>) => b.grant_type === 'refresh_token' && b.refresh_token === OLD_REFRESH && b.client_id === OAUTH.clientId && b.client_secret === OAUTH.clientSecret)
    .times(2)
  return (opts.delayMs ? interceptor.delay(opts.delayMs) : interceptor).reply(() => {
    calls.n += 1
    return [200, reply]
  })
}

async function groups(base: string) {
  return postSigned(base, formBody(slashCommand('groups', { trigger_id: `trigger.${++trigger}` })))
}

describe('a token that expires within two hours', () => {
  it('is refreshed exactly once for two concurrent commands on two replicas; both are answered with the new token, which is stored', async () => {
    await installRotating(HOUR)
    const calls = { n: 0 }
    mockRefresh(calls, { ok: true, token_type: 'bot', access_token: NEW_TOKEN, refresh_token: NEW_REFRESH, expires_in: 43_200, bot_user_id: 'U0BOT0001', team: { id: TEAM } })
    const infos = [mockUsersInfo(ALICE, {}, {}, { token: NEW_TOKEN }), mockUsersInfo(ALICE, {}, {}, { token: NEW_TOKEN })]
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(RESPONSE_URL, replies, 2)
    const [a, b] = [await replica(), await replica()]

    const answers = await Promise.all([groups(a.base), groups(b.base)])
    expect(answers.map((r) => r.status)).toEqual([200, 200])
    await Promise.all([a.router.idle(), b.router.idle()])

    expect(calls.n).toBe(1)
    expect(infos.map((s) => s.isDone())).toEqual([true, true])
    expect(replies).toHaveLength(2)
    for (const reply of replies) expect(JSON.stringify(reply)).toContain('Engineering')
    const found = await findSlackInstallation(deps, { teamId: TEAM, enterpriseId: null })
    expect(found?.status).toBe('active')
    if (found?.status !== 'active') throw new Error('not active')
    expect(found.installation).toMatchObject({ botToken: NEW_TOKEN, botRefreshToken: NEW_REFRESH, botTokenExpiresAt: new Date(deps.clock.now().getTime() + 43_200_000) })
    // The log records debug lines too: the refresh's secret and tokens are in none of them.
    for (const secret of [OAUTH.clientSecret, OLD_REFRESH, NEW_REFRESH, NEW_TOKEN]) expect(logger.lines.filter(({ line }) => line.includes(secret))).toEqual([])
  })

  it('a refresh Slack refuses, while the old token still works: answered with the old token, the stored one kept, a warning logged', async () => {
    await installRotating(HOUR)
    const calls = { n: 0 }
    mockRefresh(calls, { ok: false, error: 'invalid_refresh_token' })
    const info = mockUsersInfo(ALICE, {}, {}, { token: OLD_TOKEN })
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(RESPONSE_URL, replies)
    const r = await replica()
    await groups(r.base)
    await r.router.idle()
    expect(calls.n).toBe(1)
    expect(info.isDone()).toBe(true)
    expect(JSON.stringify(replies[0])).toContain('Engineering')
    const found = await findSlackInstallation(deps, { teamId: TEAM, enterpriseId: null })
    expect(found?.status === 'active' && found.installation.botToken).toBe(OLD_TOKEN)
    expect(logger.lines.some((l) => l.level === 'warn' && l.line.includes('token rotation failed'))).toBe(true)
  })

  it('a refresh that times out, while the old token still works: answered with the old token', async () => {
    await installRotating(HOUR)
    const calls = { n: 0 }
    // The answer would come long after the (shortened) deadline of one Web API call.
    mockRefresh(calls, { ok: true, access_token: NEW_TOKEN, refresh_token: NEW_REFRESH, expires_in: 43_200 }, { delayMs: 5_000 })
    const info = mockUsersInfo(ALICE, {}, {}, { token: OLD_TOKEN })
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(RESPONSE_URL, replies)
    const r = await replica({ deadlines: { webApiMs: 200 } })
    await groups(r.base)
    await r.router.idle()
    expect(info.isDone()).toBe(true)
    expect(JSON.stringify(replies[0])).toContain('Engineering')
    const found = await findSlackInstallation(deps, { teamId: TEAM, enterpriseId: null })
    expect(found?.status === 'active' && found.installation.botToken).toBe(OLD_TOKEN)
  })

  it('an expired token whose refresh fails: the command is told access expired (in its ack), an error logged, nothing else called', async () => {
    await installRotating(-60_000)
    const calls = { n: 0 }
    mockRefresh(calls, { ok: false, error: 'invalid_refresh_token' })
    const r = await replica()
    const res = await groups(r.base)
    await r.router.idle()
    expect(calls.n).toBe(1)
    expect((JSON.parse(res.text) as { text: string }).text).toContain('expired and could not be renewed')
    expect(logger.lines.some((l) => l.level === 'error' && l.line.includes('token has expired'))).toBe(true)
    // Only the refresh interceptor was registered, and it was used: no users.info, no post.
    expect(nock.pendingMocks().filter((m) => !m.includes('oauth.v2.access'))).toEqual([])
  })
})

describe('a token that does not expire soon', () => {
  it('is used as stored, with no refresh', async () => {
    await installRotating(6 * HOUR)
    const calls = { n: 0 }
    mockRefresh(calls, { ok: true, access_token: NEW_TOKEN, refresh_token: NEW_REFRESH, expires_in: 43_200 })
    const info = mockUsersInfo(ALICE, {}, {}, { token: OLD_TOKEN })
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(RESPONSE_URL, replies)
    const r = await replica()
    await groups(r.base)
    await r.router.idle()
    expect(calls.n).toBe(0)
    expect(info.isDone()).toBe(true)
  })
})
