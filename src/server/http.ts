import express, { type ErrorRequestHandler, type Express, type Router } from 'express'
import type { Knex } from 'knex'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { canonicalPath, redactInvitationUrl, redactRequestPath } from '../invitations/links.ts'
import type { Logger } from '../ports/logger.ts'

export interface Mount {
  /** Where the router is mounted ('/' for routers that carry their own full paths). */
  path: string
  router: Router
}

/** What a readiness check found. */
export interface ReadinessResult {
  ok: boolean
  /**
   * A code for the `/readyz` body (`[a-z0-9_]`, such as `database_unreachable`), shown even when
   * `ok`: a state worth seeing without being a reason to leave the load balancer. Anything that
   * is not such a code is kept out of the body.
   */
  reason?: string
  /** Words for the log only: never in the body, which anyone can read (it may quote an error). */
  detail?: string
}

/** A part of the app that can make it not ready (the database, a paused email account…). */
export interface ReadinessCheck {
  name: string
  check(): Promise<ReadinessResult>
}

export interface HttpAppOptions {
  db: Knex
  logger: Logger
  mounts: Mount[]
  checks?: ReadinessCheck[]
  registry?: Registry
  /**
   * How long one readiness check may take before it counts as failed (`check_timed_out`).
   * Default 2 s: an orchestrator's probe gives up soon after (Kubernetes' default is 1 s), and a
   * database that takes longer than that for `select 1` is not serving requests either.
   */
  checkTimeoutMs?: number
}

/** A reason code fit for the `/readyz` body. */
const REASON_CODE = /^[a-z][a-z0-9_]{0,63}$/

/** How often a check's changing detail (not its state) may be logged again. */
const DETAIL_LOG_INTERVAL_MS = 5 * 60_000

/**
 * The one HTTP server: adapters' routers, /healthz, /readyz, /metrics. There is deliberately no
 * global body parser: the Slack gate (adapters/slack/verify.ts) verifies Slack's signature over the
 * raw body, so each router parses its own bodies (docs/platform-notes.md).
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
      const fullPath = pathOf(req.originalUrl)
      const route = routeLabel(fullPath)
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      requests.inc({ route, status: String(res.statusCode) })
      duration.observe({ route }, seconds)
      opts.logger.debug({ method: req.method, path: redactRequestPath(fullPath), status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http request')
    })
    next()
  })

  // One spelling per secret URL. Express matches paths case-insensitively, so `/INVITATIONS/<t>`
  // would be served too; links we send are always `/invitations/<t>`, so any other spelling of
  // that segment (case, percent-encoding, dot segments) is a tampered or broken link: 404.
  app.use((req, res, next) => {
    const fullPath = pathOf(req.originalUrl)
    if (canonicalPath(fullPath).split('/')[1] === 'invitations' && !/^\/invitations(?:\/|$)/.test(fullPath)) {
      res.status(404).type('text/plain').send('Not found')
      return
    }
    next()
  })

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  const database: ReadinessCheck = {
    name: 'database',
    async check() {
      try {
        await opts.db.raw('select 1')
        return { ok: true }
      } catch (err) {
        return { ok: false, reason: 'database_unreachable', detail: errorText(err) }
      }
    },
  }
  const checks = [database, ...(opts.checks ?? [])]
  const readinessLog = createReadinessLog(opts.logger)
  const checkTimeoutMs = opts.checkTimeoutMs ?? 2_000
  // Says ready or not, with a reason code per check; the words (an error's message, a host) go
  // to the log, once per change, because anyone who can reach /readyz can read its body.
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(checks.map((c) => runCheck(c, checkTimeoutMs)))
    const body: Record<string, { ok: boolean; reason?: string }> = {}
    checks.forEach((c, i) => {
      const result = results[i] ?? { ok: false, reason: 'check_failed' }
      readinessLog(c.name, result)
      body[c.name] = publicResult(result)
    })
    const ready = Object.values(body).every((r) => r.ok)
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: body })
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
    // Both redacted here as well as by the logger: an error message may quote the URL it failed on.
    if (status >= 500) opts.logger.error({ err: redactInvitationUrl(errorText(err)), path: redactRequestPath(pathOf(req.originalUrl)) }, 'request failed')
    if (!res.headersSent) res.status(status).type('text/plain').send(status >= 500 ? 'Something went wrong on our side.' : 'Bad request')
  }
  app.use(onError)
  return { app, registry }
}

/** The path of a request target, without its query. */
function pathOf(url: string): string {
  return url.split('?')[0] ?? ''
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Fixed label values, matched on the path as a router resolves it (so `/INVITATIONS/…` counts too). */
const FIXED_ROUTES = new Set(['/slack/events', '/api/messages', '/ses/notifications', '/healthz', '/readyz', '/metrics'])

/** Metric label for a path: a fixed set, so tokens and ids never become label values. */
function routeLabel(path: string): string {
  const canonical = canonicalPath(path)
  if (canonical.split('/')[1] === 'invitations') return '/invitations/:token'
  return FIXED_ROUTES.has(canonical) ? canonical : 'other'
}

/** One check under a deadline; a throw or a hang is a failed check, never a failed probe. */
async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<ReadinessResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: 'check_timed_out', detail: `no answer within ${timeoutMs} ms` }), timeoutMs)
  })
  try {
    return await Promise.race([c.check().catch((err: unknown): ReadinessResult => ({ ok: false, reason: 'check_failed', detail: errorText(err) })), late])
  } finally {
    clearTimeout(timer)
  }
}

/** What the body shows of a result: `ok` and a code, never the detail. */
function publicResult(result: ReadinessResult): { ok: boolean; reason?: string } {
  const reason = result.reason !== undefined && REASON_CODE.test(result.reason) ? result.reason : result.ok ? undefined : 'not_ready'
  return reason === undefined ? { ok: result.ok } : { ok: result.ok, reason }
}

/**
 * Logs each check's state when it changes (ready ↔ not, another reason), and a changed detail
 * at most every few minutes: probes come every few seconds and must not flood the log.
 */
function createReadinessLog(logger: Logger): (name: string, result: ReadinessResult) => void {
  const last = new Map<string, { key: string; detail: string | undefined; at: number }>()
  return (name, result) => {
    const shown = publicResult(result)
    const key = `${shown.ok}|${shown.reason ?? ''}`
    // A reason the body cannot show (not a code) still belongs in the log, where the detail goes.
    const reported = result.reason !== undefined && result.reason !== shown.reason ? result.reason : undefined
    const detail = reported === undefined ? result.detail : `${reported}|${result.detail ?? ''}`
    // Before its first result a check counts as plainly ok, so a first result that is not (not
    // ready, or ok with a reason such as `email_sending_paused`) is logged as a change.
    const previous = last.get(name) ?? { key: PLAINLY_OK, detail: undefined, at: 0 }
    const now = Date.now()
    const changed = previous.key !== key
    const newDetail = detail !== previous.detail && now - previous.at >= DETAIL_LOG_INTERVAL_MS
    if (!changed && !newDetail) return
    last.set(name, { key, detail, at: now })
    const fields = { check: name, ok: shown.ok, reason: shown.reason, reportedReason: reported, detail: result.detail }
    if (!shown.ok) logger.warn(fields, `readiness: ${name} is not ready`)
    else if (!changed) logger.info(fields, `readiness: ${name}`)
    else if (shown.reason !== undefined) logger.info(fields, `readiness: ${name} is ok, with ${shown.reason}`)
    // Only a state that was not plainly ok can differ from this one.
    else logger.info(fields, `readiness: ${name} is ok again`)
  }
}

/** The state of a check that is ready and has nothing to report. */
const PLAINLY_OK = 'true|'
