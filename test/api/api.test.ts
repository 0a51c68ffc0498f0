/**
 * The API through its real HTTP route (docs/api.md): keys of two accounts and no way across,
 * every use case with chat's rules and result codes, the audit as `api:<label>`, revocation at
 * once, keyset pages, and each success answer checked against the schema the OpenAPI document
 * publishes for it.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { apiRoutes } from '../../adapters/api/routes.ts'
import { Problem } from '../../adapters/api/schemas.ts'
import { revokeApiKey } from '../../src/api-keys/api-keys.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import type { TestDatabase } from '../support/db.ts'
import { call, newKey, serveApi, type Answer, type ApiServer } from './support.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

let api: ApiServer
let other: SeededAccount
let keyA: { key: string; id: string; prefix: string }
let keyB: { key: string; id: string; prefix: string }
beforeEach(async () => {
  other = await seedAccount(deps, { name: 'Other Corp' })
  keyA = await newKey(deps, seed.account.id, 'crm')
  keyB = await newKey(deps, other.account.id, 'crm')
  api = await serveApi(db.knex, deps)
})
afterEach(async () => api.close())

/** The success schema of the route `operationId`: every answer is checked against what the document says. */
function expectShape(operationId: string, answer: Answer): void {
  const route = apiRoutes.find((r) => r.operationId === operationId)!
  expect(answer.status, answer.text).toBe(route.success.status)
  const parsed = route.success.schema.safeParse(answer.body)
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true)
}

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(Problem.safeParse(answer.body).success, answer.text).toBe(true)
  expect(answer.body).toMatchObject({ type: `urn:inviteops:problem:${code}`, status, code, title: expect.any(String), detail: expect.any(String) })
}

/** Everything that a write could change, to compare before and after a refused request. */
async function snapshot(): Promise<string> {
  const tables = ['users', 'user_groups', 'groups', 'invitations', 'email_outbox']
  const parts = await Promise.all(tables.map(async (t) => JSON.stringify(await db.knex(t).select('*').orderBy(db.knex.raw('1')))))
  return parts.join('\n')
}

const invite = (email: string, extra: Record<string, unknown> = {}) => ({ email, first_name: 'Bob', last_name: 'Builder', groups: ['Engineering'], ...extra })

describe('the users of an account', () => {
  test('invite, show, resend refused while valid, regenerate, link, groups, remove: chat rules, audited as api:<label>', async () => {
    const added = await call(api.base, keyA.key, 'POST', '/users', { body: invite('Bob@Example.test') })
    expectShape('inviteUser', added)
    const user = added.body as { id: string; email: string; status: string; groups: string[]; invitation: { invited_by: string } }
    expect(user).toMatchObject({ email: 'bob@example.test', status: 'invited', groups: ['Engineering'], invitation: { invited_by: 'api:crm' } })
    const outbox = await db.knex('email_outbox').where({ user_id: user.id }).first()
    expect(outbox).toMatchObject({ kind: 'invitation', requested_by_user_id: null, requested_by_api_key_id: keyA.id })
    expect(outbox.payload).toMatchObject({ inviterName: null, inviterEmail: null })

    expectShape('getUser', await call(api.base, keyA.key, 'GET', `/users/${user.id}`))
    expectProblem(await call(api.base, keyA.key, 'POST', '/users', { body: invite('bob@example.test') }), 409, 'user.already_invited')
    expectProblem(await call(api.base, keyA.key, 'POST', `/users/${user.id}/regenerate`), 409, 'invitation.still_valid')
    expectShape('resendInvitation', await call(api.base, keyA.key, 'POST', `/users/${user.id}/resend`))

    const link = await call(api.base, keyA.key, 'GET', `/users/${user.id}/link`)
    expectShape('getInvitationLink', link)
    expect((link.body as { url: string }).url).toMatch(/^http:\/\/invite\.test\/invitations\/[A-Za-z0-9_-]{43}$/)

    // A week and a day later the link has expired: resend refuses, regenerate sends a new one.
    deps.clock.advance(8 * 86_400_000)
    expectProblem(await call(api.base, keyA.key, 'POST', `/users/${user.id}/resend`), 409, 'invitation.expired')
    const regenerated = await call(api.base, keyA.key, 'POST', `/users/${user.id}/regenerate`)
    expectShape('regenerateInvitation', regenerated)
    expect(regenerated.body).toMatchObject({ status: 'invited' })

    const edited = await call(api.base, keyA.key, 'PUT', `/users/${user.id}/groups`, { body: { groups: ['members', 'Engineering'] } })
    expectShape('setUserGroups', edited)
    expect(edited.body).toMatchObject({ groups: ['Engineering', 'Members'] })
    expectProblem(await call(api.base, keyA.key, 'PUT', `/users/${user.id}/groups`, { body: { groups: ['Nope'] } }), 422, 'group.not_found')

    const removed = await call(api.base, keyA.key, 'DELETE', `/users/${user.id}`)
    expectShape('removeUser', removed)
    expect(removed.body).toMatchObject({ status: 'removed' })
    expectProblem(await call(api.base, keyA.key, 'DELETE', `/users/${user.id}`), 409, 'user.removed')

    const audit = await call(api.base, keyA.key, 'GET', `/audit?email=bob@example.test&limit=100`)
    expectShape('listAudit', audit)
    const entries = (audit.body as { data: { actor: string; action: string; ok: boolean; detail: Record<string, unknown> }[] }).data
    expect(entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['invitation.add', 'user.show', 'invitation.resend', 'invitation.copy_link', 'invitation.regenerate', 'user.edit_groups', 'user.remove']),
    )
    for (const e of entries) expect(e).toMatchObject({ actor: 'api:crm', detail: expect.objectContaining({ apiKeyId: keyA.id }) })
  })

  test("an invitee who is new needs names; the last administrator stays; a key cannot remove the account's administrators below one", async () => {
    const noName = await call(api.base, keyA.key, 'POST', '/users', { body: { email: 'new@example.test' } })
    expectProblem(noName, 422, 'user.name_required')
    expect((noName.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['first_name', 'last_name'])
    expectProblem(await call(api.base, keyA.key, 'DELETE', `/users/${seed.admin.userId}`), 409, 'user.last_admin')
    expectProblem(await call(api.base, keyA.key, 'POST', '/users', { body: invite('x@example.test', { groups: ['Ghosts'] }) }), 422, 'group.not_found')
  })

  test('groups: listed with counts, created (never an administrators group), a taken or bad name refused', async () => {
    const created = await call(api.base, keyA.key, 'POST', '/groups', { body: { name: 'Sales' } })
    expectShape('createGroup', created)
    expect(created.body).toMatchObject({ name: 'Sales', is_admin: false, member_count: 0 })
    expectProblem(await call(api.base, keyA.key, 'POST', '/groups', { body: { name: 'sales' } }), 409, 'group.name_taken')
    const bad = await call(api.base, keyA.key, 'POST', '/groups', { body: { name: 'two\nlines' } })
    expectProblem(bad, 400, 'group.name_invalid')
    expect((bad.body as { errors: { field: string }[] }).errors[0]!.field).toBe('name')
    expectProblem(await call(api.base, keyA.key, 'POST', '/groups', { body: { name: 'Admins', is_admin: true } }), 400, 'request.invalid')
    const groups = await call(api.base, keyA.key, 'GET', '/groups')
    expectShape('listGroups', groups)
    expect((groups.body as { data: { name: string }[] }).data.map((g) => g.name).sort()).toEqual(['Administrators', 'Engineering', 'Members', 'Sales'])
  })
})

describe('two accounts', () => {
  test("a key reads and writes its own account only: another account's user is not found, unchanged, and the attempt audited", async () => {
    const theirs = await call(api.base, keyB.key, 'POST', '/users', { body: invite('carol@other.test') })
    expect(theirs.status).toBe(201)
    const carol = (theirs.body as { id: string }).id
    const before = await snapshot()

    expectProblem(await call(api.base, keyA.key, 'GET', `/users/${carol}`), 404, 'user.not_found')
    expectProblem(await call(api.base, keyA.key, 'GET', `/users/${carol}/link`), 404, 'user.not_found')
    expectProblem(await call(api.base, keyA.key, 'POST', `/users/${carol}/resend`), 404, 'user.not_found')
    expectProblem(await call(api.base, keyA.key, 'POST', `/users/${carol}/regenerate`), 404, 'user.not_found')
    expectProblem(await call(api.base, keyA.key, 'PUT', `/users/${carol}/groups`, { body: { groups: ['Members'] } }), 404, 'user.not_found')
    expectProblem(await call(api.base, keyA.key, 'DELETE', `/users/${carol}`), 404, 'user.not_found')
    expect(await snapshot()).toBe(before)

    const listed = await call(api.base, keyA.key, 'GET', '/users?limit=100')
    expect((listed.body as { data: { email: string }[] }).data.map((u) => u.email)).not.toContain('carol@other.test')
    expect((await call(api.base, keyA.key, 'GET', '/users?email=carol@other.test')).body).toMatchObject({ data: [] })
    const audit = await call(api.base, keyA.key, 'GET', '/audit?limit=100')
    const refused = (audit.body as { data: { actor: string; result_code: string; detail: { userId?: string } }[] }).data.filter((e) => e.result_code === 'user.not_found')
    expect(refused).toHaveLength(6)
    for (const e of refused) expect(e).toMatchObject({ actor: 'api:crm', detail: { userId: carol, apiKeyId: keyA.id } })
    // Nothing about the attempts reached the other account's log.
    const theirAudit = await call(api.base, keyB.key, 'GET', '/audit?limit=100')
    expect((theirAudit.body as { data: { result_code: string }[] }).data.map((e) => e.result_code)).not.toContain('user.not_found')
  })
})

describe('keys', () => {
  test('no key, a malformed one, an unknown one: 401 with WWW-Authenticate; the document needs none', async () => {
    for (const key of [null, 'iok_short', `iok_${'A'.repeat(43)}`, keyA.key.slice(0, -1) + (keyA.key.endsWith('A') ? 'B' : 'A')]) {
      const r = await call(api.base, key, 'GET', '/users')
      expectProblem(r, 401, 'api.unauthorized')
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="inviteops"/)
    }
    expect((await call(api.base, null, 'GET', '/openapi.json')).status).toBe(200)
  })

  test('a revoked key stops at once, its account unchanged; the last use is recorded', async () => {
    expect((await call(api.base, keyA.key, 'GET', '/users')).status).toBe(200)
    expect(await db.knex('api_keys').where({ id: keyA.id }).first('last_used_at')).toMatchObject({ last_used_at: new Date(deps.clock.now()) })
    expect((await revokeApiKey(deps, { key: keyA.prefix, operator: 'test' })).ok).toBe(true)
    const before = await snapshot()
    expectProblem(await call(api.base, keyA.key, 'GET', '/users'), 401, 'api.unauthorized')
    expectProblem(await call(api.base, keyA.key, 'POST', '/users', { body: invite('late@example.test') }), 401, 'api.unauthorized')
    expect(await snapshot()).toBe(before)
    expect((await call(api.base, keyB.key, 'GET', '/users')).status).toBe(200)
  })

  test('a key revoked while its request is let in is refused by the core, in the transaction of the action', async () => {
    const { addInvitation } = await import('../../src/invitations/add-invitation.ts')
    const actor = { platform: 'api' as const, platformUserId: 'crm', email: null, apiKeyId: keyA.id }
    expect((await revokeApiKey(deps, { key: keyA.id, operator: 'test' })).ok).toBe(true)
    const r = await addInvitation(deps, { accountId: seed.account.id, actor, email: 'x@example.test', firstName: 'X', lastName: 'Y', groups: [] })
    expect(r).toMatchObject({ ok: false, code: 'auth.not_admin' })
    // Another account's key names no administrator of this one either.
    const cross = await addInvitation(deps, { accountId: seed.account.id, actor: { ...actor, apiKeyId: keyB.id }, email: 'x@example.test', firstName: 'X', lastName: 'Y', groups: [] })
    expect(cross).toMatchObject({ ok: false, code: 'auth.not_admin' })
    expect(await db.knex('users').where({ email: 'x@example.test' })).toHaveLength(0)
  })

  test('the rate limit per key: 429 with Retry-After, other keys unaffected, the next minute allowed again', async () => {
    const limited = await serveApi(db.knex, deps, { rateLimitPerMinute: 3 })
    try {
      for (let i = 0; i < 3; i++) expect((await call(limited.base, keyA.key, 'GET', '/groups')).status).toBe(200)
      deps.clock.advance(20_000)
      const over = await call(limited.base, keyA.key, 'GET', '/groups')
      expectProblem(over, 429, 'api.rate_limited')
      // The window began 20 s ago: it ends in 40 s.
      expect(over.headers.get('retry-after')).toBe('40')
      expect((over.body as { retry_at: string }).retry_at).toBe(new Date(deps.clock.now().getTime() + 40_000).toISOString())
      expect((await call(limited.base, keyB.key, 'GET', '/groups')).status).toBe(200)
      deps.clock.advance(40_000)
      expect((await call(limited.base, keyA.key, 'GET', '/groups')).status).toBe(200)
    } finally {
      await limited.close()
    }
  })
})

describe('pages', () => {
  test('users in email order, a page at a time, each once, filtered by status; a cursor of our own only', async () => {
    for (let i = 0; i < 23; i++) {
      expect((await call(api.base, keyA.key, 'POST', '/users', { body: invite(`user${String(i).padStart(2, '0')}@example.test`) })).status).toBe(201)
    }
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Answer = await call(api.base, keyA.key, 'GET', `/users?status=invited&limit=5${cursor ? `&cursor=${cursor}` : ''}`)
      expectShape('listUsers', page)
      const body = page.body as { data: { email: string; status: string }[]; next_cursor: string | null }
      expect(body.data.length).toBeLessThanOrEqual(5)
      for (const u of body.data) expect(u.status).toBe('invited')
      seen.push(...body.data.map((u) => u.email))
      cursor = body.next_cursor
      pages += 1
    } while (cursor)
    expect(pages).toBe(5)
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `user${String(i).padStart(2, '0')}@example.test`))
    const active = await call(api.base, keyA.key, 'GET', '/users?status=active')
    expect((active.body as { data: { email: string }[] }).data.map((u) => u.email)).toEqual([seed.admin.email])

    const junk = await call(api.base, keyA.key, 'GET', '/users?cursor=bm90LWEtY3Vyc29y')
    expectProblem(junk, 400, 'request.invalid')
    expect((junk.body as { errors: { field: string }[] }).errors[0]!.field).toBe('cursor')
    const badLimit = await call(api.base, keyA.key, 'GET', '/users?limit=0&status=nope')
    expectProblem(badLimit, 400, 'request.invalid')
    expect((badLimit.body as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual(['limit', 'status'])
  })

  test('the audit log, newest first, a page at a time without gaps or repeats', async () => {
    for (let i = 0; i < 12; i++) expect((await call(api.base, keyA.key, 'GET', '/groups')).status).toBe(200)
    const all = (await db.knex('audit_log').where({ account_id: seed.account.id }).count<{ n: number }[]>({ n: '*' }))[0]!.n
    const ids: string[] = []
    let cursor: string | null = null
    do {
      const page: Answer = await call(api.base, keyA.key, 'GET', `/audit?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
      expectShape('listAudit', page)
      const body = page.body as { data: { id: string }[]; next_cursor: string | null }
      ids.push(...body.data.map((e) => e.id))
      cursor = body.next_cursor
    } while (cursor)
    // Each page is itself audited: the log grows while it is read, and what was there is all seen.
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBeGreaterThanOrEqual(Number(all))
  })
})
