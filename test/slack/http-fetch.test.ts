/**
 * The Web API clients' `fetch` (adapters/slack/http-fetch.ts) against a real HTTP server on
 * loopback: what it sends, and that it answers as `fetch` does (status, headers, body; a refused
 * connection, a redirect and an abort reject the way `fetch` rejects them); its limit on an
 * answer's size, its second try (only when asked for, as the reads client does) when a kept-alive
 * connection is dropped under a request, and its hand-over to the global `fetch` when a proxy is
 * configured.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MAX_ANSWER_BYTES, createSlackFetch } from '../../adapters/slack/http-fetch.ts'

/** The writes client's `fetch` (no retry), and the reads client's. */
const slackFetch = createSlackFetch()
const retryingFetch = createSlackFetch({ retryDropped: true })

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let server: http.Server | null = null

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NODE_USE_ENV_PROXY'] as const

beforeEach(() => {
  // Whatever the machine running the tests has set, these tests are about the direct path.
  for (const name of PROXY_VARIABLES) vi.stubEnv(name, undefined)
  vi.stubEnv('NODE_OPTIONS', undefined)
})

afterEach(async () => {
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = null
})

/** A server answering each request with `answer`; returns its base URL and what it received. */
async function serve(answer: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = []
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      seen.push(s)
      answer(req, res, s)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-1' }, body: 'channel=C1&text=h%C3%A9llo', redirect: 'error' } as const

describe('slackFetch', () => {
  it('posts the body with its headers and length, and answers with the status, headers and body', async () => {
    const { base, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': 'chat:write, users:read' })
      res.end(JSON.stringify({ ok: true, text: 'héllo' }))
    })
    const res = await slackFetch(`${base}/api/chat.postMessage`, form)
    expect(seen).toEqual([expect.objectContaining({ method: 'POST', url: '/api/chat.postMessage', body: 'channel=C1&text=h%C3%A9llo' })])
    expect(seen[0]?.headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-1', 'content-length': String(Buffer.byteLength(form.body)) })
    expect(res.status).toBe(200)
    expect(res.ok).toBe(true)
    expect(res.url).toBe(`${base}/api/chat.postMessage`)
    expect(res.headers.get('x-oauth-scopes')).toBe('chat:write, users:read')
    expect(await res.json()).toEqual({ ok: true, text: 'héllo' })
  })

  it('any status resolves, with its text and headers (a 429 with Retry-After, a 500)', async () => {
    let status = 429
    const { base } = await serve((_req, res) => {
      res.writeHead(status, status === 429 ? { 'retry-after': '3' } : {})
      res.end(status === 429 ? '' : 'down')
    })
    const limited = await slackFetch(`${base}/api/users.info`, form)
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3'])
    status = 500
    const down = await slackFetch(`${base}/api/users.info`, form)
    expect([down.status, down.ok, await down.text()]).toEqual([500, false, 'down'])
  })

  it('a compressed answer is read decompressed', async () => {
    const { base } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(zlib.gzipSync(JSON.stringify({ ok: true })))
    })
    expect(await (await slackFetch(`${base}/api/users.info`, form)).json()).toEqual({ ok: true })
  })

  it('a redirect is refused as fetch refuses it with redirect: error', async () => {
    const { base } = await serve((_req, res) => {
      res.writeHead(302, { location: 'https://elsewhere.test/' })
      res.end()
    })
    await expect(slackFetch(`${base}/api/chat.postMessage`, form)).rejects.toThrow(TypeError)
  })

  it('a refused connection rejects with TypeError("fetch failed")', async () => {
    const { base } = await serve(() => {})
    server?.close()
    await once(server!, 'close')
    server = null
    await expect(slackFetch(`${base}/api/chat.postMessage`, form)).rejects.toThrow('fetch failed')
  })

  it('an abort while the server holds the answer rejects with the signal reason (a deadline is a TimeoutError)', async () => {
    const controller = new AbortController()
    const { base } = await serve(() => {
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
    })
    const error = await slackFetch(`${base}/api/chat.postMessage`, { ...form, signal: controller.signal }).catch((e: unknown) => e)
    expect((error as Error).name).toBe('TimeoutError')
  })

  it('an answer larger than MAX_ANSWER_BYTES rejects as it arrives, with a cause that says so (the server is not read to its end)', async () => {
    let closed: () => void = () => {}
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve))
    const { base } = await serve((_req, res) => {
      // An answer without end: 64 KiB at a time for as long as the client reads.
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const more = () => {
        let room = true
        while (room && !res.destroyed) room = res.write(chunk)
      }
      res.on('drain', more)
      res.on('close', () => closed())
      more()
    })
    const error = await slackFetch(`${base}/api/users.info`, form).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe('fetch failed')
    expect(String((error as Error).cause)).toContain(`larger than ${MAX_ANSWER_BYTES} bytes`)
    await connectionClosed
  })

  it('a compressed answer that decompresses beyond MAX_ANSWER_BYTES rejects with a cause that says so', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(MAX_ANSWER_BYTES + 1, 0x20))
    const { base } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(bomb)
    })
    const error = await slackFetch(`${base}/api/users.info`, form).catch((e: unknown) => e)
    expect((error as Error).message).toBe('fetch failed')
    expect(String((error as Error).cause)).toContain(`decompressed answer is larger than ${MAX_ANSWER_BYTES} bytes`)
  })

  describe('a kept-alive connection the server drops under the next request', () => {
    type Drop = 'close' | 'reset' | 'half-answer'
    /**
     * A server that answers the first request of each connection and, on a connection's later
     * requests, closes it at once without a byte of answer (`close`, `reset`), or after the
     * first bytes of a status line (`half-answer`): what a server closing an idle kept-alive
     * connection does when the next request arrives just then.
     */
    async function dropping(drop: Drop) {
      const connections = new Map<unknown, number>()
      const log: { connection: number; nth: number; body: string; answered: boolean }[] = []
      const { base } = await serve((req, res, s) => {
        const socket = req.socket
        if (!connections.has(socket)) connections.set(socket, 0)
        const nth = connections.get(socket)! + 1
        connections.set(socket, nth)
        const connection = [...connections.keys()].indexOf(socket) + 1
        const answer = nth === 1
        log.push({ connection, nth, body: s.body, answered: answer })
        if (answer) {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ ok: true, connection }))
        } else if (drop === 'reset') socket.resetAndDestroy()
        else if (drop === 'half-answer') socket.end('HTTP/1.1 200 O')
        else socket.destroy()
      })
      return { base, log }
    }

    for (const drop of ['close', 'reset'] as const) {
      it(`(${drop}) with retryDropped, the request is sent again on another connection, and answered there`, async () => {
        const { base, log } = await dropping(drop)
        expect(await (await retryingFetch(`${base}/api/users.info`, form)).json()).toEqual({ ok: true, connection: 1 })
        const again = await retryingFetch(`${base}/api/users.info`, form)
        expect(await again.json()).toEqual({ ok: true, connection: 2 })
        expect(log).toEqual([
          { connection: 1, nth: 1, body: form.body, answered: true },
          { connection: 1, nth: 2, body: form.body, answered: false },
          { connection: 2, nth: 1, body: form.body, answered: true },
        ])
      })
    }

    it('only once: dropped again on a second kept-alive connection, the call rejects with TypeError("fetch failed")', async () => {
      const { base, log } = await dropping('close')
      // Two calls at once: two connections, both kept alive afterwards.
      await Promise.all([retryingFetch(`${base}/api/users.info`, form), retryingFetch(`${base}/api/users.info`, form)])
      await expect(retryingFetch(`${base}/api/users.info`, form)).rejects.toThrow('fetch failed')
      expect(log.map((l) => [l.nth, l.answered])).toEqual([
        [1, true],
        [1, true],
        [2, false],
        [2, false],
      ])
      expect(new Set(log.slice(2).map((l) => l.connection))).toEqual(new Set([1, 2]))
    })

    it('not when a byte of an answer came back: the call rejects, the request is not sent again', async () => {
      const { base, log } = await dropping('half-answer')
      await retryingFetch(`${base}/api/users.info`, form)
      await expect(retryingFetch(`${base}/api/users.info`, form)).rejects.toThrow('fetch failed')
      expect(log).toHaveLength(2)
    })

    it('not on a new connection: a request the server drops on its first connection rejects at once', async () => {
      const { base, seen } = await serve((req) => req.socket.destroy())
      await expect(retryingFetch(`${base}/api/users.info`, form)).rejects.toThrow('fetch failed')
      expect(seen).toHaveLength(1)
    })

    for (const drop of ['close', 'reset'] as const) {
      it(`(${drop}) without retryDropped (the writes client), the call rejects and the request was sent once`, async () => {
        const { base, log } = await dropping(drop)
        expect(await (await slackFetch(`${base}/api/users.info`, form)).json()).toEqual({ ok: true, connection: 1 })
        await expect(slackFetch(`${base}/api/chat.postMessage`, form)).rejects.toThrow('fetch failed')
        expect(log).toEqual([
          { connection: 1, nth: 1, body: form.body, answered: true },
          { connection: 1, nth: 2, body: form.body, answered: false },
        ])
      })
    }
  })

  it('with a proxy configured, the call goes to the global fetch as it was made (our agents connect directly)', async () => {
    const answer = new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } })
    const global = vi.spyOn(globalThis, 'fetch').mockResolvedValue(answer)
    for (const name of [...PROXY_VARIABLES, 'NODE_OPTIONS'] as const) {
      global.mockClear()
      vi.stubEnv(name, name === 'NODE_USE_ENV_PROXY' ? '1' : name === 'NODE_OPTIONS' ? '--use-env-proxy' : 'http://proxy.test:3128')
      const url = 'https://slack-api.test/api/users.info'
      expect(await slackFetch(url, form)).toBe(answer)
      expect(global.mock.calls).toEqual([[url, form]])
      vi.stubEnv(name, undefined)
    }
  })

  it('NODE_USE_ENV_PROXY other than 1 is no proxy: the call goes over our agents', async () => {
    const global = vi.spyOn(globalThis, 'fetch')
    const { base, seen } = await serve((_req, res) => res.end('{"ok":true}'))
    vi.stubEnv('NODE_USE_ENV_PROXY', '0')
    expect(await (await slackFetch(`${base}/api/users.info`, form)).json()).toEqual({ ok: true })
    expect(seen).toHaveLength(1)
    expect(global).not.toHaveBeenCalled()
  })
})
