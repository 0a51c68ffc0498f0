/**
 * The Web API clients' `fetch` (adapters/slack/http-fetch.ts) against a real HTTP server on
 * loopback: what it sends, and that it answers as `fetch` does (status, headers, body; a refused
 * connection, a redirect and an abort reject the way `fetch` rejects them).
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { slackFetch } from '../../adapters/slack/http-fetch.ts'

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let server: http.Server | null = null

afterEach(async () => {
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
})
