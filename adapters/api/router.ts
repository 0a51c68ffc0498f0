/**
 * The host product's API, `/api/v1` (docs/api.md). One pass per request:
 *
 *  1. `GET /api/v1/openapi.json` answers without a key (the document is public);
 *  2. the key (`Authorization: Bearer iok_…`) is checked: missing, unknown or revoked is 401
 *     with `WWW-Authenticate: Bearer`; the core checks it again inside each action's transaction,
 *     so a key revoked meanwhile stops there too;
 *  3. the key's rate limit (API_RATE_LIMIT_PER_MINUTE, per replica): 429 with `Retry-After`;
 *  4. the body (JSON only, 64 kB at most), path, query and the Idempotency-Key header are
 *     validated with the route's zod schemas: bad input is a 400 naming each field, and reaches
 *     no use case, so it changes nothing;
 *  5. a write with an Idempotency-Key is run once per key and request (src/api/idempotency.ts);
 *  6. the route's handler runs the use case; a refusal is a problem with its result code.
 *
 * Unknown paths under `/api/v1` are a 404 problem, a known path with another method a 405 with
 * `Allow`, and an outage a 500 problem (the error goes to the log, never to the client).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import type { z } from 'zod'
import { authenticateApiKey, type ApiPrincipal } from '../../src/api-keys/api-keys.ts'
import { beginIdempotent, finishIdempotent, purgeExpiredIdempotencyKeys, releaseIdempotent, requestFingerprint } from '../../src/api/idempotency.ts'
import type { Deps } from '../../src/deps.ts'
import type { Actor } from '../../src/invitations/model.ts'
import type { ApiSettings } from './config.ts'
import { createRateLimiter } from '../web/rate-limit.ts'
import { acceptsIdempotencyKey, openApiDocument } from './openapi.ts'
import { failureProblem, invalidRequest, problem, sendProblem, type ApiProblem } from './problem.ts'
import { apiRoutes, type ApiRoute, type RouteFailure } from './routes.ts'
import { IdempotencyHeaders } from './schemas.ts'

/** Where the API is mounted. */
export const API_BASE_PATH = '/api/v1'

/** The largest body accepted: the biggest request (an invite with 50 groups) is a few kB. */
const MAX_BODY = '64kb'

/** How often this replica deletes expired idempotency keys at most. */
const PURGE_EVERY_MS = 3_600_000

const UNAUTHORIZED_HEADER = 'Bearer realm="inviteops"'

interface ApiLocals {
  principal: ApiPrincipal
}

/** `/api/v1/…` in express's form (`/users/:id`). */
function expressPath(path: string): string {
  return path.replace(/\{([a-z_]+)\}/gi, ':$1')
}

/** The API's router (mount at '/': it carries its full paths). */
export function createApiRouter(deps: Deps, settings: ApiSettings, routes: ApiRoute[] = apiRoutes): Router {
  const router = express.Router({ strict: false })
  // Per API key, per replica, in memory like the invitee pages' limit.
  const limiter = createRateLimiter(deps.clock, { max: settings.rateLimitPerMinute, windowMs: 60_000 })
  // Built on its first request, not at start: generating it takes tens of milliseconds that every
  // start would pay, while most servers are never asked for it.
  let document: string | undefined
  let lastPurge = 0

  router.get(`${API_BASE_PATH}/openapi.json`, (_req, res) => {
    document ??= JSON.stringify(openApiDocument(routes, API_BASE_PATH))
    res.type('application/json').send(document)
  })

  const authenticate = async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? ''
    const match = /^Bearer +(\S+) *$/i.exec(header)
    if (!match) {
      sendProblem(res, problem(401, 'api.unauthorized', 'Send an API key: Authorization: Bearer iok_…', { headers: { 'WWW-Authenticate': UNAUTHORIZED_HEADER } }))
      return
    }
    const principal = await authenticateApiKey(deps, match[1]!)
    if (!principal) {
      sendProblem(res, problem(401, 'api.unauthorized', 'The API key is not valid (revoked, or unknown).', { headers: { 'WWW-Authenticate': `${UNAUTHORIZED_HEADER}, error="invalid_token"` } }))
      return
    }
    const retryAt = limiter.hitRetryAt(principal.apiKeyId)
    if (retryAt) {
      sendProblem(res, problem(429, 'api.rate_limited', `This key made more than ${settings.rateLimitPerMinute} requests this minute.`, { retryAt, now: deps.clock.now() }))
      return
    }
    ;(res.locals as ApiLocals).principal = principal
    next()
  }

  const json = express.json({ limit: MAX_BODY, strict: true, type: () => true })
  const readBody = (route: ApiRoute) => (req: Request, res: Response, next: NextFunction) => {
    const hasBody = Number(req.get('content-length') ?? '0') > 0 || req.get('transfer-encoding') !== undefined
    if (!route.body) {
      // A write without a body of its own (resend, regenerate, remove): any body is ignored, but
      // not read; its fingerprint is then the path alone.
      req.body = undefined
      next()
      return
    }
    if (!hasBody) {
      sendProblem(res, problem(400, 'request.invalid', 'The request needs a JSON body.', { errors: [{ field: 'body', message: 'is required' }] }))
      return
    }
    if (!req.is('application/json')) {
      sendProblem(res, problem(415, 'request.unsupported_media_type', 'Send the body as application/json.'))
      return
    }
    json(req, res, next)
  }

  for (const route of routes) {
    const path = `${API_BASE_PATH}${expressPath(route.path)}`
    router[route.method](path, authenticate, readBody(route), (req: Request, res: Response) => {
      void handle(route, req, res)
    })
  }

  // A known path with another method: 405 with the methods it has.
  const byPath = new Map<string, string[]>()
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.method.toUpperCase()])
  for (const [path, methods] of byPath) {
    router.all(`${API_BASE_PATH}${expressPath(path)}`, (_req, res) => {
      sendProblem(res, problem(405, 'api.method_not_allowed', `This path allows ${methods.join(', ')}.`, { headers: { Allow: methods.join(', ') } }))
    })
  }
  router.use(API_BASE_PATH, (_req, res) => {
    sendProblem(res, problem(404, 'api.not_found', 'No such path in the API: see /api/v1/openapi.json.'))
  })
  // Body errors from express.json, and anything thrown: a problem, never express's HTML page.
  router.use(API_BASE_PATH, (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number }
    if (e.type === 'entity.too.large') return sendProblem(res, problem(413, 'request.too_large', `The body is larger than ${MAX_BODY}.`))
    if (e.type === 'entity.parse.failed') return sendProblem(res, problem(400, 'request.malformed_json', 'The body is not valid JSON.', { errors: [{ field: 'body', message: 'is not valid JSON' }] }))
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') return sendProblem(res, problem(415, 'request.unsupported_media_type', 'Send the body as UTF-8 JSON, without content encoding.'))
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendProblem(res, problem(400, 'request.invalid', 'The request could not be read.'))
    deps.logger.error({ err, path: req.path }, 'api request failed')
    sendProblem(res, problem(500, 'internal.error', 'Something went wrong on our side. Retry later (with the same Idempotency-Key).'))
  })

  async function handle(route: ApiRoute, req: Request, res: Response): Promise<void> {
    const { principal } = res.locals as ApiLocals
    let idempotency: { key: string } | null = null
    try {
      const input = parseInput(route, req)
      if (!input.ok) return sendProblem(res, input.problem)
      const actor: Actor = { platform: 'api', platformUserId: principal.label, email: null, apiKeyId: principal.apiKeyId }
      const accountId = principal.accountId

      if (acceptsIdempotencyKey(route)) {
        const headers = IdempotencyHeaders.safeParse({ 'idempotency-key': req.get('idempotency-key') })
        if (!headers.success) return sendProblem(res, invalidRequest(headers.error, 'header'))
        const key = headers.data['idempotency-key']
        if (key !== undefined) {
          maybePurge()
          const decision = await beginIdempotent(deps, { accountId, key, fingerprint: requestFingerprint(route.method, req.path, req.body) })
          switch (decision.kind) {
            case 'replay':
              res.setHeader('Idempotent-Replayed', 'true')
              if (decision.status >= 400) return sendProblem(res, { body: decision.body as ApiProblem['body'], headers: decision.headers })
              for (const [k, v] of Object.entries(decision.headers)) res.setHeader(k, v)
              res.status(decision.status).json(decision.body)
              return
            case 'mismatch':
              return sendProblem(
                res,
                problem(422, 'idempotency.key_reused', 'This Idempotency-Key was used for a different request in the last 24 hours: use a new key for a new request.', {
                  errors: [{ field: 'idempotency-key', message: 'was used for a different request' }],
                }),
              )
            case 'in_progress':
              return sendProblem(res, problem(409, 'idempotency.in_progress', 'The first request with this Idempotency-Key is still running: retry in a moment.', { headers: { 'Retry-After': '1' } }))
            case 'run':
              idempotency = { key }
          }
        }
      }

      const result = await route.handle({ deps, accountId, actor, params: input.params, query: input.query, body: input.body })
      let status: number
      let body: unknown
      let failure: ApiProblem | null = null
      if (result.ok) {
        status = route.success.status
        body = result.value
      } else {
        failure = routeFailure(result)
        status = failure.body.status
        body = failure.body
      }
      // A refusal is an answer too: the same request gets it again, with the headers it had. Not
      // kept: a 401 (the key was revoked: no answer about the request) and a 429 (a send limit:
      // "not now", and the same request is meant to run once the limit allows it).
      if (idempotency && isKeptAnswer(status)) await finishIdempotent(deps, { accountId, key: idempotency.key, status, body, headers: failure?.headers ?? {} })
      else if (idempotency) await releaseIdempotent(deps, { accountId, key: idempotency.key })
      idempotency = null
      if (failure) return sendProblem(res, failure)
      res.status(status).json(body)
    } catch (err) {
      deps.logger.error({ err, route: route.operationId }, 'api request failed')
      if (idempotency) await releaseIdempotent(deps, { accountId: principal.accountId, key: idempotency.key }).catch(() => undefined)
      if (!res.headersSent) sendProblem(res, problem(500, 'internal.error', 'Something went wrong on our side. Retry later (with the same Idempotency-Key).'))
    }
  }

  function routeFailure(f: Exclude<Awaited<ReturnType<ApiRoute['handle']>>, { ok: true }>): ApiProblem {
    const failure = f as { ok: false } & RouteFailure
    if (failure.code === 'request.invalid' && 'field' in failure) {
      return problem(400, 'request.invalid', `${failure.field} ${failure.message}.`, { errors: [{ field: failure.field, message: failure.message }] })
    }
    return failureProblem(failure as Exclude<RouteFailure, { code: 'request.invalid' }>, deps.clock.now())
  }

  function maybePurge(): void {
    const now = deps.clock.now().getTime()
    if (now - lastPurge < PURGE_EVERY_MS) return
    lastPurge = now
    purgeExpiredIdempotencyKeys(deps).catch((err: unknown) => deps.logger.warn({ err }, 'api: deleting expired idempotency keys failed'))
  }

  return router
}

/**
 * Whether an answer is kept under its Idempotency-Key. Not an outage (5xx, and a thrown error
 * releases the key), a 401 (the key, not the request) or a 429 (a limit: the same request is
 * due again later, so replaying "too many" for a day would be wrong).
 */
function isKeptAnswer(status: number): boolean {
  return status !== 401 && status !== 429 && status < 500
}

type Parsed = { ok: true; params: unknown; query: unknown; body: unknown } | { ok: false; problem: ApiProblem }

/** The route's path, query and body through its schemas. */
function parseInput(route: ApiRoute, req: Request): Parsed {
  const parse = (schema: z.ZodType | undefined, value: unknown, where: 'path' | 'query' | 'body'): { ok: true; data: unknown } | { ok: false; problem: ApiProblem } => {
    if (!schema) return { ok: true, data: undefined }
    const r = schema.safeParse(value)
    return r.success ? { ok: true, data: r.data } : { ok: false, problem: invalidRequest(r.error, where) }
  }
  const params = parse(route.params, req.params, 'path')
  if (!params.ok) return params
  // A route without a query schema ignores a query string, as a static file would.
  const query = parse(route.query, req.query, 'query')
  if (!query.ok) return query
  const body = parse(route.body, req.body, 'body')
  if (!body.ok) return body
  return { ok: true, params: params.data, query: query.data, body: body.data }
}
