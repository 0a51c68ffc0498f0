/**
 * The `fetch` our Web API clients are given (WebClient's `fetch` option): the same request over
 * `node:http`/`node:https` with keep-alive agents, its answer read whole into memory. Node's own
 * `fetch` (undici) builds web streams, a Request and a Response around every call; for the small
 * form posts and JSON answers of the Web API that machinery cost more CPU than the call itself.
 *
 * Only what the WebClient asks for is done here: a POST or GET with a string or byte body,
 * `redirect: 'error'`, an abort signal (the call's deadline). Anything else (a Request object, a
 * form with files, redirects to follow) goes to the global `fetch`, as before. What a caller sees
 * is what `fetch` gives: a refused connection or a redirect rejects with `TypeError('fetch failed')`,
 * an aborted call with the signal's reason (a `TimeoutError` at a deadline), any status resolves.
 */
import http from 'node:http'
import https from 'node:https'
import zlib from 'node:zlib'

/** An idle connection is closed after 4 s, as Node's `fetch` does, before a server drops it under a request. */
const agentOptions = { keepAlive: true, timeout: 4_000 }
const agents: Record<string, http.Agent> = {
  'http:': new http.Agent(agentOptions),
  'https:': new https.Agent(agentOptions),
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** A `Response` read whole: the parts of one the WebClient uses (status, headers, url, the body). */
class BufferedResponse {
  readonly ok: boolean
  readonly redirected = false
  readonly type = 'basic'
  readonly bodyUsed = false
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300
  }
  async text(): Promise<string> {
    return this.body.toString('utf8')
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.body.toString('utf8'))
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength) as ArrayBuffer
  }
}

function plainHeaders(headers: RequestInit['headers']): Record<string, string> | null {
  if (headers === undefined) return {}
  if (headers instanceof Headers) return Object.fromEntries(headers.entries())
  if (Array.isArray(headers)) return null
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = String(v)
  return out
}

/** The body as `fetch` would give it: decompressed when the server compressed it anyway. */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return body
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body)
    case 'deflate':
      return zlib.inflateSync(body)
    case 'br':
      return zlib.brotliDecompressSync(body)
    default:
      throw new Error(`unsupported content-encoding ${encoding}`)
  }
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause })
}

/** `fetch` for the Web API clients (see the file's comment). */
export const slackFetch: typeof fetch = (input, init = {}) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null
  const body = init.body
  const headers = plainHeaders(init.headers)
  const method = (init.method ?? 'GET').toUpperCase()
  const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array
  if (url === null || !plainBody || headers === null || init.redirect !== 'error' || (method !== 'POST' && method !== 'GET')) return globalThis.fetch(input, init)
  let target: URL
  try {
    target = new URL(url)
  } catch (error) {
    return Promise.reject(new TypeError('Invalid URL', { cause: error }))
  }
  const agent = agents[target.protocol]
  if (!agent) return globalThis.fetch(input, init)
  const signal = init.signal ?? undefined
  if (signal?.aborted) return Promise.reject(signal.reason)
  const payload = body === undefined || body === null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (payload) {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type') && typeof body === 'string') headers['content-type'] = 'text/plain;charset=UTF-8'
    headers['content-length'] = String(payload.length)
  }
  return new Promise<Response>((resolve, reject) => {
    let settled = false
    let req: http.ClientRequest | undefined
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      req?.destroy()
      reject(signal?.aborted ? signal.reason : fetchFailed(error))
    }
    const onAbort = () => fail(signal?.reason)
    const request = target.protocol === 'https:' ? https.request : http.request
    try {
      req = request(target, { method, headers, agent }, (res) => {
        const status = res.statusCode ?? 0
        if (REDIRECTS.has(status)) {
          res.resume()
          fail(new Error('unexpected redirect'))
          return
        }
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', fail)
        res.on('close', () => {
          if (!res.complete) fail(new Error('the connection closed before the whole answer arrived'))
        })
        res.on('end', () => {
          if (settled) return
          let content: Buffer
          try {
            content = decoded(Buffer.concat(chunks), res.headers['content-encoding'])
          } catch (error) {
            fail(error)
            return
          }
          settled = true
          signal?.removeEventListener('abort', onAbort)
          const h = new Headers()
          const raw = res.rawHeaders
          for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!)
          resolve(new BufferedResponse(status, res.statusMessage ?? '', h, target.href, content) as unknown as Response)
        })
      })
    } catch (error) {
      // Refused before anything was sent (a header value Node will not send).
      fail(error)
      return
    }
    req.on('error', fail)
    signal?.addEventListener('abort', onAbort, { once: true })
    req.end(payload ?? undefined)
  })
}
