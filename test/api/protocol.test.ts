/**
 * The API's protocol (docs/api.md): Idempotency-Key (replay, reuse with another request,
 * concurrent first requests), every problem the router itself gives (404, 405, 400, 413, 415,
 * 422, 409, 500), the OpenAPI 3.1 document (valid, and naming every route the router serves),
 * and generated junk (bodies, query strings, ids, headers) that never gets a 500 and never
 * changes anything.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import fc from 'fast-check'
import type { Router } from 'express'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { createApiRouter, API_BASE_PATH } from '../../adapters/api/router.ts'
import { apiRoutes } from '../../adapters/api/routes.ts'
import { Problem } from '../../adapters/api/schemas.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import type { SeededAccount, TestDeps } from '../support/factories.ts'
import type { TestDatabase } from '../support/db.ts'
import { call, newKey, serveApi, type Answer, type ApiServer } from './support.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

let api: ApiServer
let key: string
beforeEach(async () => {
  key = (await newKey(deps, seed.account.id, 'backend')).key
  api = await serveApi(db.knex, deps)
})
afterEach(async () => api.close())

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(Problem.safeParse(answer.body).success, answer.text).toBe(true)
  expect(answer.body).toMatchObject({ type: `urn:inviteops:problem:${code}`, status, code })
}

async function snapshot(): Promise<string> {
  // Not api_keys: a request with a key records its last use, which is no change of the account.
  const tables = ['users', 'user_groups', 'groups', 'invitations', 'email_outbox', 'account_events']
  const parts = await Promise.all(tables.map(async (t) => JSON.stringify(await db.knex(t).select('*').orderBy(db.knex.raw('1')))))
  return parts.join('\n')
}

const bob = { email: 'bob@example.test', first_name: 'Bob', last_name: 'Builder', groups: ['Engineering'] }

describe('Idempotency-Key', () => {
  test('the same key and request again: the first answer, marked a replay, and one user, one email', async () => {
    const headers = { 'idempotency-key': 'invite-bob-1' }
    const first = await call(api.base, key, 'POST', '/users', { body: bob, headers })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    // The same JSON with its keys in another order is the same request.
    const again = await call(api.base, key, 'POST', '/users', { body: { groups: ['Engineering'], last_name: 'Builder', first_name: 'Bob', email: 'bob@example.test' }, headers })
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    expect(await db.knex('users').where({ email: 'bob@example.test' })).toHaveLength(1)
    expect(await db.knex('email_outbox').where({ to_email: 'bob@example.test' })).toHaveLength(1)
    // Without the key, the same request is a new attempt and meets the rules.
    expectProblem(await call(api.base, key, 'POST', '/users', { body: bob }), 409, 'user.already_invited')
  })

  test('a refusal is replayed too; another request under a used key is refused and changes nothing; a day later the key is free', async () => {
    const headers = { 'idempotency-key': 'k-2' }
    expectProblem(await call(api.base, key, 'POST', '/users', { body: { ...bob, groups: ['Ghosts'] }, headers }), 422, 'group.not_found')
    const replay = await call(api.base, key, 'POST', '/users', { body: { ...bob, groups: ['Ghosts'] }, headers })
    expectProblem(replay, 422, 'group.not_found')
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    const before = await snapshot()
    const reused = await call(api.base, key, 'POST', '/users', { body: bob, headers })
    expectProblem(reused, 422, 'idempotency.key_reused')
    expect((reused.body as { errors: { field: string }[] }).errors[0]!.field).toBe('idempotency-key')
    // Another path under the same key is another request as well.
    expectProblem(await call(api.base, key, 'POST', '/groups', { body: { name: 'Sales' }, headers }), 422, 'idempotency.key_reused')
    expect(await snapshot()).toBe(before)
    deps.clock.advance(24 * 3_600_000 + 1)
    expect((await call(api.base, key, 'POST', '/users', { body: bob, headers })).status).toBe(201)
  })

  test('keys are per account: the same key in another account is its own', async () => {
    const { seedAccount } = await import('../support/factories.ts')
    const other = await seedAccount(deps, { name: 'Other' })
    const otherKey = (await newKey(deps, other.account.id, 'backend')).key
    const headers = { 'idempotency-key': 'shared' }
    expect((await call(api.base, key, 'POST', '/users', { body: bob, headers })).status).toBe(201)
    const theirs = await call(api.base, otherKey, 'POST', '/users', { body: bob, headers })
    expect(theirs.status).toBe(201)
    expect(theirs.headers.get('idempotent-replayed')).toBeNull()
    expect((theirs.body as { account_id: string }).account_id).toBe(other.account.id)
  })

  test('concurrent first requests with one key: one runs, the others get its answer or are told it is in progress', async () => {
    const headers = { 'idempotency-key': 'race' }
    const answers = await Promise.all(Array.from({ length: 6 }, () => call(api.base, key, 'POST', '/users', { body: bob, headers })))
    const ran = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null)
    expect(ran).toHaveLength(1)
    for (const a of answers) {
      if (a.status === 201) expect(a.body).toEqual(ran[0]!.body)
      else expectProblem(a, 409, 'idempotency.in_progress')
    }
    expect(await db.knex('users').where({ email: 'bob@example.test' })).toHaveLength(1)
    expect(await db.knex('email_outbox').where({ to_email: 'bob@example.test' })).toHaveLength(1)
  })

  test('a malformed key is a 400 naming the header; a GET ignores the header', async () => {
    const bad = await call(api.base, key, 'POST', '/users', { body: bob, headers: { 'idempotency-key': 'x'.repeat(256) } })
    expectProblem(bad, 400, 'request.invalid')
    expect((bad.body as { errors: { field: string }[] }).errors[0]!.field).toBe('idempotency-key')
    expect(await db.knex('users').where({ email: 'bob@example.test' })).toHaveLength(0)
    expect((await call(api.base, key, 'GET', '/groups', { headers: { 'idempotency-key': 'x'.repeat(300) } })).status).toBe(200)
  })

  test('a limit refusal is not kept: 429 with Retry-After, the key released, and the same request runs once the limit allows it', async () => {
    const limited = { ...deps, config: { ...deps.config, limits: { adminSendsPerHour: 1, recipientSendsPerDay: 100 } } }
    const limitedApi = await serveApi(db.knex, limited)
    try {
      expect((await call(limitedApi.base, key, 'POST', '/users', { body: bob })).status).toBe(201)
      const carol = { ...bob, email: 'carol@example.test', first_name: 'Carol' }
      const headers = { 'idempotency-key': 'carol-1' }
      const refused = await call(limitedApi.base, key, 'POST', '/users', { body: carol, headers })
      expectProblem(refused, 429, 'limit.admin_sends')
      expect(refused.headers.get('retry-after')).toBe('3600')
      expect(await db.knex('api_idempotency').where({ idempotency_key: 'carol-1' })).toHaveLength(0)
      deps.clock.advance(3_600_001)
      const retried = await call(limitedApi.base, key, 'POST', '/users', { body: carol, headers })
      expect(retried.status, retried.text).toBe(201)
      expect(retried.headers.get('idempotent-replayed')).toBeNull()
    } finally {
      await limitedApi.close()
    }
  })

  test('a kept answer is replayed with its headers', async () => {
    const { finishIdempotent, beginIdempotent, requestFingerprint } = await import('../../src/api/idempotency.ts')
    // An answer with a header to carry (as a 201 with Location, or a refusal with Retry-After would be).
    const body = { ...bob, email: 'dora@example.test' }
    const fingerprint = requestFingerprint('POST', '/api/v1/users', body)
    expect(await beginIdempotent(deps, { accountId: seed.account.id, key: 'with-headers', fingerprint })).toEqual({ kind: 'run' })
    await finishIdempotent(deps, { accountId: seed.account.id, key: 'with-headers', status: 409, body: { type: 'urn:inviteops:problem:user.already_invited', title: 'Conflict', status: 409, detail: 'x', code: 'user.already_invited' }, headers: { 'Retry-After': '30', Location: '/api/v1/users/x' } })
    const replay = await call(api.base, key, 'POST', '/users', { body, headers: { 'idempotency-key': 'with-headers' } })
    expectProblem(replay, 409, 'user.already_invited')
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.headers.get('retry-after')).toBe('30')
    expect(replay.headers.get('location')).toBe('/api/v1/users/x')
  })

  test('an outage is not kept: the key is released and a retry runs', async () => {
    const headers = { 'idempotency-key': 'outage' }
    await db.knex.raw('ALTER TABLE users RENAME TO users_away')
    try {
      expectProblem(await call(api.base, key, 'POST', '/users', { body: bob, headers }), 500, 'internal.error')
    } finally {
      await db.knex.raw('ALTER TABLE users_away RENAME TO users')
    }
    expect(await db.knex('api_idempotency').where({ idempotency_key: 'outage' })).toHaveLength(0)
    expect((await call(api.base, key, 'POST', '/users', { body: bob, headers })).status).toBe(201)
  })
})

describe('problems', () => {
  test('unknown path 404, wrong method 405 with Allow, not JSON 400, too large 413, not application/json 415, bad field 400: all problem+json, nothing changed', async () => {
    const before = await snapshot()
    expectProblem(await call(api.base, key, 'GET', '/nothing-here'), 404, 'api.not_found')
    const wrong = await call(api.base, key, 'PATCH', '/users')
    expectProblem(wrong, 405, 'api.method_not_allowed')
    expect(wrong.headers.get('allow')).toBe('GET, POST')
    expectProblem(await call(api.base, key, 'POST', '/users', { raw: '{"email": ', headers: { 'content-type': 'application/json' } }), 400, 'request.malformed_json')
    expectProblem(await call(api.base, key, 'POST', '/users', { raw: JSON.stringify({ ...bob, first_name: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } }), 413, 'request.too_large')
    expectProblem(await call(api.base, key, 'POST', '/users', { raw: 'email=bob@example.test', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'request.unsupported_media_type')
    expectProblem(await call(api.base, key, 'POST', '/users', { headers: { 'content-type': 'application/json' } }), 400, 'request.invalid')
    const bad = await call(api.base, key, 'POST', '/users', { body: { email: 7, groups: ['ok', ''], surprise: true } })
    expectProblem(bad, 400, 'request.invalid')
    expect((bad.body as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual(['email', 'groups.1', 'surprise'])
    expectProblem(await call(api.base, key, 'POST', '/users', { body: { ...bob, email: 'not an email' } }), 400, 'email.invalid')
    // A user id that is no uuid is bad input naming the field (no lookup, nothing audited).
    const auditBefore = await db.knex('audit_log').count<{ n: string }[]>({ n: '*' })
    for (const [method, path] of [['GET', '/users/not-a-uuid'], ['DELETE', '/users/not-a-uuid'], ['POST', '/users/12345/resend'], ['PUT', '/users/x/groups']] as const) {
      const notUuid = await call(api.base, key, method, path, method === 'PUT' ? { body: { groups: ['Members'] } } : {})
      expectProblem(notUuid, 400, 'request.invalid')
      expect((notUuid.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['id'])
    }
    expect(await db.knex('audit_log').count<{ n: string }[]>({ n: '*' })).toEqual(auditBefore)
    expect(await snapshot()).toBe(before)
  })
})

describe('the OpenAPI document', () => {
  test('is valid OpenAPI 3.1 and names every route the router serves, with its method, security and problems', async () => {
    const answer = await call(api.base, null, 'GET', '/openapi.json')
    expect(answer.status).toBe(200)
    const document = answer.body as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { securitySchemes: unknown } }
    const validator = new Validator()
    const result = await validator.validate(document as unknown as Parameters<Validator['validate']>[0])
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    expect(document.components.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) })

    // Walk the router's own stack: every method and path it answers (the 405 catch-alls aside).
    const router = createApiRouter(deps, { rateLimitPerMinute: 1 }) as Router & { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }
    const served: string[] = []
    for (const layer of router.stack) {
      if (!layer.route) continue
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (!on || method === '_all') continue
        served.push(`${method} ${layer.route.path}`)
      }
    }
    expect(served).toContain(`get ${API_BASE_PATH}/openapi.json`)
    const documented = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${API_BASE_PATH}${path.replace(/\{(\w+)\}/g, ':$1')}`))
    expect(served.filter((s) => !s.endsWith('/openapi.json')).sort()).toEqual(documented.sort())
    expect(documented).toHaveLength(apiRoutes.length)
    for (const ops of Object.values(document.paths)) {
      for (const op of Object.values(ops)) for (const status of ['400', '401', '429', '500']) expect(op.responses).toHaveProperty(status)
    }
  })
})

describe('junk', () => {
  const arbitraryText = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', '%', '%00', '../', '\u0000', 'null', '[]', '{}', 'a'.repeat(400), '😀', '\u202e'))
  const json = fc.jsonValue({ maxDepth: 3 })
  const bodies = fc.oneof(
    json,
    fc.record({ email: fc.oneof(arbitraryText, json), first_name: fc.oneof(arbitraryText, json), last_name: fc.oneof(arbitraryText, json), groups: fc.oneof(fc.array(arbitraryText, { maxLength: 5 }), json) }, { requiredKeys: [] }),
    fc.record({ groups: fc.oneof(fc.array(arbitraryText, { maxLength: 5 }), json), name: fc.oneof(arbitraryText, json), code: fc.oneof(arbitraryText, json) }, { requiredKeys: [] }),
  )
  const routes = fc.constantFrom(...apiRoutes)

  test('generated bodies, ids, query strings and headers: never a 500, always problem+json on refusal, nothing changed', async () => {
    const before = await snapshot()
    await fc.assert(
      fc.asyncProperty(routes, arbitraryText, fc.dictionary(fc.constantFrom('status', 'limit', 'cursor', 'email', 'x', 'limit[]'), arbitraryText, { maxKeys: 3 }), bodies, fc.option(arbitraryText), async (route, id, query, body, idem) => {
        const path = route.path.replace('{id}', encodeURIComponent(id) || 'x')
        const qs = new URLSearchParams(query).toString()
        const headers: Record<string, string> = {}
        // Header values fetch can send (no control characters); anything else is the client's error, not ours.
        if (idem !== null && /^[\x20-\x7e]*$/.test(idem)) headers['idempotency-key'] = idem
        const answer = await call(api.base, key, route.method.toUpperCase(), `${path}${qs ? `?${qs}` : ''}`, route.method === 'get' ? { headers } : { body, headers })
        expect(answer.status, answer.text).toBeLessThan(500)
        if (answer.status >= 400) {
          expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/)
          expect(Problem.safeParse(answer.body).success, answer.text).toBe(true)
        }
        // A junk body that happens to be valid would be a legitimate write; none of these is.
        if (route.method !== 'get') expect(answer.status, `${route.method} ${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400)
      }),
      { numRuns: 150 },
    )
    expect(await snapshot()).toBe(before)
  })

  test('junk Authorization headers are a 401 and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), async (auth) => {
        const res = await fetch(`${api.base}/users`, { headers: { authorization: auth }, signal: AbortSignal.timeout(10_000) })
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
        await res.text()
      }),
      { numRuns: 60 },
    )
  })
})
