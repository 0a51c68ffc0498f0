/**
 * Which Web API calls the request path tries again: reads (`users.info`) a couple of times, writes
 * (`chat.postMessage`) never, since a post that timed out may have reached Slack and a second one
 * would show the confirmation twice. Through the real route, with the router's own retry policy
 * (no `retryConfig` from the test) and a short deadline; Slack is played by nock.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createSlackRouter, type SlackRouter } from '../../adapters/slack/router.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { capturingLogger } from '../web/support.ts'
import { ADMIN_EMAIL, ALICE, API_ORIGIN, API_URL, BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, fixture, formBody, mockResponseUrl, mockUsersInfo, postSigned, slashCommand, useSlackRouteTests } from './support.ts'

let db: TestDatabase
useSlackRouteTests({ onDatabase: (x) => (db = x) })

const RESPONSE_URL = fixture<Record<string, string>>('slash-command.json').response_url as string

interface Running {
  base: string
  deps: TestDeps
  seed: SeededAccount
  router: SlackRouter
  lines: string[]
  close(): Promise<void>
}

/** The route with production retries; a Web API attempt may take 1 s (short, yet far above what a loaded test machine needs for an answer that comes). */
async function start(): Promise<Running> {
  const logger = capturingLogger()
  const deps = makeDeps(db.knex, { logger })
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
  const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the test workspace')
  const router = createSlackRouter(deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { deadlines: { webApiMs: 1_000 } })
  const served = await serveRouter(db.knex, router)
  return { ...served, deps, seed, router, lines: logger.lines }
}

async function regenerate(h: Running): Promise<void> {
  await inviteUser(h.deps, h.seed, 'bob@acme.test')
  h.deps.clock.advance(8 * DAY)
  const res = await postSigned(h.base, formBody(slashCommand('regenerate bob@acme.test')))
  expect(res.status).toBe(200)
  await h.router.idle()
}

describe('Web API retries on the request path', () => {
  it('a chat.postMessage that times out is attempted once; the confirmation comes through the response_url', async () => {
    const h = await start()
    try {
      let attempts = 0
      mockUsersInfo(ALICE)
      // Ready to answer (too late) as often as the client would try.
      nock(API_ORIGIN)
        .post('/api/chat.postMessage', () => {
          attempts++
          return true
        })
        .times(3)
        .delay(5_000)
        .reply(200, { ok: true, channel: CHANNEL, ts: '1732615300.000100' })
      const replies: Record<string, unknown>[] = []
      mockResponseUrl(RESPONSE_URL, replies, 2)

      await regenerate(h)

      expect(attempts).toBe(1)
      expect(replies).toHaveLength(1)
      expect(replies[0]).toMatchObject({ response_type: 'in_channel' })
      expect(JSON.stringify(replies[0])).toContain('sent a new invitation to bob@acme.test')
      expect(h.lines.some((l) => l.includes('chat.postMessage refused'))).toBe(true)
    } finally {
      await h.close()
    }
  })

  it('a users.info that fails once is asked again, and the command goes through', async () => {
    const h = await start()
    try {
      const failed = nock(API_ORIGIN).post('/api/users.info').reply(500, 'upstream trouble')
      const users = mockUsersInfo(ALICE)
      const posted: unknown[] = []
      const chat = nock(API_ORIGIN)
        .post('/api/chat.postMessage', (b: unknown) => {
          posted.push(b)
          return true
        })
        .reply(200, { ok: true, channel: CHANNEL, ts: '1732615300.000100' })

      await regenerate(h)

      expect(failed.isDone()).toBe(true)
      expect(users.isDone()).toBe(true)
      expect(chat.isDone()).toBe(true)
      expect(posted).toHaveLength(1)
    } finally {
      await h.close()
    }
  })
})
