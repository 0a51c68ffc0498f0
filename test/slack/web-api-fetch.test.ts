/**
 * The Web API clients' `fetch` (adapters/slack/http-fetch.ts) as the route uses it: a signed
 * command's `users.info` and `chat.postMessage` go over `node:https` and never through the global
 * `fetch` (what would change if workspaces.ts stopped giving the WebClient this `fetch`); and a
 * rate limit (429 with Retry-After) meets the same client behaviour as with the global `fetch`:
 * a read waits it out and asks again, a write is refused at once and not retried. A kept-alive
 * connection dropped under a call: a read is sent again on another connection, a write is not.
 * Slack is played by nock, or by a loopback server where a real connection matters.
 */
import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { ErrorCode, WebClientEvent, type FetchFunction } from '@slack/web-api'
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSlackWorkspaces } from '../../adapters/slack/workspaces.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps } from '../support/factories.ts'
import { ALICE, API_ORIGIN, API_URL, BOT_TOKEN, SIGNING_SECRET, capturePostMessages, formBody, mockResponseUrl, mockUsersInfo, postSigned, slashCommand, startHarness, useSlackRouteTests, type SeenCall } from './support.ts'

let db: TestDatabase
useSlackRouteTests({ onDatabase: (x) => (db = x) })

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NODE_USE_ENV_PROXY'] as const

beforeEach(() => {
  // With a proxy configured the clients hand their calls to the global fetch on purpose.
  for (const name of PROXY_VARIABLES) vi.stubEnv(name, undefined)
  vi.stubEnv('NODE_OPTIONS', undefined)
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

/** The path of each call to Slack's Web API origin, given a call's first argument (a URL or a string). */
function apiPaths(calls: unknown[][]): string[] {
  return calls.map(([target]) => (target instanceof URL ? target : typeof target === 'string' ? new URL(target) : null)).flatMap((u) => (u && u.origin === API_ORIGIN ? [u.pathname] : []))
}

describe('the Web API clients of the route', () => {
  it("a command's users.info and chat.postMessage go over node:https, none through the global fetch", async () => {
    const globalFetch = vi.spyOn(globalThis, 'fetch')
    const httpsRequest = vi.spyOn(https, 'request')
    const h = await startHarness(db)
    try {
      await inviteUser(h.deps, h.seed, 'bob@acme.test')
      h.deps.clock.advance(8 * DAY)
      const users = mockUsersInfo(ALICE)
      const posts: SeenCall[] = []
      capturePostMessages(posts)
      const replies: unknown[] = []
      mockResponseUrl(slashCommand('').response_url as string, replies)

      const res = await postSigned(h.base, formBody(slashCommand('regenerate bob@acme.test')))
      await h.router.idle()

      expect(res.status).toBe(200)
      expect(users.isDone()).toBe(true)
      expect(posts).toHaveLength(1)
      expect(apiPaths(httpsRequest.mock.calls)).toEqual(['/api/users.info', '/api/chat.postMessage'])
      expect(apiPaths(globalFetch.mock.calls)).toEqual([])
    } finally {
      await h.close()
    }
  })
})

describe('a 429 with Retry-After through the WebClient: the same with this fetch as with the global fetch', () => {
  /** Resolves `p` while advancing the fake clock, so the client's waits (Retry-After, its retry's back-off) pass without waiting. */
  async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
    let out: { value?: T; error?: unknown } | undefined
    p.then(
      (value) => (out = { value }),
      (error: unknown) => (out = { error }),
    )
    while (!out) {
      await vi.advanceTimersByTimeAsync(100)
      await new Promise((resolve) => setImmediate(resolve))
    }
    return out
  }

  /** users.info (a read) and chat.postMessage (a write), each answered 429 with Retry-After: 1 first; what the clients did. */
  async function rateLimited(fetch: FetchFunction | null) {
    const deps = makeDeps(db.knex)
    const workspaces = createSlackWorkspaces(deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, fetch ? { clientOptions: { fetch } } : {})
    const { reads, writes } = workspaces.clients(BOT_TOKEN)
    const limitedFor: number[] = []
    reads.on(WebClientEvent.RATE_LIMITED, (seconds: number) => limitedFor.push(seconds))
    writes.on(WebClientEvent.RATE_LIMITED, (seconds: number) => limitedFor.push(seconds))
    const readAt: number[] = []
    const writeAt: number[] = []
    nock(API_ORIGIN)
      .post('/api/users.info', () => readAt.push(Date.now()) > 0)
      .reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' })
      .post('/api/users.info', () => readAt.push(Date.now()) > 0)
      .reply(200, { ok: true, user: { id: ALICE } })
    nock(API_ORIGIN)
      .post('/api/chat.postMessage', () => writeAt.push(Date.now()) > 0)
      .times(2)
      .reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' })

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      const read = await settle(reads.users.info({ user: ALICE }))
      const write = await settle(writes.chat.postMessage({ channel: 'C1', text: 'hello' }))
      const writeError = write.error as { code?: unknown; retryAfter?: unknown } | undefined
      return {
        read: { answer: read.value?.ok, attempts: readAt.length, waitedOutRetryAfter: readAt.length === 2 && readAt[1]! - readAt[0]! >= 1_000 },
        write: { answered: write.value !== undefined, code: writeError?.code, retryAfter: writeError?.retryAfter, attempts: writeAt.length },
        limitedFor,
      }
    } finally {
      vi.useRealTimers()
      nock.cleanAll()
    }
  }

  it('a read waits Retry-After out and asks again; a write is refused at once, not retried', async () => {
    const ours = await rateLimited(null)
    const global = await rateLimited(globalThis.fetch)
    expect(ours).toEqual({
      read: { answer: true, attempts: 2, waitedOutRetryAfter: true },
      write: { answered: false, code: ErrorCode.RateLimitedError, retryAfter: 1, attempts: 1 },
      limitedFor: [1, 1],
    })
    expect(global).toEqual(ours)
  })
})

describe('a kept-alive connection dropped under a call (a loopback server)', () => {
  let server: http.Server | null = null

  // nock, while active, opens a new connection for each call it lets through: none is ever reused.
  beforeEach(() => nock.restore())

  afterEach(async () => {
    if (!nock.isActive()) nock.activate()
    server?.closeAllConnections()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = null
  })

  /** Answers the first request of each connection, and drops the connection under any later one; the calls it saw. */
  async function dropping(): Promise<{ apiUrl: string; log: { path: string; connection: number; answered: boolean }[] }> {
    const connections: unknown[] = []
    const log: { path: string; connection: number; answered: boolean }[] = []
    const counts = new Map<unknown, number>()
    server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const socket = req.socket
        if (!connections.includes(socket)) connections.push(socket)
        const nth = (counts.get(socket) ?? 0) + 1
        counts.set(socket, nth)
        const connection = connections.indexOf(socket) + 1
        log.push({ path: req.url ?? '', connection, answered: nth === 1 })
        if (nth === 1) {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ ok: true, user: { id: ALICE }, channel: 'C1', ts: '1.2' }))
        } else socket.destroy()
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, log }
  }

  it('a read is sent again on another connection and answered; a write rejects, sent once', async () => {
    const { apiUrl, log } = await dropping()
    // The clients' own retries off: what is counted is what their fetch does.
    const workspaces = createSlackWorkspaces(makeDeps(db.knex), { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl }, { clientOptions: { retryConfig: { retries: 0 } } })
    const { reads, writes } = workspaces.clients(BOT_TOKEN)

    expect((await reads.users.info({ user: ALICE })).ok).toBe(true)
    expect((await reads.users.info({ user: ALICE })).ok).toBe(true)
    await expect(writes.chat.postMessage({ channel: 'C1', text: 'hello' })).rejects.toThrow()

    expect(log).toEqual([
      { path: '/api/users.info', connection: 1, answered: true },
      { path: '/api/users.info', connection: 1, answered: false },
      { path: '/api/users.info', connection: 2, answered: true },
      { path: '/api/chat.postMessage', connection: 2, answered: false },
    ])
  })
})
