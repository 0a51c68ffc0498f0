import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { Webhook } from 'standardwebhooks'
import type { ResolvedTarget } from './ssrf.ts'

/**
 * One signed POST to a receiver (docs/webhooks.md "Headers"), per the Standard Webhooks
 * specification: `webhook-id` (the message id, the same on every attempt), `webhook-timestamp`
 * (seconds, the time of this attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`, made by
 * the `standardwebhooks` library, the same one a receiver verifies with).
 *
 * Node's own http client rather than fetch: the connection must go to the address that was
 * checked (`ResolvedTarget`) while TLS still verifies the certificate for the URL's name, which is
 * what the `lookup` option gives. Redirects are never followed (a 3xx is a failed attempt: a
 * redirect could point anywhere). One deadline covers connecting, sending and the answer.
 */

export interface SignedMessage {
  /** `msg_…`: the `webhook-id`. */
  id: string
  /** The time of this attempt: the `webhook-timestamp`. */
  timestamp: Date
  /** The JSON body, exactly as signed. */
  body: string
}

export type DeliveryResult = { ok: true; status: number } | { ok: false; status: number | null; reason: string }

/** How much of an answer is read (and then dropped): a receiver's body is never used. */
const ANSWER_MAX = 64 * 1024

/** The three Standard Webhooks headers for `message`, signed with `secret` (`whsec_…`). */
export function signatureHeaders(secret: string, message: SignedMessage): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, message.timestamp, message.body),
  }
}

/** Post `message` to `target`, signed with `secret`, within `timeoutMs`. 2xx is delivered; anything else says why not. Never throws. */
export function deliverWebhook(target: ResolvedTarget, secret: string, message: SignedMessage, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<DeliveryResult> {
  const { url, address, family } = target
  // Every name this request looks up is answered with the checked address, in either calling form.
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }])
    else callback(null, address, family)
  }) as unknown as LookupFunction
  const body = Buffer.from(message.body, 'utf8')
  const options: RequestOptions = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    lookup,
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'user-agent': 'InviteOps-Webhooks/1',
      ...signatureHeaders(secret, message),
    },
  }
  return new Promise<DeliveryResult>((resolve) => {
    let settled = false
    const finish = (result: DeliveryResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      req.destroy()
      resolve(result)
    }
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > ANSWER_MAX) done()
      })
      res.on('end', done)
      res.on('error', done)
      function done() {
        if (status >= 200 && status < 300) finish({ ok: true, status })
        else finish({ ok: false, status, reason: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}` })
      }
    })
    const timer = setTimeout(() => finish({ ok: false, status: null, reason: `no answer within ${opts.timeoutMs} ms` }), opts.timeoutMs)
    const onAbort = () => finish({ ok: false, status: null, reason: 'abandoned at shutdown' })
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, status: null, reason: err.code ? `${err.code}: ${err.message}`.slice(0, 300) : err.message.slice(0, 300) }))
    req.end(body)
  })
}
