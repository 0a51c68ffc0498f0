import express, { type ErrorRequestHandler, type Express, type Router } from 'express'
import type { Knex } from 'knex'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { redactInvitationUrl } from '../invitations/links.ts'
import type { Logger } from '../ports/logger.ts'

export interface Mount {
  /** Where the router is mounted ('/' for routers that carry their own full paths). */
  path: string
  router: Router
}

/** A part of the app that can make it not ready (the database, a paused email account…). */
export interface ReadinessCheck {
  name: string
  check(): Promise<{ ok: boolean; detail?: string }>
}

export interface HttpAppOptions {
  db: Knex
  logger: Logger
  mounts: Mount[]
  checks?: ReadinessCheck[]
  registry?: Registry
}

/**
 * The one HTTP server: adapters' routers, /healthz, /readyz, /metrics. There is deliberately no
 * global body parser: Bolt verifies Slack's signature over the raw body, so each router parses
 * its own bodies (DESIGN.md §9).
 */
export function createHttpApp(opts: HttpAppOptions): { app: Express; registry: Registry } {
  const registry = opts.registry ?? new Registry()
  if (!opts.registry) collectDefaultMetrics({ register: registry })
  const requests = new Counter({ name: 'inviteops_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'] as const, registers: [registry] })
  const duration = new Histogram({
    name: 'inviteops_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
    registers: [registry],
  })
  new Gauge({
    name: 'inviteops_email_outbox_pending',
    help: 'Emails queued or being sent',
    registers: [registry],
    async collect() {
      try {
        const [row] = await opts.db('email_outbox').whereIn('status', ['queued', 'sending']).count<{ n: number }[]>({ n: '*' })
        this.set(Number(row?.n ?? 0))
      } catch {
        // the database being down is reported by /readyz; keep /metrics answering
      }
    },
  })

  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')

  app.use((req, res, next) => {
    const start = process.hrtime.bigint()
    res.on('finish', () => {
      // originalUrl, not path: inside a mounted router `req.path` has lost its mount prefix, and
      // neither the label nor the token redaction would recognise an invitation URL.
      const fullPath = req.originalUrl.split('?')[0] ?? ''
      const route = routeLabel(fullPath)
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      requests.inc({ route, status: String(res.statusCode) })
      duration.observe({ route }, seconds)
      opts.logger.debug({ method: req.method, path: redactInvitationUrl(fullPath), status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http request')
    })
    next()
  })

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
    const checks: ReadinessCheck[] = [{ name: 'database', check: async () => (await opts.db.raw('select 1'), { ok: true }) }, ...(opts.checks ?? [])]
    const results: Record<string, { ok: boolean; detail?: string }> = {}
    for (const c of checks) {
      try {
        results[c.name] = await c.check()
      } catch (err) {
        results[c.name] = { ok: false, detail: err instanceof Error ? err.message : String(err) }
      }
    }
    const ready = Object.values(results).every((r) => r.ok)
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results })
  })
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics())
  })

  for (const m of opts.mounts) app.use(m.path, m.router)

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found')
  })
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500
    if (status >= 500) opts.logger.error({ err: err instanceof Error ? err.message : String(err), path: redactInvitationUrl(req.originalUrl.split('?')[0] ?? '') }, 'request failed')
    if (!res.headersSent) res.status(status).type('text/plain').send(status >= 500 ? 'Something went wrong on our side.' : 'Bad request')
  }
  app.use(onError)
  return { app, registry }
}

/** Metric label for a path: a fixed set, so tokens and ids never become label values. */
function routeLabel(path: string): string {
  if (path.startsWith('/invitations/')) return '/invitations/:token'
  if (['/slack/events', '/api/messages', '/ses/notifications', '/healthz', '/readyz', '/metrics'].includes(path)) return path
  return 'other'
}
