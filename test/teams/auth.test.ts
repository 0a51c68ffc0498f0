/**
 * With an App ID set, botbuilder validates the Bot Framework JWT on every activity (DESIGN.md §5):
 * a request without a valid token gets 401 and nothing runs. The network stays closed: the one
 * outside call botbuilder makes (the Bot Framework's OpenID metadata and signing keys) is played
 * by nock with keys that do not include the forger's.
 */
import { generateKeyPairSync, createSign } from 'node:crypto'
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import type { TeamsConfig } from '../../adapters/teams/config.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser } from '../support/factories.ts'
import { channelText, post, snapshotCounts, startHarness, useTeamsRouteTests } from './support.ts'

const APP_ID = '0f5c2a1e-7d3b-4c9a-8e6f-1a2b3c4d5e6f'
const AUTHENTICATED: TeamsConfig = { appId: APP_ID, appPassword: 'test-client-secret', appType: 'MultiTenant', tenantId: null }

let db: TestDatabase
useTeamsRouteTests({ onDatabase: (x) => (db = x) })

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url')

/** A JWT shaped like the Bot Framework's, signed with a key of our own. */
function forgedToken(kid: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const now = Math.floor(Date.now() / 1000)
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))
  const payload = b64url(JSON.stringify({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: 'https://smba.trafficmanager.net/amer/', nbf: now - 60, exp: now + 3600 }))
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey)
  return `${header}.${payload}.${b64url(signature)}`
}

describe('Teams with an App ID', () => {
  it('a request without an Authorization header gets 401; no connector call, nothing changes', async () => {
    const h = await startHarness(db, { config: AUTHENTICATED })
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const before = await snapshotCounts(h.deps)
      const res = await post(h.base, channelText('regenerate bob@acme.test'))
      expect(res.status).toBe(401)
      expect(res.text).not.toMatch(/at .*:\d+:\d+/)
      expect(await snapshotCounts(h.deps)).toEqual(before)
      expect(nock.pendingMocks()).toEqual([])
    } finally {
      await h.close()
    }
  })

  it('a forged token gets 401 after botbuilder checked the signing keys (intercepted); nothing changes', async () => {
    const h = await startHarness(db, { config: AUTHENTICATED })
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = publicKey.export({ format: 'jwk' })
    const login = nock('https://login.botframework.com')
      .get('/v1/.well-known/openidconfiguration')
      .reply(200, { issuer: 'https://api.botframework.com', jwks_uri: 'https://login.botframework.com/v1/.well-known/keys', id_token_signing_alg_values_supported: ['RS256'] })
      .get('/v1/.well-known/keys')
      .reply(200, { keys: [{ kty: 'RSA', use: 'sig', kid: 'microsoft-key-1', n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] })
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const before = await snapshotCounts(h.deps)
      const res = await post(h.base, channelText('regenerate bob@acme.test'), { authorization: `Bearer ${forgedToken('forger-key')}` })
      expect(res.status).toBe(401)
      expect(login.isDone()).toBe(true)
      expect(await snapshotCounts(h.deps)).toEqual(before)
    } finally {
      await h.close()
    }
  })
})
