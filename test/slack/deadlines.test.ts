/**
 * Every Slack call has a deadline: a Slack that accepts the connection and never answers makes
 * that call fail cleanly, the administrator is told what can still be told, a warning is logged,
 * and the work after the ack ends. Slack is a local server (SLACK_API_URL points at it, and so do
 * the response_urls) that answers some methods and hangs on others; the deadlines are shortened
 * through the router's options.
 */
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createSlackRouter, type SlackRouter } from '../../adapters/slack/router.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { capturingLogger } from '../web/support.ts'
import { ADMIN_EMAIL, BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, formBody, postSigned, slashCommand, snapshotCounts, useSlackRouteTests } from './support.ts'

let db: TestDatabase
useSlackRouteTests({ onDatabase: (x) => (db = x) })

const member = readFileSync(new URL('./fixtures/users-info-member.json', import.meta.url), 'utf8')
const RESPONSE_PATH = '/hooks/commands/T0001INVOPS/1/abcdefghijklmnop'

/** Slack on loopback: each of `users.info`, `chat.postMessage` and the response_url answers, or hangs. */
async function slack(hang: { usersInfo?: boolean; postMessage?: boolean; responseUrl?: boolean }) {
  const responses: Record<string, unknown>[] = []
  const posted: string[] = []
  let hung = 0
  const server: Server = createServer((req, res) => {
    const path = req.url ?? ''
    const hangs = (path === '/api/users.info' && hang.usersInfo) || (path === '/api/chat.postMessage' && hang.postMessage) || (path === RESPONSE_PATH && hang.responseUrl)
    if (hangs) {
      hung++
      return // accepted, never answered
    }
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      if (path === '/api/users.info') return res.writeHead(200, { 'content-type': 'application/json' }).end(member)
      if (path === '/api/chat.postMessage') {
        posted.push(body)
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: CHANNEL, ts: '1732615300.000100' }))
      }
      if (path === RESPONSE_PATH) {
        responses.push(JSON.parse(body) as Record<string, unknown>)
        return res.writeHead(200).end('ok')
      }
      res.writeHead(404).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    responses,
    posted,
    hung: () => hung,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Running {
  base: string
  deps: TestDeps
  seed: SeededAccount
  router: SlackRouter
  lines: string[]
  close(): Promise<void>
}

async function start(apiOrigin: string): Promise<Running> {
  const logger = capturingLogger()
  const deps = makeDeps(db.knex, { logger })
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
  const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the test workspace')
  const router = createSlackRouter(
    deps,
    { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: `${apiOrigin}/api/` },
    { clientOptions: { retryConfig: { retries: 0 } }, deadlines: { webApiMs: 1_000, responseUrlMs: 1_000 } },
  )
  const served = await serveRouter(db.knex, router)
  return { ...served, deps, seed, router, lines: logger.lines }
}

/** One slash command, answered at `origin`'s response_url; waits for the work after the ack. */
async function run(h: Running, origin: string, text: string): Promise<number> {
  const res = await postSigned(h.base, formBody(slashCommand(text, { response_url: `${origin}${RESPONSE_PATH}`, trigger_id: `trigger-${Math.random()}` })))
  await h.router.idle()
  return res.status
}

describe('Slack deadlines', () => {
  it('users.info never answers: the administrator is told Slack could not vouch for them, nothing changes, a warning is logged', async () => {
    const s = await slack({ usersInfo: true })
    const h = await start(s.origin)
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const before = await snapshotCounts(h.deps)
      expect(await run(h, s.origin, 'regenerate bob@acme.test')).toBe(200)
      expect(s.hung()).toBe(1)
      expect(JSON.stringify(s.responses)).toContain('I could not check who you are with Slack just now')
      expect(h.lines.some((l) => l.includes('slack users.info failed'))).toBe(true)
      const after = await snapshotCounts(h.deps)
      expect({ ...after, audit_log: before.audit_log }).toEqual(before)
    } finally {
      await h.close()
      await s.close()
    }
  })

  it('chat.postMessage never answers: the confirmation comes through the response_url instead', async () => {
    const s = await slack({ postMessage: true })
    const h = await start(s.origin)
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      expect(await run(h, s.origin, 'regenerate bob@acme.test')).toBe(200)
      expect(s.hung()).toBe(1)
      expect(s.responses).toHaveLength(1)
      expect(s.responses[0]).toMatchObject({ response_type: 'in_channel' })
      expect(JSON.stringify(s.responses[0])).toContain('sent a new invitation to bob@acme.test')
      expect(h.lines.some((l) => l.includes('chat.postMessage refused'))).toBe(true)
    } finally {
      await h.close()
      await s.close()
    }
  })

  it('the response_url never answers: the work ends (no hang, no crash), warnings say so without the URL', async () => {
    const s = await slack({ responseUrl: true })
    const h = await start(s.origin)
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      expect(await run(h, s.origin, 'show bob@acme.test')).toBe(200)
      // The answer, then the "something went wrong" notice: both hung, both given up.
      expect(s.hung()).toBe(2)
      const warnings = h.lines.filter((l) => l.includes('response_url post failed'))
      expect(warnings).toHaveLength(2)
      expect(warnings.every((l) => l.includes('"reason":"timeout"'))).toBe(true)
      expect(h.lines.find((l) => l.includes('slack work failed'))).toContain('response_url did not answer within 1000 ms')
      for (const line of h.lines) expect(line).not.toContain(RESPONSE_PATH)
    } finally {
      await h.close()
      await s.close()
    }
  })
})
