/**
 * Requests reach the core only when signed as Slack signs them, within five minutes either way
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack). Through the real route.
 */
import nock from 'nock'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { checkSlackSignature, slackSignature } from '../../adapters/slack/verify.ts'
import type { TestDatabase } from '../support/db.ts'
import { formBody, postSigned, slashCommand, snapshotCounts, startHarness, useSlackRouteTests, type Harness } from './support.ts'

/** Slack's own worked example, from the page above. */
const SLACK_EXAMPLE = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: 1531420618,
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
}

let db: TestDatabase
let h: Harness

useSlackRouteTests({ onDatabase: (d) => (db = d) })
afterEach(async () => {
  vi.useRealTimers()
  await h?.close()
})

describe('signature (pure)', () => {
  it("computes Slack's published example exactly", () => {
    expect(slackSignature(SLACK_EXAMPLE.secret, SLACK_EXAMPLE.timestamp, SLACK_EXAMPLE.body)).toBe(SLACK_EXAMPLE.signature)
    const at = (s: number) => checkSlackSignature(SLACK_EXAMPLE.secret, { signature: SLACK_EXAMPLE.signature, timestamp: String(SLACK_EXAMPLE.timestamp) }, SLACK_EXAMPLE.body, s)
    expect(at(SLACK_EXAMPLE.timestamp)).toEqual({ ok: true })
    expect(at(SLACK_EXAMPLE.timestamp + 300)).toEqual({ ok: true })
    expect(at(SLACK_EXAMPLE.timestamp + 301)).toEqual({ ok: false, reason: 'stale' })
    expect(at(SLACK_EXAMPLE.timestamp - 301)).toEqual({ ok: false, reason: 'future' })
  })
})

describe('POST /slack/events signatures', () => {
  it("accepts Slack's published example at its own time (frozen clock)", async () => {
    // The example was signed with another secret: a harness that uses it.
    h = await startHarness(db)
    const { createSlackRouter } = await import('../../adapters/slack/router.ts')
    const { createHttpApp } = await import('../../src/server/http.ts')
    const { silentLogger } = await import('../../src/ports/logger.ts')
    const router = createSlackRouter(h.deps, { signingSecret: SLACK_EXAMPLE.secret, botToken: 'xoxb-x', apiUrl: 'https://slack-api.test/api/' }, { clientOptions: { retryConfig: { retries: 0 } } })
    const { app } = createHttpApp({ db: db.knex, logger: silentLogger, mounts: [{ path: '/', router }] })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as { port: number }).port
    try {
      // Freeze only Date: Bolt and our gate both read Date.now(); timers and I/O stay real.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(SLACK_EXAMPLE.timestamp * 1000 + 30_000)
      const res = await postSigned(`http://127.0.0.1:${port}`, SLACK_EXAMPLE.body, { timestamp: SLACK_EXAMPLE.timestamp, signature: SLACK_EXAMPLE.signature })
      // Verified and handed to Bolt, which answers: the example's command is not ours.
      expect(res.status).toBe(200)
      expect(res.text).toContain('only answers `/invite`')

      vi.setSystemTime(SLACK_EXAMPLE.timestamp * 1000 + 301_000)
      const late = await postSigned(`http://127.0.0.1:${port}`, SLACK_EXAMPLE.body, { timestamp: SLACK_EXAMPLE.timestamp, signature: SLACK_EXAMPLE.signature })
      expect(late.status).toBe(401)
    } finally {
      vi.useRealTimers()
      await router.idle()
      await new Promise((r) => server.close(r))
    }
  })

  const cases: [string, (body: string) => Parameters<typeof postSigned>[2]][] = [
    ['forged (signed with another secret)', (body) => ({ signature: slackSignature('not-the-secret', Math.floor(Date.now() / 1000), body) })],
    ['tampered (valid signature of another body)', () => ({ signature: slackSignature('test-signing-secret-0123456789abcdef', Math.floor(Date.now() / 1000), 'text=help') })],
    ['stale (6 minutes old)', () => ({ timestamp: Math.floor(Date.now() / 1000) - 360 })],
    ['from the future (6 minutes ahead)', () => ({ timestamp: Math.floor(Date.now() / 1000) + 360 })],
    ['far in the future (a year ahead)', () => ({ timestamp: Math.floor(Date.now() / 1000) + 365 * 86_400 })],
    ['missing signature', () => ({ signature: null })],
    ['missing timestamp', () => ({ omitTimestamp: true })],
    ['malformed signature', () => ({ signature: 'v1=abc' })],
  ]

  it.each(cases)('%s → 401 and nothing changes', async (_name, opts) => {
    h = await startHarness(db)
    const before = await snapshotCounts(h.deps)
    const body = formBody(slashCommand('regenerate bob@acme.test'))
    const res = await postSigned(h.base, body, opts(body))
    expect(res.status).toBe(401)
    await h.router.idle()
    expect(await snapshotCounts(h.deps)).toEqual(before)
    // No Slack call was attempted: nock would have thrown on any unmocked host.
    expect(nock.pendingMocks()).toEqual([])
  })
})
