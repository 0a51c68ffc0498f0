import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Knex } from 'knex'
import { createInviteeRouter, type InviteeRouterOptions } from '../../adapters/web/router.ts'
import { Registry } from 'prom-client'
import type { Deps } from '../../src/deps.ts'
import { createHttpApp } from '../../src/server/http.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { afterEach, beforeEach } from 'vitest'
import type { TestDatabase } from '../support/db.ts'
import type { SeededAccount, TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

/** A running app with the invitee router mounted the way the composition root mounts it. */
export interface RunningApp {
  baseUrl: string
  close(): Promise<void>
}

/**
 * Start the real HTTP app (`createHttpApp`, no global body parser) on port 0 with the invitee
 * router mounted at `/` as the composition root does, and after it a route that echoes a raw body
 * (standing in for Bolt, which needs bodies untouched).
 */
export async function startInviteeApp(deps: Deps, opts: InviteeRouterOptions = {}): Promise<RunningApp> {
  const echo = express.Router()
  echo.post('/', (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => res.type('text/plain').send(Buffer.concat(chunks)))
  })
  const { app } = createHttpApp({
    db: deps.db,
    logger: deps.logger,
    registry: new Registry(),
    mounts: [
      { path: '/', router: createInviteeRouter(deps, opts) },
      { path: '/raw-echo', router: echo },
    ],
  })
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/** A fetch client that keeps cookies, like one browser tab. */
export class WebClient {
  readonly cookies = new Map<string, string>()
  constructor(readonly baseUrl: string) {}

  private cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
  }

  private keep(res: Response): Response {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return res
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: string }> {
    const res = this.keep(await fetch(this.baseUrl + path, { headers: { ...this.cookieHeader(), ...headers }, redirect: 'manual' }))
    return { res, body: await res.text() }
  }

  /** POST a form (urlencoded unless `body`/`contentType` say otherwise). */
  async post(
    path: string,
    form: Record<string, string> | URLSearchParams | string,
    opts: { contentType?: string | null; headers?: Record<string, string> } = {},
  ): Promise<{ res: Response; body: string }> {
    const body = typeof form === 'string' ? form : new URLSearchParams(form).toString()
    const headers: Record<string, string> = { ...this.cookieHeader(), ...(opts.headers ?? {}) }
    const type = opts.contentType === undefined ? 'application/x-www-form-urlencoded' : opts.contentType
    if (type !== null) headers['content-type'] = type
    const res = this.keep(await fetch(this.baseUrl + path, { method: 'POST', headers, body, redirect: 'manual' }))
    return { res, body: await res.text() }
  }
}

/** The hidden CSRF field of the (first) form on a page. */
export function csrfFrom(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html)
  if (!m?.[1]) throw new Error('no CSRF field on the page')
  return m[1]
}

/** Everything a request could change, as JSON: compare before/after to prove nothing did. */
export async function snapshot(db: Knex): Promise<string> {
  const tables = ['accounts', 'users', 'user_groups', 'invitations', 'audit_log', 'email_outbox', 'account_events', 'invitation_requests']
  const out: Record<string, unknown[]> = {}
  for (const t of tables) out[t] = await db(t).select('*').orderByRaw('1')
  return JSON.stringify(out)
}

/** A logger that keeps every line, to prove what logs never contain. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (obj: object | string, msg?: string) => {
      lines.push(JSON.stringify({ ...bindings, ...(typeof obj === 'string' ? { msg: obj } : obj), ...(msg ? { msg } : {}) }))
    }
    return { info: write, warn: write, error: write, debug: write, child: (b) => make({ ...bindings, ...b }) }
  }
  return Object.assign(make({}), { lines })
}

/** What each test of an invitee-page file gets: a seeded database, the app serving it, a browser-like client. */
export interface InviteeTest {
  db: TestDatabase
  deps: TestDeps
  seed: SeededAccount
  app: RunningApp
  web: WebClient
}

/**
 * The hooks an invitee-page test file needs: a seeded database per test (useSeededDatabase), the
 * invitee app started on it with a lookup limit no test reaches, and closed after the test.
 */
export function useInviteeApp(use: (t: InviteeTest) => void): void {
  let seeded: Omit<InviteeTest, 'app' | 'web'> | undefined
  let app: RunningApp | undefined
  useSeededDatabase((t) => (seeded = t))
  beforeEach(async () => {
    if (!seeded) throw new Error('the seeded database did not start')
    app = await startInviteeApp(seeded.deps, { lookupLimit: { max: 1000, windowMs: 60_000 } })
    use({ ...seeded, app, web: new WebClient(app.baseUrl) })
  })
  afterEach(async () => app?.close())
}
