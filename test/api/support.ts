/**
 * The API as its clients meet it: the real router (`createApiRouter`) in the real HTTP app
 * (`createHttpApp`), on a free loopback port, with keys made by the use case the CLI runs.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Knex } from 'knex'
import { createApiRouter } from '../../adapters/api/router.ts'
import { createApiKey } from '../../src/api-keys/api-keys.ts'
import type { Deps } from '../../src/deps.ts'
import { createHttpApp } from '../../src/server/http.ts'
import { silentLogger } from '../../src/ports/logger.ts'

export interface ApiServer {
  base: string
  close(): Promise<void>
}

/** Serve the API for `deps` (a generous rate limit unless a test sets its own). */
export async function serveApi(db: Knex, deps: Deps, opts: { rateLimitPerMinute?: number } = {}): Promise<ApiServer> {
  const { app } = createHttpApp({ db, logger: silentLogger, mounts: [{ path: '/', router: createApiRouter(deps, { rateLimitPerMinute: opts.rateLimitPerMinute ?? 100_000 }) }] })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A new key for the account, as `inviteops api-keys create` makes it. */
export async function newKey(deps: Deps, accountId: string, label: string): Promise<{ key: string; id: string; prefix: string }> {
  const r = await createApiKey(deps, { accountId, label, operator: 'test' })
  if (!r.ok) throw new Error(`newKey: ${r.code}`)
  return { key: r.value.key, id: r.value.apiKey.id, prefix: r.value.apiKey.prefix }
}

export interface Answer {
  status: number
  headers: Headers
  body: unknown
  text: string
}

/** One request with a key; the body is sent as JSON unless `raw` is given. */
export async function call(
  base: string,
  key: string | null,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...opts.headers }
  let body: string | undefined
  if (opts.raw !== undefined) body = opts.raw
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = null
  }
  return { status: res.status, headers: res.headers, body: parsed, text }
}
