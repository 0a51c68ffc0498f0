/**
 * With an App ID set, every activity's Bot Framework JWT is verified (docs/security.md): a request
 * whose token cannot be verified, for whatever reason, gets 401 with a fixed body, nothing runs,
 * and one warning with a reason code is logged. The network stays closed: Microsoft's OpenID
 * metadata and signing keys are played by nock (or by a local server that never answers), with
 * keys of our own.
 *
 * botframework-connector caches metadata per URL for the whole process, so each test that needs a
 * fetch points the verification at a metadata URL of its own (`authSettings`).
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import nock from 'nock'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import type { TeamsConfig } from '../../adapters/teams/config.ts'
import { createTeamsRouter, type TeamsRouterOptions } from '../../adapters/teams/router.ts'
import { createLogger } from '../../src/server/logger.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { ADMIN_EMAIL, TENANT, channelText, post, snapshotCounts, startHarness, useTeamsRouteTests, type Activity } from './support.ts'

const APP_ID = '0f5c2a1e-7d3b-4c9a-8e6f-1a2b3c4d5e6f'
const AUTHENTICATED: TeamsConfig = { appId: APP_ID, appPassword: 'test-client-secret', appType: 'MultiTenant', tenantId: null }
const LOGIN = 'https://login.botframework.com'
const UNAUTHORIZED = '{"error":"unauthorized"}'

let db: TestDatabase
useTeamsRouteTests({ onDatabase: (x) => (db = x) })
afterEach(() => {
  vi.restoreAllMocks()
})

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url')

/** A JWT shaped like the Bot Framework's, signed with `privateKey` (a fresh key of our own by default). */
function token(kid: string, opts: { privateKey?: KeyObject; claims?: Record<string, unknown> } = {}): string {
  const privateKey = opts.privateKey ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const now = Math.floor(Date.now() / 1000)
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))
  const payload = b64url(JSON.stringify({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: 'https://smba.trafficmanager.net/amer/', nbf: now - 60, exp: now + 3600, ...opts.claims }))
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey)
  return `${header}.${payload}.${b64url(signature)}`
}

/**
 * botbuilder's public-cloud settings with the channel metadata at `metadataUrl`: once one of
 * these is given, botbuilder expects them all (BotFrameworkAuthenticationFactory), so the other
 * values are botframework-connector's own public-cloud constants.
 */
function metadataAt(metadataUrl: string): Record<string, string> {
  return {
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    OAuthUrl: 'https://api.botframework.com',
    ToBotFromChannelOpenIdMetadataUrl: metadataUrl,
    ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azure',
  }
}

/** Microsoft's metadata and keys under `/<name>/…` on login.botframework.com, publishing `publicKey` as `kid`. */
function publishKeys(name: string, kid: string, publicKey: KeyObject): nock.Scope {
  const jwk = publicKey.export({ format: 'jwk' })
  return nock(LOGIN)
    .get(`/${name}/openidconfiguration`)
    .reply(200, { issuer: 'https://api.botframework.com', jwks_uri: `${LOGIN}/${name}/keys`, id_token_signing_alg_values_supported: ['RS256'] })
    .get(`/${name}/keys`)
    .reply(200, { keys: [{ kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] })
}

/** The app with an App ID, the router built with `options`, its log (production logger, debug) in memory. */
async function start(options: TeamsRouterOptions = {}) {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
      done()
    },
  })
  const deps = makeDeps(db.knex, { logger: createLogger({ level: 'debug', destination: sink }) })
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
  const linked = await connectChat(db.knex, { platform: 'teams', externalId: TENANT, accountId: seed.account.id, channelId: null })
  if (!linked.ok) throw new Error('could not link the test tenant')
  const router = createTeamsRouter(deps, AUTHENTICATED, options)
  const served = await serveRouter(db.knex, router)
  return {
    ...served,
    deps,
    /** The reasons of the refusals logged so far. */
    refusals: () => lines.filter((l) => l.includes('teams activity refused: not authenticated')).map((l) => (JSON.parse(l) as { reason: string }).reason),
    lines,
  }
}

/** A server that accepts connections and never answers (a metadata endpoint that hangs). */
async function silentServer(): Promise<{ url: string; requests: () => number; firstRequest: Promise<void>; close(): Promise<void> }> {
  let requests = 0
  const server: Server = createServer(() => {
    requests++
  })
  const firstRequest = once(server, 'request').then(() => undefined)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/openid`,
    requests: () => requests,
    firstRequest,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('Teams with an App ID: what cannot be verified gets 401', () => {
  it('a request without an Authorization header gets 401; no connector call, nothing changes', async () => {
    const h = await startHarness(db, { config: AUTHENTICATED })
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const before = await snapshotCounts(h.deps)
      const res = await post(h.base, channelText('regenerate bob@acme.test'))
      expect(res.status).toBe(401)
      expect(res.text).toBe(UNAUTHORIZED)
      expect(await snapshotCounts(h.deps)).toEqual(before)
      expect(nock.pendingMocks()).toEqual([])
    } finally {
      await h.close()
    }
  })

  it('a token signed by a key Microsoft does not publish gets 401 after the keys were checked (intercepted); nothing changes', async () => {
    const h = await startHarness(db, { config: AUTHENTICATED })
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = publicKey.export({ format: 'jwk' })
    const login = nock(LOGIN)
      .get('/v1/.well-known/openidconfiguration')
      .reply(200, { issuer: 'https://api.botframework.com', jwks_uri: `${LOGIN}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'] })
      .get('/v1/.well-known/keys')
      .reply(200, { keys: [{ kty: 'RSA', use: 'sig', kid: 'microsoft-key-1', n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] })
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const before = await snapshotCounts(h.deps)
      const res = await post(h.base, channelText('regenerate bob@acme.test'), { authorization: `Bearer ${token('forger-key')}` })
      expect(res.status).toBe(401)
      expect(res.text).toBe(UNAUTHORIZED)
      expect(login.isDone()).toBe(true)
      expect(await snapshotCounts(h.deps)).toEqual(before)
    } finally {
      await h.close()
    }
  })

  it('a forged token while Microsoft cannot be reached (no route out): 401, not a 500 quoting the network error', async () => {
    const h = await start({ authSettings: metadataAt(`${LOGIN}/unreachable/openidconfiguration`) })
    try {
      const res = await post(h.base, channelText('list'), { authorization: `Bearer ${token('microsoft-key-1')}` })
      expect(res).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['keys_unavailable'])
    } finally {
      await h.close()
    }
  })

  it('a metadata endpoint answering 500: 401', async () => {
    const h = await start({ authSettings: metadataAt(`${LOGIN}/broken/openidconfiguration`) })
    nock(LOGIN).get('/broken/openidconfiguration').reply(500, 'upstream trouble at login-7')
    try {
      const res = await post(h.base, channelText('list'), { authorization: `Bearer ${token('microsoft-key-1')}` })
      expect(res).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['keys_unavailable'])
    } finally {
      await h.close()
    }
  })

  it('a metadata endpoint that never answers: a prompt 401, and later requests do not each open another hanging fetch', async () => {
    const silent = await silentServer()
    const h = await start({ authSettings: metadataAt(silent.url), deadlines: { verifyMs: 200 } })
    try {
      const first = await post(h.base, channelText('list'), { authorization: `Bearer ${token('microsoft-key-1')}` })
      const second = await post(h.base, channelText('list'), { authorization: `Bearer ${token('microsoft-key-1')}` })
      expect(first).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(second).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['keys_timeout', 'keys_stalled'])
      // The hanging fetch reaches the server on its own schedule (its deadline may pass before
      // its request does): wait for it, then check that the second request opened none.
      await silent.firstRequest
      expect(silent.requests()).toBe(1)
    } finally {
      await silent.close()
      await h.close()
    }
  })

  it('a token with a published key id but a forged signature (botbuilder: 500 "invalid signature"): 401, and botbuilder prints nothing', async () => {
    const microsoft = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const keys = publishKeys('forged-signature', 'microsoft-key-1', microsoft.publicKey)
    const consoleError = vi.spyOn(console, 'error')
    const h = await start({ authSettings: metadataAt(`${LOGIN}/forged-signature/openidconfiguration`) })
    try {
      const before = await snapshotCounts(h.deps)
      const res = await post(h.base, channelText('list'), { authorization: `Bearer ${token('microsoft-key-1')}` })
      expect(res).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(keys.isDone()).toBe(true)
      expect(h.refusals()).toEqual(['token_rejected'])
      expect(consoleError).not.toHaveBeenCalled()
      // What botbuilder wanted to print went to our log, at debug level.
      expect(h.lines.some((l) => l.includes('"level":20') && l.includes('botbuilder output during verification'))).toBe(true)
      expect(await snapshotCounts(h.deps)).toEqual(before)
    } finally {
      await h.close()
    }
  })

  it('an expired token signed with a published key: 401, before any key is fetched', async () => {
    const microsoft = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const keys = publishKeys('expired', 'microsoft-key-1', microsoft.publicKey)
    const h = await start({ authSettings: metadataAt(`${LOGIN}/expired/openidconfiguration`) })
    const now = Math.floor(Date.now() / 1000)
    try {
      const expired = token('microsoft-key-1', { privateKey: microsoft.privateKey, claims: { nbf: now - 2 * 3600, exp: now - 3600 } })
      const res = await post(h.base, channelText('list'), { authorization: `Bearer ${expired}` })
      expect(res).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['token_expired'])
      expect(keys.isDone()).toBe(false)
    } finally {
      await h.close()
    }
  })

  it('a token for another bot, signed with a published key: 401', async () => {
    const microsoft = generateKeyPairSync('rsa', { modulusLength: 2048 })
    publishKeys('other-audience', 'microsoft-key-1', microsoft.publicKey)
    const h = await start({ authSettings: metadataAt(`${LOGIN}/other-audience/openidconfiguration`) })
    try {
      const other = token('microsoft-key-1', { privateKey: microsoft.privateKey, claims: { aud: '11111111-2222-3333-4444-555555555555' } })
      const res = await post(h.base, channelText('list'), { authorization: `Bearer ${other}` })
      expect(res).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['token_rejected'])
    } finally {
      await h.close()
    }
  })

  it('a missing or garbage Authorization header: 401 with the fixed body, whatever the garbage', async () => {
    const h = await start()
    try {
      const headers: Record<string, string>[] = [{}, { authorization: '' }, { authorization: 'Bearer' }, { authorization: 'Bearer garbage' }, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer a.b.c' }, { authorization: `Bearer ${'x'.repeat(5000)}` }]
      for (const header of headers) expect(await post(h.base, channelText('list'), header)).toEqual({ status: 401, text: UNAUTHORIZED })
      expect(h.refusals()).toEqual(['missing_authorization', 'missing_authorization', 'malformed_authorization', 'malformed_authorization', 'malformed_authorization', 'malformed_authorization', 'malformed_authorization'])
      for (const line of h.lines) expect(line).not.toContain('dXNlcjpwYXNz')
    } finally {
      await h.close()
    }
  })

  it('a malformed envelope without a valid token gets the fixed 401, not a 400 that names the field', async () => {
    const h = await start()
    try {
      const malformed: Activity[] = [
        { ...channelText('list'), serviceUrl: {} as unknown as string },
        { ...channelText('list'), conversation: { id: 'Ā' } },
        { ...channelText('list'), locale: 42 },
      ]
      for (const activity of malformed) {
        expect(await post(h.base, activity)).toEqual({ status: 401, text: UNAUTHORIZED })
        expect(await post(h.base, activity, { authorization: 'Bearer garbage' })).toEqual({ status: 401, text: UNAUTHORIZED })
      }
    } finally {
      await h.close()
    }
  })

  it('a valid token with a malformed envelope: 400 once authenticated, nothing runs; plain http to loopback is no Emulator here', async () => {
    const microsoft = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const keys = publishKeys('envelope', 'microsoft-key-1', microsoft.publicKey)
    const h = await start({ authSettings: metadataAt(`${LOGIN}/envelope/openidconfiguration`) })
    try {
      const before = await snapshotCounts(h.deps)
      // The token vouches for this serviceUrl; with an App ID only https is accepted.
      const loopback = 'http://127.0.0.1:9/amer/'
      const activity: Activity = { ...channelText('list'), serviceUrl: loopback }
      const res = await post(h.base, activity, { authorization: `Bearer ${token('microsoft-key-1', { privateKey: microsoft.privateKey, claims: { serviceurl: loopback } })}` })
      expect(res).toEqual({ status: 400, text: '{"error":"The activity is malformed."}' })
      expect(keys.isDone()).toBe(true)
      expect(h.refusals()).toEqual([])
      const conversation: Activity = { ...channelText('list'), conversation: { id: 'Ā' } }
      const again = await post(h.base, conversation, { authorization: `Bearer ${token('microsoft-key-1', { privateKey: microsoft.privateKey })}` })
      expect(again.status).toBe(400)
      expect(await snapshotCounts(h.deps)).toEqual(before)
      expect(nock.pendingMocks()).toEqual([])
    } finally {
      await h.close()
    }
  })

  it('a valid token is accepted (an activity that needs no answer: 200, no outside call)', async () => {
    const microsoft = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const keys = publishKeys('valid', 'microsoft-key-1', microsoft.publicKey)
    const h = await start({ authSettings: metadataAt(`${LOGIN}/valid/openidconfiguration`) })
    try {
      const activity: Activity = { ...channelText(''), type: 'conversationUpdate' }
      const res = await post(h.base, activity, { authorization: `Bearer ${token('microsoft-key-1', { privateKey: microsoft.privateKey })}` })
      expect(res.status).toBe(200)
      expect(keys.isDone()).toBe(true)
      expect(h.refusals()).toEqual([])
    } finally {
      await h.close()
    }
  })
})
