/**
 * The OpenAPI 3.1 document of `/api/v1` (`GET /api/v1/openapi.json`), generated with zod-openapi
 * from the route table (routes.ts): the same schemas the router validates with, so the document
 * and the behaviour cannot drift apart. Built once per router.
 */
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi'
import type { z } from 'zod'
import { apiRoutes, type ApiRoute } from './routes.ts'
import { IdempotencyHeaders, Problem } from './schemas.ts'

/** Problems any authenticated route can give (the router's own checks). */
const COMMON_PROBLEMS = [400, 401, 429, 500]

/** Problems a route with a body can give besides. */
const BODY_PROBLEMS = [413, 415]

/** Problems of a write sent with an Idempotency-Key. */
const IDEMPOTENCY_PROBLEMS = [409, 422]

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: `errors` names each field (`request.invalid`, `request.malformed_json`, …)',
  401: 'No API key, or one that is not valid (`api.unauthorized`)',
  404: 'No such user in the account (`user.not_found`)',
  409: 'The request conflicts with the current state (`user.already_invited`, `idempotency.in_progress`, …)',
  413: 'The body is larger than 64 kB (`request.too_large`)',
  415: 'The body is not application/json (`request.unsupported_media_type`)',
  422: 'The request is understood but refused (`group.not_found`, `idempotency.key_reused`, …)',
  429: 'Too many requests for this key, or a send limit (`api.rate_limited`, `limit.*`): see `Retry-After`',
  500: 'A fault on our side (`internal.error`): retry later, with the same Idempotency-Key',
}

const problemContent = { 'application/problem+json': { schema: Problem } }

/** Whether a route accepts an Idempotency-Key (every write does). */
export function acceptsIdempotencyKey(route: ApiRoute): boolean {
  return route.method !== 'get'
}

function operation(route: ApiRoute): ZodOpenApiOperationObject {
  const statuses = new Set([...COMMON_PROBLEMS, ...route.problems, ...(route.body ? BODY_PROBLEMS : []), ...(acceptsIdempotencyKey(route) ? IDEMPOTENCY_PROBLEMS : [])])
  const responses: Record<string, { description: string; content: Record<string, { schema: z.ZodType }> }> = {
    [String(route.success.status)]: { description: route.success.description, content: { 'application/json': { schema: route.success.schema } } },
  }
  for (const status of [...statuses].sort((a, b) => a - b)) {
    responses[String(status)] = { description: PROBLEM_DESCRIPTIONS[status] ?? 'A problem', content: problemContent }
  }
  const requestParams: NonNullable<ZodOpenApiOperationObject['requestParams']> = {}
  if (route.params) requestParams.path = route.params as z.ZodObject
  if (route.query) requestParams.query = route.query as z.ZodObject
  if (acceptsIdempotencyKey(route)) requestParams.header = IdempotencyHeaders
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    requestParams,
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: responses as unknown as ZodOpenApiResponsesObject,
  }
}

/** The document for `routes` (by default the API's), served under `serverUrl`. */
export function openApiDocument(routes: ApiRoute[] = apiRoutes, serverUrl = '/api/v1'): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {}
  for (const r of routes) {
    paths[r.path] = { ...paths[r.path], [r.method]: operation(r) }
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'InviteOps API',
      version: '1.0.0',
      description:
        "The host product's backend manages its account's invitations: the same use cases, rules, audit and result codes as chat. Authenticate with an API key (`inviteops api-keys create`) as a bearer token. Errors are RFC 9457 problem details. See docs/api.md.",
    },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key, `iok_…`' } },
    },
    paths,
  })
}
