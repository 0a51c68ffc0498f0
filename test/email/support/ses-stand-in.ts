import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A local stand-in for SES's v1 HTTP API (`POST /` with `Action=SendEmail`, form-encoded, as the
 * real AWS SDK sends it), for faults nock cannot play: a connection that is accepted and never
 * answered, or answered only when the test says so. Each request is handed to `decide`, which
 * names what happens to it; every step is recorded in `events`, in order, so a test can assert
 * what happened before what without measuring time.
 */
export type SesBehaviour =
  | 'ok'
  /** Accept the connection, read the request, never answer (until the client gives up). */
  | 'hang'
  /** Wait for the test: `answer()` replies as 'ok' would, `reset()` destroys the connection. */
  | 'hold'

export interface HeldRequest {
  to: string
  answer(): void
  reset(): void
}

export interface SesStandIn {
  url: string
  /** `ok:<to>` when answered, `hang:<to>` when a hung request arrives, `closed:<to>` when its client went away, `held:<to>`, `reset:<to>`. */
  events: string[]
  /** Requests answered 200, by recipient. */
  accepted: string[]
  /** Requests being held for the test, oldest first. */
  held: HeldRequest[]
  /** Resolves when `events` has an entry matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string>
  close(): Promise<void>
}

const okXml = readFileSync(new URL('../fixtures/ses/send-email-ok.xml', import.meta.url), 'utf8')

export async function startSesStandIn(decide: (to: string) => SesBehaviour): Promise<SesStandIn> {
  const events: string[] = []
  const accepted: string[] = []
  const held: HeldRequest[] = []
  const sockets = new Set<Socket>()
  const waiters = new Set<() => void>()
  let n = 0
  const record = (event: string) => {
    events.push(event)
    for (const w of [...waiters]) w()
  }

  const answer = (res: ServerResponse, to: string) => {
    n += 1
    accepted.push(to)
    res.writeHead(200, { 'content-type': 'text/xml' })
    res.end(okXml.replace(/<MessageId>[^<]+<\/MessageId>/, `<MessageId>stand-in-${n}</MessageId>`))
    record(`ok:${to}`)
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const to = new URLSearchParams(body).get('Destination.ToAddresses.member.1') ?? '?'
      const behaviour = decide(to)
      if (behaviour === 'ok') return answer(res, to)
      record(`${behaviour}:${to}`)
      res.on('close', () => {
        if (!res.writableEnded) record(`closed:${to}`)
      })
      if (behaviour === 'hold') {
        held.push({
          to,
          answer: () => answer(res, to),
          reset: () => {
            record(`reset:${to}`)
            req.socket.destroy()
          },
        })
      }
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    events,
    accepted,
    held,
    waitFor(pattern) {
      return new Promise((resolve) => {
        const check = () => {
          const hit = events.find((e) => pattern.test(e))
          if (hit === undefined) return
          waiters.delete(check)
          resolve(hit)
        }
        waiters.add(check)
        check()
      })
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
