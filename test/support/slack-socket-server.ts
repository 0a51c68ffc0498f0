/**
 * A local stand-in for Slack's Socket Mode, for the tests of `SLACK_APP_TOKEN`
 * (https://docs.slack.dev/apis/events-api/using-socket-mode): one loopback HTTP server that
 *
 *  - answers `POST /api/apps.connections.open` (the app-level token in `Authorization`) with a
 *    single-use `ws://127.0.0.1:<port>/link/?ticket=…` URL, as Slack answers with a `wss://` one;
 *  - accepts the WebSocket on that URL and says `hello` (unless told to hold it);
 *  - sends envelopes `{ envelope_id, type, payload, accepts_response_payload }` and collects the
 *    client's acknowledgements `{ envelope_id, payload? }`, matched by `envelope_id`;
 *  - ends a link the ways Slack does: a `disconnect` message (`refresh_requested`, `warning`), a
 *    close frame, or a connection that just drops; and pings;
 *  - passes any other request (another Web API method, a `response_url`) to `onRequest`, for a
 *    server in another process that nock cannot reach.
 *
 * In-process tests that play the Web API with nock use `interceptConnectionsOpen` instead of the
 * HTTP route; the links are the same.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import nock from 'nock'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'

/** The envelope types Slack sends over Socket Mode (the `disconnect` and `hello` messages aside). */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api'

/** What the client sent back for an envelope. */
export interface SocketAck {
  envelope_id: string
  payload?: Record<string, unknown>
}

export interface DeliverOptions {
  /** Default a fresh uuid; give the same one twice to play a redelivery. */
  envelopeId?: string
  /** Whether the ack may carry a response (slash commands and view submissions: true). */
  acceptsResponsePayload?: boolean
  /** Slack's retry count and reason for a redelivered envelope (`events_api` carries them). */
  retryAttempt?: number
  retryReason?: string
}

/** One open WebSocket from the app. */
export interface SocketLink {
  readonly id: number
  /** The ticket of the URL the client connected with (one per `apps.connections.open`). */
  readonly ticket: string
  /** Every acknowledgement received on this link, in order. */
  readonly acks: readonly SocketAck[]
  /** Every message received that was not an acknowledgement (should stay empty). */
  readonly strays: readonly unknown[]
  readonly open: boolean
  /** Resolves when the link has closed, whoever closed it. */
  readonly closed: Promise<void>
  /** The close code once closed: 1000 from a client that closed it cleanly, 1006 when the connection just ended. */
  readonly closeCode: number | null
  /** Sends `hello` (done on connect unless the stand-in holds it). */
  hello(): void
  /** Sends an envelope; resolves with the client's ack for it, or rejects if the link closes first. */
  deliver(type: EnvelopeType, payload: unknown, opts?: DeliverOptions): Promise<SocketAck>
  /** Slack's `disconnect` message: the client should close this link and open a new one. */
  disconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled'): void
  /** A close frame from the server. */
  close(code?: number): void
  /** The TCP connection ends without a close frame (a network cut). */
  drop(): void
  /** A ping; resolves with the pong. */
  ping(): Promise<void>
  /** Sends anything, as text (a junk frame, say). */
  sendRaw(text: string): void
}

/** Answers a request the stand-in does not handle itself. */
export type StandInHandler = (req: IncomingMessage, body: string) => { status?: number; json: unknown } | undefined

export interface SlackSocketStandIn {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** The Web API base this stand-in serves (SLACK_API_URL): `${origin}/api/`. */
  apiUrl: string
  /** How many URLs `apps.connections.open` handed out. */
  readonly opens: number
  /** Links open now, oldest first. */
  readonly links: readonly SocketLink[]
  /** The next link to connect (one already waiting if nobody took it yet); said hello to unless held. */
  nextLink(): Promise<SocketLink>
  /** The next `n` calls of `apps.connections.open` fail: with a Slack error (200, ok false) or an HTTP status. */
  failOpens(n: number, failure: { error: string } | { status: number }): void
  /** Held: new links get no `hello` until `link.hello()`. */
  holdHello(hold: boolean): void
  /** Refused: the next `n` WebSocket upgrades are answered with HTTP 503. */
  refuseUpgrades(n: number): void
  /** `apps.connections.open` on nock at `origin` (in-process tests whose Web API is nock). */
  interceptConnectionsOpen(origin: string): nock.Scope
  close(): Promise<void>
}

/** What Slack sends first on a new link (the fields its documentation shows). */
function helloMessage(connections: number): string {
  return JSON.stringify({
    type: 'hello',
    num_connections: connections,
    debug_info: { host: 'applink-standin', build_number: 1, approximate_connection_time: 18060 },
    connection_info: { app_id: 'A0STANDIN' },
  })
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Starts the stand-in on a free loopback port; `appToken` is the only token it accepts. */
export async function startSlackSocketStandIn(opts: { appToken: string; onRequest?: StandInHandler }): Promise<SlackSocketStandIn> {
  const tickets = new Set<string>()
  const links: SocketLink[] = []
  const waiting: SocketLink[] = []
  const waiters: ((link: SocketLink) => void)[] = []
  const failures: ({ error: string } | { status: number })[] = []
  let opens = 0
  let nextId = 1
  let hold = false
  let refusals = 0
  let origin = ''

  /** The answer to `apps.connections.open` for this Authorization header: [status, body]. */
  function connectionsOpen(authorization: string | undefined): [number, unknown] {
    if (authorization !== `Bearer ${opts.appToken}`) return [200, { ok: false, error: 'invalid_auth' }]
    const failure = failures.shift()
    if (failure) return 'status' in failure ? [failure.status, 'upstream trouble'] : [200, { ok: false, error: failure.error }]
    const ticket = randomUUID()
    tickets.add(ticket)
    opens += 1
    return [200, { ok: true, url: `${origin.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=A0STANDIN` }]
  }

  const http: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void readBody(req).then((body) => {
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': typeof json === 'string' ? 'text/plain' : 'application/json' })
        res.end(typeof json === 'string' ? json : JSON.stringify(json))
      }
      if (req.method === 'POST' && req.url === '/api/apps.connections.open') {
        const [status, json] = connectionsOpen(req.headers.authorization)
        reply(status, json)
        return
      }
      const answer = opts.onRequest?.(req, body)
      if (answer) reply(answer.status ?? 200, answer.json)
      else reply(404, { ok: false, error: 'unknown_method' })
    })
  })

  const wss = new WebSocketServer({ noServer: true })
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin)
    const ticket = url.searchParams.get('ticket') ?? ''
    if (url.pathname !== '/link/' || !tickets.has(ticket) || refusals > 0) {
      if (refusals > 0) refusals -= 1
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    // A URL is good for one connection, as Slack's are.
    tickets.delete(ticket)
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, ticket))
  })

  function accept(ws: WebSocket, ticket: string): void {
    const acks: SocketAck[] = []
    const strays: unknown[] = []
    const pendingAcks = new Map<string, { resolve: (a: SocketAck) => void; reject: (e: Error) => void }>()
    let said = false
    let closeCode: number | null = null
    const closed = new Promise<void>((resolve) =>
      ws.once('close', (code: number) => {
        closeCode = code
        resolve()
      }),
    )
    ws.on('message', (data: RawData) => {
      let message: unknown
      try {
        message = JSON.parse(data.toString()) as unknown
      } catch {
        strays.push(data.toString())
        return
      }
      const id = typeof message === 'object' && message !== null && 'envelope_id' in message ? (message as SocketAck).envelope_id : undefined
      if (typeof id !== 'string') {
        strays.push(message)
        return
      }
      acks.push(message as SocketAck)
      pendingAcks.get(id)?.resolve(message as SocketAck)
      pendingAcks.delete(id)
    })
    const link: SocketLink = {
      id: nextId++,
      ticket,
      acks,
      strays,
      get open() {
        return ws.readyState === ws.OPEN
      },
      closed,
      get closeCode() {
        return closeCode
      },
      hello() {
        if (said) return
        said = true
        ws.send(helloMessage(links.length))
      },
      deliver(type, payload, o = {}) {
        const envelopeId = o.envelopeId ?? randomUUID()
        const acked = new Promise<SocketAck>((resolve, reject) => pendingAcks.set(envelopeId, { resolve, reject }))
        const envelope: Record<string, unknown> = { envelope_id: envelopeId, type, payload, accepts_response_payload: o.acceptsResponsePayload ?? type !== 'events_api' }
        if (type === 'events_api' || o.retryAttempt !== undefined) {
          envelope.retry_attempt = o.retryAttempt ?? 0
          envelope.retry_reason = o.retryReason ?? ''
        }
        ws.send(JSON.stringify(envelope))
        return acked
      },
      disconnect(reason) {
        ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-standin' } }))
      },
      close(code = 1001) {
        ws.close(code)
      },
      drop() {
        ws.terminate()
      },
      ping() {
        return new Promise<void>((resolve) => {
          ws.once('pong', () => resolve())
          ws.ping()
        })
      },
      sendRaw(text) {
        ws.send(text)
      },
    }
    links.push(link)
    void closed.then(() => {
      links.splice(links.indexOf(link), 1)
      const w = waiting.indexOf(link)
      if (w >= 0) waiting.splice(w, 1)
      for (const [, p] of pendingAcks) p.reject(new Error(`link ${link.id} closed before the envelope was acknowledged`))
      pendingAcks.clear()
    })
    if (!hold) link.hello()
    const waiter = waiters.shift()
    if (waiter) waiter(link)
    else waiting.push(link)
  }

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`

  return {
    origin,
    apiUrl: `${origin}/api/`,
    get opens() {
      return opens
    },
    links,
    nextLink() {
      const ready = waiting.shift()
      if (ready) return Promise.resolve(ready)
      return new Promise<SocketLink>((resolve) => waiters.push(resolve))
    },
    failOpens(n, failure) {
      for (let i = 0; i < n; i += 1) failures.push(failure)
    },
    holdHello(h) {
      hold = h
    },
    refuseUpgrades(n) {
      refusals = n
    },
    interceptConnectionsOpen(at) {
      return nock(at)
        .post('/api/apps.connections.open')
        .reply(function () {
          const auth = this.req.headers.authorization
          return connectionsOpen(Array.isArray(auth) ? auth[0] : auth) as [number, nock.Body]
        })
        .persist()
    },
    async close() {
      for (const client of wss.clients) client.terminate()
      wss.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
