import { afterAll, beforeAll, expect, test } from 'vitest'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { openInvitationLink } from '../../src/invitations/open-invitation-link.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { isWellFormedToken } from '../../src/invitations/links.ts'
import { loadConfig } from '../../src/config.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount } from '../support/factories.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

test('no value stored in any column of any table works as a link', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const tokens: string[] = []
  for (const email of ['a@x.test', 'b@x.test', 'c@x.test']) tokens.push((await inviteUser(deps, seed, email)).token)
  deps.clock.advance(7 * DAY)
  await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'a@x.test' })

  // Every string a dump would contain, including each piece of JSON and each word.
  const tables = await db.knex.raw<{ rows: { tablename: string }[] }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
  const candidates = new Set<string>()
  for (const { tablename } of tables.rows) {
    const rows = await db.knex(tablename).select('*')
    for (const row of rows) {
      for (const value of Object.values(row as Record<string, unknown>)) {
        const text = value instanceof Date ? value.toISOString() : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
        candidates.add(text)
        for (const part of text.split(/[^A-Za-z0-9_-]+/)) if (part) candidates.add(part)
      }
    }
  }
  expect(candidates.size).toBeGreaterThan(50)
  let tried = 0
  for (const c of candidates) {
    for (const t of [c, Buffer.from(c, 'hex').toString('base64url')]) {
      if (!isWellFormedToken(t)) continue
      tried++
      expect(await openInvitationLink(deps, { token: t })).toEqual({ ok: false, code: 'link.invalid' })
    }
  }
  // link_id and token_hash are well-formed-length candidates after conversion: the test did try some
  expect(tried).toBeGreaterThan(0)
  // while the real links (derived with the secret) are still recognised (expired by now)
  expect(await openInvitationLink(deps, { token: tokens[1]! })).toEqual({ ok: false, code: 'link.expired' })
  for (const t of tokens) expect([...candidates].some((c) => c.includes(t))).toBe(false)
})

test('links after remove and decline fail with their reason; garbage is invalid', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const removed = await inviteUser(deps, seed, 'r@x.test')
  const declined = await inviteUser(deps, seed, 'd@x.test')
  await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'r@x.test' })
  await declineInvitation(deps, { token: declined.token })
  expect(await openInvitationLink(deps, { token: removed.token })).toEqual({ ok: false, code: 'link.revoked' })
  expect(await openInvitationLink(deps, { token: declined.token })).toEqual({ ok: false, code: 'link.declined' })
  // one character off the real token (never the same character: that would be the real token)
  const oneOff = `${declined.token.slice(0, -1)}${declined.token.endsWith('A') ? 'B' : 'A'}`
  for (const token of ['', 'x', 'a'.repeat(43), oneOff, '../../etc/passwd', 'x'.repeat(10_000), "' OR 1=1 --"]) {
    expect(await openInvitationLink(deps, { token })).toEqual({ ok: false, code: 'link.invalid' })
  }
})

test('INVITE_TTL sets the validity, with an injected clock', async () => {
  for (const [ttl, ms] of [['90s', 90_000], ['12h', 12 * 3_600_000], ['7d', 7 * DAY]] as const) {
    const loaded = loadConfig({ INVITE_TTL: ttl })
    expect(loaded.ok && loaded.config.service.inviteTtlMs).toBe(ms)
    const deps = makeDeps(db.knex, { config: { inviteTtlMs: ms } })
    const seed = await seedAccount(deps)
    const { token, user } = await inviteUser(deps, seed, `ttl-${ttl}@x.test`)
    expect(user.invitation?.expiresAt.getTime()).toBe(deps.clock.now().getTime() + ms)
    deps.clock.advance(ms - 1)
    expect((await openInvitationLink(deps, { token })).ok).toBe(true)
    deps.clock.advance(1)
    expect(await openInvitationLink(deps, { token })).toEqual({ ok: false, code: 'link.expired' })
  }
  expect(loadConfig({ INVITE_TTL: '7 days' })).toMatchObject({ ok: false, problems: [expect.stringContaining('INVITE_TTL')] })
})
