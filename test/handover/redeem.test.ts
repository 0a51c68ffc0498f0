import fc from 'fast-check'
import { beforeEach, describe, expect, test } from 'vitest'
import { createApiKey, revokeApiKey } from '../../src/api-keys/api-keys.ts'
import { HANDOVER_CODE_TTL_MS, handOverUrl } from '../../src/handover/codes.ts'
import { issueHandOverCode } from '../../src/handover/issue.ts'
import { redeemHandOverCode } from '../../src/handover/redeem.ts'
import { openInvitationLink } from '../../src/invitations/open-invitation-link.ts'
import type { Actor } from '../../src/invitations/model.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, makeDeps, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  ;({ db, seed } = t)
  // The same database and clock, with the product's sign-up configured.
  deps = { ...t.deps, config: { ...t.deps.config, acceptRedirectUrl: 'https://app.example/signup?plan=team' } }
})

/** The product's backend: an API key of the seeded account, as the API's router names it. */
let product: Actor
beforeEach(async () => {
  product = await apiActor(seed.account.id, 'backend')
})

/** The actor of a new API key of `accountId`, as `inviteops api-keys create` makes it. */
async function apiActor(accountId: string, label: string): Promise<Actor> {
  const created = await createApiKey(deps, { accountId, label, operator: 'test' })
  if (!created.ok) throw new Error(`api key: ${created.code}`)
  return { platform: 'api', platformUserId: label, email: null, apiKeyId: created.value.apiKey.id }
}

/** Invite bob@ to Engineering and click Accept on his page: the code the product receives. */
async function handedOver(email = 'bob@x.test'): Promise<{ code: string; token: string; redirectTo: string }> {
  const { token } = await inviteUser(deps, seed, email, { firstName: 'Bob', lastName: 'Builder', groups: ['Engineering'] })
  const issued = await issueHandOverCode(deps, { token })
  if (!issued.ok) throw new Error(`issue: ${issued.code}`)
  return { code: issued.value.code, token, redirectTo: issued.value.redirectTo }
}

/** Everything a redeem may change, to compare before and after a refusal. */
async function snapshot(): Promise<unknown> {
  const [users, invitations, codes, events] = await Promise.all([
    db.knex('users').orderBy('id').select('id', 'status', 'joined_at', 'password_hash', 'first_name', 'last_name'),
    db.knex('invitations').orderBy('id').select('id', 'state', 'ended_at'),
    db.knex('handover_codes').orderBy('code_hash').select(),
    db.knex('account_events').orderBy('id').select('id', 'type'),
  ])
  return { users, invitations, codes, events }
}

describe('issueHandOverCode', () => {
  test('gives a code of 256 bits in the sign-up address, keeping its query; the invitation stays pending', async () => {
    const { code, token, redirectTo } = await handedOver()
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const url = new URL(redirectTo)
    expect(url.origin + url.pathname).toBe('https://app.example/signup')
    expect(url.searchParams.get('plan')).toBe('team')
    expect(url.searchParams.get('code')).toBe(code)
    expect((await openInvitationLink(deps, { token })).ok).toBe(true)
    const audit = await db.knex('audit_log').where({ action: 'invitation.hand_over' }).first()
    expect(audit).toMatchObject({ actor_platform: 'web', target_email: 'bob@x.test', ok: true, result_code: 'handover.issued' })
  })

  test('stores only a hash: no table holds the code', async () => {
    const { code } = await handedOver()
    const dump = JSON.stringify(await db.knex.raw(`SELECT row_to_json(h) AS r FROM handover_codes h UNION ALL SELECT row_to_json(a) FROM audit_log a UNION ALL SELECT row_to_json(e) FROM account_events e`))
    expect(dump).not.toContain(code)
    const [row] = await db.knex('handover_codes').select('code_hash', 'expires_at', 'created_at')
    expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(row.expires_at.getTime() - row.created_at.getTime()).toBe(HANDOVER_CODE_TTL_MS)
  })

  test('a dead link gets no code', async () => {
    const { token } = await inviteUser(deps, seed, 'gone@x.test')
    expect((await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'gone@x.test' })).ok).toBe(true)
    expect(await issueHandOverCode(deps, { token })).toEqual({ ok: false, code: 'link.revoked' })
    expect(await issueHandOverCode(deps, { token: 'not-a-token' })).toEqual({ ok: false, code: 'link.invalid' })
    expect(Number((await db.knex('handover_codes').count({ n: '*' }))[0]!.n)).toBe(0)
  })

  test('without ACCEPT_REDIRECT_URL it refuses to run at all', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@x.test')
    await expect(issueHandOverCode({ ...deps, config: { ...deps.config, acceptRedirectUrl: null } }, { token })).rejects.toThrow(/ACCEPT_REDIRECT_URL/)
  })
})

describe('spent codes are deleted', () => {
  test('an issue deletes codes of any invitation that expired over a day ago, used or not, and keeps the rest', async () => {
    const used = await handedOver('used@x.test')
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code: used.code, actor: product })).ok).toBe(true)
    await handedOver('unused@x.test')
    // A day and ten minutes on: both expired a day ago (their ten minutes are included).
    deps.clock.advance(HANDOVER_CODE_TTL_MS + DAY)
    const recent = await handedOver('recent@x.test')
    deps.clock.advance(HANDOVER_CODE_TTL_MS + 1)
    // The recent one expired a moment ago: kept (a replay of it is told "expired").
    const fresh = await handedOver('fresh@x.test')
    const left = await db.knex('handover_codes').join('invitations as i', 'i.id', 'handover_codes.invitation_id').join('users as u', 'u.id', 'i.user_id').orderBy('u.email').select('u.email')
    expect(left.map((r: { email: string }) => r.email)).toEqual(['fresh@x.test', 'recent@x.test'])
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code: recent.code, actor: product })).toEqual({ ok: false, code: 'handover.expired' })
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code: fresh.code, actor: product })).ok).toBe(true)
  })
})

describe('redeemHandOverCode', () => {
  test('tells the product who the invitee is, and accepts the invitation as the page does', async () => {
    const { code, token } = await handedOver()
    const result = await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })
    expect(result).toEqual({
      ok: true,
      value: {
        email: 'bob@x.test',
        firstName: 'Bob',
        lastName: 'Builder',
        accountId: seed.account.id,
        accountName: seed.account.name,
        groups: ['Engineering'],
        userId: expect.any(String),
        acceptedAt: deps.clock.now(),
      },
    })
    const user = await db.knex('users').where({ email: 'bob@x.test' }).first()
    expect(user).toMatchObject({ status: 'active', password_hash: null, first_name: 'Bob', last_name: 'Builder' })
    expect(user.joined_at).toEqual(deps.clock.now())
    expect(await openInvitationLink(deps, { token })).toEqual({ ok: false, code: 'link.accepted' })
    const event = await db.knex('account_events').where({ type: 'invitation.accepted' }).first()
    expect(event?.payload).toMatchObject({ email: 'bob@x.test' })
    const audit = await db.knex('audit_log').whereIn('action', ['invitation.accept', 'invitation.redeem']).orderBy('id').select('action', 'actor_platform', 'actor_platform_id', 'ok', 'result_code')
    expect(audit).toEqual([
      { action: 'invitation.accept', actor_platform: 'web', actor_platform_id: expect.stringMatching(/^invitation:/), ok: true, result_code: 'invitation.accepted' },
      { action: 'invitation.redeem', actor_platform: 'api', actor_platform_id: 'backend', ok: true, result_code: 'handover.redeemed' },
    ])
  })

  test('redeems once: the second time it is used', async () => {
    const { code } = await handedOver()
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).ok).toBe(true)
    const before = await snapshot()
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).toEqual({ ok: false, code: 'handover.used' })
    expect(await snapshot()).toEqual(before)
  })

  test('redeems for ten minutes, then is expired', async () => {
    const { code } = await handedOver()
    deps.clock.advance(HANDOVER_CODE_TTL_MS)
    const before = await snapshot()
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).toEqual({ ok: false, code: 'handover.expired' })
    expect(await snapshot()).toEqual(before)
    const refused = await db.knex('audit_log').where({ action: 'invitation.redeem' }).first()
    expect(refused).toMatchObject({ ok: false, result_code: 'handover.expired', target_email: 'bob@x.test' })
  })

  test('a moment before its ten minutes end it still redeems', async () => {
    const { code } = await handedOver()
    deps.clock.advance(HANDOVER_CODE_TTL_MS - 1)
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).ok).toBe(true)
  })

  test("another account's key reads the code as unknown, and changes nothing", async () => {
    const { code } = await handedOver()
    const other = await seedAccount(deps)
    const before = await snapshot()
    expect(await redeemHandOverCode(deps, { accountId: other.account.id, code, actor: await apiActor(other.account.id, 'theirs') })).toEqual({ ok: false, code: 'handover.invalid' })
    expect(await snapshot()).toEqual(before)
    // The rightful account still can.
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).ok).toBe(true)
  })

  test('a key revoked after the request was let in, or not a key of the account, is refused inside the transaction and changes nothing', async () => {
    const { code } = await handedOver()
    const other = await seedAccount(deps)
    const before = await snapshot()
    // Another account's key, for this account: no key of it.
    const foreign = await apiActor(other.account.id, 'theirs')
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: foreign })).toEqual({ ok: false, code: 'auth.not_admin' })
    // The router let the request in, then the key was revoked: the core reads it again.
    const revoked = await apiActor(seed.account.id, 'old')
    expect((await revokeApiKey(deps, { key: (revoked as { apiKeyId: string }).apiKeyId, operator: 'test' })).ok).toBe(true)
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: revoked })).toEqual({ ok: false, code: 'auth.not_admin' })
    // An API actor without a key id names no key.
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: { platform: 'api', platformUserId: 'x', email: null } })).toEqual({ ok: false, code: 'auth.not_admin' })
    expect(await snapshot()).toEqual(before)
    expect(await db.knex('audit_log').where({ action: 'invitation.redeem', result_code: 'auth.not_admin' })).toHaveLength(3)
    // The code is still good for the account's own active key.
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: product })).ok).toBe(true)
  })

  test('the invitation ended or expired meanwhile: no longer valid', async () => {
    const removed = await handedOver('removed@x.test')
    expect((await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'removed@x.test' })).ok).toBe(true)
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code: removed.code, actor: product })).toEqual({ ok: false, code: 'invitation.no_longer_valid' })

    // An invitation that expires before its code does.
    const short = { ...deps, config: { ...deps.config, inviteTtlMs: 5 * 60_000 } }
    const { token } = await inviteUser(short, seed, 'late@x.test')
    const issued = await issueHandOverCode(short, { token })
    if (!issued.ok) throw new Error(issued.code)
    deps.clock.advance(6 * 60_000)
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code: issued.value.code, actor: product })).toEqual({ ok: false, code: 'invitation.no_longer_valid' })
    expect(await db.knex('users').where({ email: 'late@x.test' }).first('status')).toEqual({ status: 'invited' })
  })

  test('a new Accept click supersedes the earlier code', async () => {
    const first = await handedOver()
    const second = await issueHandOverCode(deps, { token: first.token })
    if (!second.ok) throw new Error(second.code)
    expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code: first.code, actor: product })).toEqual({ ok: false, code: 'handover.invalid' })
    expect((await redeemHandOverCode(deps, { accountId: seed.account.id, code: second.value.code, actor: product })).ok).toBe(true)
  })

  test('junk and tampered codes are unknown and change nothing', async () => {
    const { code } = await handedOver()
    const before = await snapshot()
    const alphabet = 'ABCDEFabcdef0123456789_-'.split('')
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: fc.constantFrom(...alphabet), minLength: 43, maxLength: 43 }),
          // One character of the real code changed.
          fc.tuple(fc.nat({ max: code.length - 1 }), fc.constantFrom(...alphabet)).map(([i, c]) => code.slice(0, i) + (code[i] === c ? (c === 'A' ? 'B' : 'A') : c) + code.slice(i + 1)),
          // The real code with something around it.
          fc.tuple(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 })).filter(([a, b]) => a + b !== '').map(([a, b]) => `${a}${code}${b}`),
        ),
        async (junk) => {
          expect(await redeemHandOverCode(deps, { accountId: seed.account.id, code: junk, actor: product })).toEqual({ ok: false, code: 'handover.invalid' })
        },
      ),
      { numRuns: 60 },
    )
    // A malformed account id is refused the same way, without reaching Postgres as a uuid.
    expect(await redeemHandOverCode(deps, { accountId: 'not-a-uuid', code, actor: product })).toEqual({ ok: false, code: 'handover.invalid' })
    expect(await snapshot()).toEqual(before)
  })

  test('concurrent redeems of one code: exactly one wins', async () => {
    const { code } = await handedOver()
    // Each redeem on its own connection where the database has several (Postgres).
    const results = await Promise.all(Array.from({ length: 6 }, () => redeemHandOverCode(makeDeps(db.knex, { config: deps.config, now: deps.clock.now().toISOString() }), { accountId: seed.account.id, code, actor: product })))
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok).map((r) => (r.ok ? null : r.code))).toEqual(Array(5).fill('handover.used'))
    expect(Number((await db.knex('account_events').where({ type: 'invitation.accepted' }).count({ n: '*' }))[0]!.n)).toBe(1)
  })
})

test('handOverUrl sets code, keeps every other parameter and the fragment, and replaces a code already there', () => {
  expect(handOverUrl('https://app.example/join', 'abc')).toBe('https://app.example/join?code=abc')
  expect(handOverUrl('https://app.example/join?a=1&b=two#top', 'abc')).toBe('https://app.example/join?a=1&b=two&code=abc#top')
  expect(handOverUrl('https://app.example/join?code=old&a=1', 'new')).toBe('https://app.example/join?code=new&a=1')
})
