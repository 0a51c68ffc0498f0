/**
 * The `fetch` our Web API clients are given (WebClient's `fetch` option): the same request over
 * `node:http`/`node:https` with keep-alive agents, its answer read whole into memory. Node's own
 * `fetch` (undici) builds web streams, a Request and a Response around every call; for the small
 * form posts and JSON answers of the Web API that machinery cost more CPU than the call itself:
 * measured on Node 20 (a WebClient-like form post to a loopback server, a 400-byte JSON answer read
 * whole, the client process's CPU over 3000 calls, median of 5 rounds, two runs on a shared
 * machine), 330-350 µs per call through `fetch`, 135-160 µs through this. On the stack bench it
 * saved about 0.9 ms of the server's CPU per regenerate (docs/performance.md).
 *
 * Only what the WebClient asks for is done here: a POST or GET with a string body,
 * `redirect: 'error'`, an abort signal (the call's deadline). Anything else (a Request object, a
 * form with files, redirects to follow) goes to the global `fetch`, as before, and so does every
 * call while a proxy is configured (see `proxyConfigured`). What a caller sees is what `fetch`
 * gives: a refused connection or a redirect rejects with `TypeError('fetch failed')`, an aborted
 * call with the signal's reason (a `TimeoutError` at a deadline), any status resolves.
 *
 * One limit `fetch` does not have: an answer larger than `MAX_ANSWER_BYTES` (as it arrives, or
 * once decompressed) rejects with `TypeError('fetch failed')` whose cause says so.
 *
 * One retry, only when asked for (`createSlackFetch({ retryDropped: true })`, the reads client): a
 * request sent on a reused keep-alive connection that the server closed just then, before any
 * byte of an answer, is sent once more on another connection (the pattern Node's documentation
 * gives for `request.reusedSocket`). The writes client does not ask for it: the request may have
 * been written whole before the reset, and Slack (or a proxy) may have acted on it; a post sent
 * again would show twice, and a `views.open` sent again fails on its used trigger_id. Node's
 * `fetch` does not send such a request again either.
 */
import http from 'node:http'
import https from 'node:https'
import zlib from 'node:zlib'
import type { FetchFunction } from '@slack/web-api'

/** What the WebClient passes to its `fetch`, and the members of the answer it reads. */
type FetchInit = NonNullable<Parameters<FetchFunction>[1]>
type FetchResponse = Awaited<ReturnType<FetchFunction>>

/** An idle connection is closed after 4 s, as Node's `fetch` does, before a server drops it under a request. */
const agentOptions = { keepAlive: true, timeout: 4_000 }
const agents: Record<string, http.Agent> = {
  'http:': new http.Agent(agentOptions),
  'https:': new https.Agent(agentOptions),
}

/**
 * The largest answer read (compressed as it arrives, and again once decompressed). The Web API
 * methods our clients call answer a few kilobytes; this only bounds the memory a broken or
 * hostile server (or `SLACK_API_URL` pointing at the wrong thing) can make a call hold.
 */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** A `Response` read whole: the members of one the WebClient reads (a missing one is a type error here). */
class BufferedResponse implements FetchResponse {
  readonly ok: boolean
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
    private readonly content: Buffer,
  ) {
    this.ok = status >= 200 && status < 300
  }
  async text(): Promise<string> {
    return this.content.toString('utf8')
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.content.toString('utf8'))
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.content.buffer.slice(this.content.byteOffset, this.content.byteOffset + this.content.byteLength) as ArrayBuffer
  }
}

function plainHeaders(headers: FetchInit['headers']): Record<string, string> | null {
  if (headers === undefined) return {}
  if (headers instanceof Headers || Array.isArray(headers)) return null
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = String(v)
  return out
}

/**
 * A proxy is configured for this process. Our agents connect directly, so the call goes to the
 * global `fetch` instead: on Node releases with `NODE_USE_ENV_PROXY=1` (or `--use-env-proxy`) it
 * sends it through `HTTPS_PROXY`/`HTTP_PROXY` (and honours `NO_PROXY`); Node 20's ignores them,
 * as it did before this file existed. Read on each call: a few environment lookups, too few to
 * show in the CPU per call measured above.
 */
function proxyConfigured(): boolean {
  const env = process.env
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy || env.NODE_USE_ENV_PROXY === '1' || process.execArgv.includes('--use-env-proxy') || env.NODE_OPTIONS?.includes('--use-env-proxy'))
}

function tooLarge(what: string): Error {
  return new Error(`the ${what} is larger than ${MAX_ANSWER_BYTES} bytes`)
}

/** The body as `fetch` would give it: decompressed when the server compressed it anyway, at most `MAX_ANSWER_BYTES`. */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  const limit = { maxOutputLength: MAX_ANSWER_BYTES }
  try {
    switch (encoding?.trim().toLowerCase()) {
      case undefined:
      case '':
      case 'identity':
        return body
      case 'gzip':
      case 'x-gzip':
        return zlib.gunzipSync(body, limit)
      case 'deflate':
        return zlib.inflateSync(body, limit)
      case 'br':
        return zlib.brotliDecompressSync(body, limit)
      default:
        throw new Error(`unsupported content-encoding ${encoding}`)
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw Object.assign(tooLarge('decompressed answer'), { cause: error })
    throw error
  }
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause })
}

/** How a kept-alive connection the server closed under a request shows: reset, or closed before any answer ("socket hang up"). */
function droppedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

export interface SlackFetchOptions {
  /**
   * Send a request once more when a reused keep-alive connection is dropped under it before any
   * byte of an answer (see the file's comment). Only for calls that may safely reach Slack twice
   * (reads); default false.
   */
  retryDropped?: boolean
}

/** A `fetch` for the Web API clients (see the file's comment). */
export function createSlackFetch(options: SlackFetchOptions = {}): FetchFunction {
  const retryDropped = options.retryDropped === true
  return (input, init = {}) => slackFetch(retryDropped, input, init)
}

function slackFetch(retryDropped: boolean, input: Parameters<FetchFunction>[0], init: FetchInit): ReturnType<FetchFunction> {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null
  const body = init.body
  const headers = plainHeaders(init.headers)
  const method = (init.method ?? 'GET').toUpperCase()
  const plainBody = body === undefined || body === null || typeof body === 'string'
  if (url === null || !plainBody || headers === null || init.redirect !== 'error' || (method !== 'POST' && method !== 'GET') || proxyConfigured()) return globalThis.fetch(input, init)
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
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : null
  if (payload) {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8'
    headers['content-length'] = String(payload.length)
  }
  const request = target.protocol === 'https:' ? https.request : http.request
  return new Promise<FetchResponse>((resolve, reject) => {
    let settled = false
    let retried = false
    let req: http.ClientRequest | undefined
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      req?.destroy()
      reject(signal?.aborted ? signal.reason : fetchFailed(error))
    }
    const onAbort = () => fail(signal?.reason)

    const send = () => {
      let answered = false
      // The connection's byte count when this request got it: more by the error means an answer
      // began. Over https `bytesRead` is the TLS socket's, which counts decrypted bytes only (a
      // close_notify alert is not counted).
      let readBefore = -1
      let current: http.ClientRequest
      try {
        current = request(target, { method, headers, agent }, (res) => {
          answered = true
          const status = res.statusCode ?? 0
          if (REDIRECTS.has(status)) {
            res.resume()
            fail(new Error('unexpected redirect'))
            return
          }
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > MAX_ANSWER_BYTES) fail(tooLarge('answer'))
            else chunks.push(chunk)
          })
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
            resolve(new BufferedResponse(status, res.statusMessage ?? '', h, target.href, content))
          })
        })
      } catch (error) {
        // Refused before anything was sent (a header value Node will not send).
        fail(error)
        return
      }
      req = current
      current.on('socket', (socket) => (readBefore = socket.bytesRead))
      current.on('error', (error) => {
        if (settled) return
        // A kept-alive connection the server closed as this request went out: nothing of the
        // request was answered there (no byte came back), so it is sent again, only once, on
        // another connection.
        const nothingArrived = !answered && readBefore >= 0 && (current.socket?.bytesRead ?? readBefore) === readBefore
        if (retryDropped && !retried && current.reusedSocket && nothingArrived && droppedConnection(error)) {
          retried = true
          send()
          return
        }
        fail(error)
      })
      current.end(payload ?? undefined)
    }

    signal?.addEventListener('abort', onAbort, { once: true })
    send()
  })
}
