import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import type { Deps } from '../../../src/deps.ts'
import type { WebhookSettings } from '../../../src/webhooks/config.ts'
import { addWebhookEndpoint } from '../../../src/webhooks/endpoints.ts'
import type { Actor } from '../../../src/invitations/model.ts'

/**
 * A product's webhook receiver for the tests: a real HTTP server on 127.0.0.1 that verifies every
 * delivery with the `standardwebhooks` library (as a product would) and records what it accepted.
 * It can be down in two ways: `refuse()` closes the port (connection refused), `answer(503)`
 * keeps it open and fails every request; `up()` brings it back on the same port.
 *
 * The library checks `webhook-timestamp` against `Date.now()` (five minutes either way): tests
 * that move time move `Date` with it (`vi.setSystemTime`).
 */

export interface Delivery {
  id: string
  timestamp: string
  type: string
  data: Record<string, unknown>
  body: string
  headers: IncomingHttpHeaders
}

export interface Receiver {
  readonly url: string
  /** The endpoint's signing secret (known once the endpoint is added). */
  secret: string
  /** Deliveries that verified and were answered 2xx, in the order they arrived. */
  readonly accepted: Delivery[]
  /** Requests refused for a bad or missing signature. */
  readonly unverified: string[]
  /** Requests answered with a failure status while down. */
  failedAnswers: number
  /** Resolves once `count` deliveries were accepted (an event, not a poll). */
  waitFor(count: number): Promise<void>
  /** Answer every request with this status (200 = working). */
  answer(status: number): void
  /** Close the port: connections are refused. */
  refuse(): Promise<void>
  /** Listen again on the same port and answer 200. */
  up(): Promise<void>
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  let status = 200
  let server: Server
  const accepted: Delivery[] = []
  const unverified: string[] = []
  const waiters: { count: number; resolve: () => void }[] = []
  const receiver = {
    url: '',
    secret: '',
    accepted,
    unverified,
    failedAnswers: 0,
    waitFor(count: number) {
      return accepted.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))
    },
    answer(s: number) {
      status = s
    },
    async refuse() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
    },
    async up() {
      status = 200
      server = make()
      await listen(server, port)
    },
    async close() {
      if (server.listening) await receiver.refuse()
    },
  }
  function make(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        if (status !== 200) {
          receiver.failedAnswers++
          res.writeHead(status).end()
          return
        }
        try {
          const payload = new Webhook(receiver.secret).verify(body, req.headers as Record<string, string>) as { type: string; data: Record<string, unknown> }
          accepted.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), type: payload.type, data: payload.data, body, headers: req.headers })
          res.writeHead(204).end()
          for (const w of waiters.filter((w) => accepted.length >= w.count)) w.resolve()
        } catch (err) {
          unverified.push(err instanceof Error ? err.message : String(err))
          res.writeHead(401).end()
        }
      })
    })
  }
  server = make()
  const port = await listen(server, 0)
  receiver.url = `http://127.0.0.1:${port}/hooks/inviteops`
  return receiver
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** A port on 127.0.0.1 nothing listens on (bound, then closed): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  const port = await listen(server, 0)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A receiver added as an endpoint of `accountId` for every event, its secret set. */
export async function startEndpointReceiver(deps: Deps, settings: Pick<WebhookSettings, 'allowPrivate' | 'httpsOnly'>, owner: { accountId: string; actor: Actor }): Promise<Receiver> {
  const receiver = await startReceiver()
  const added = await addWebhookEndpoint(deps, settings, { accountId: owner.accountId, url: receiver.url, events: null, actor: owner.actor })
  if (!added.ok) throw new Error(`add endpoint: ${added.code}`)
  receiver.secret = added.value.secret
  return receiver
}
