import { afterAll, beforeAll, expect, test } from 'vitest'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount } from '../support/factories.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

test('20 concurrent regenerates of one expired invitation: one new link, one email, no error', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  await inviteUser(deps, seed, 'bob@x.test')
  deps.clock.advance(8 * DAY)
  const old = await db.knex('invitations').where({ state: 'pending' }).first()
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test', invitationId: i % 2 ? old.id : null })),
  )
  const values = results.map((r) => (r.status === 'fulfilled' ? r.value : { ok: 'threw', reason: String(r.reason) }))
  expect(values.filter((v) => v.ok === 'threw')).toEqual([])
  expect(values.filter((v) => v.ok === true)).toHaveLength(1)
  const codes = new Set(values.flatMap((v) => (v.ok === false ? [v.code] : [])))
  expect([...codes].every((c) => c === 'invitation.still_valid' || c === 'invitation.already_replaced')).toBe(true)
  expect(await db.knex('invitations').where({ state: 'pending' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
  expect(await db.knex('email_outbox').where({ kind: 'new_invitation' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
  console.log(`regenerate ×20 on ${db.kind}: 1 new link, 1 email job, ${values.length - 1} told what happened (${[...codes].join(', ')})`)
})

test('20 concurrent adds of one email: one user, one invitation, one email', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'Race@X.test', firstName: 'R', lastName: 'C', groups: [] })),
  )
  const values = results.map((r) => (r.status === 'fulfilled' ? r.value : { ok: 'threw' as const }))
  expect(values.filter((v) => v.ok === 'threw')).toHaveLength(0)
  expect(values.filter((v) => v.ok === true)).toHaveLength(1)
  expect(values.filter((v) => v.ok === false && v.code === 'user.already_invited')).toHaveLength(19)
  expect(await db.knex('users').where({ account_id: seed.account.id, email: 'race@x.test' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
  expect(await db.knex('email_outbox').where({ to_email: 'race@x.test' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
})

test('two administrators removing each other at once never leave the account without one', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const { token } = await inviteUser(deps, seed, 'carol@x.test', { groups: ['Administrators'] })
  await acceptInvitation(deps, { token, firstName: 'C', lastName: 'A', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true })
  const [a, b] = await Promise.all([
    removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'carol@x.test' }),
    removeUser(deps, { accountId: seed.account.id, actor: seed.actorFor('carol@x.test'), email: seed.admin.email }),
  ])
  expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1)
  const failed = a.ok ? b : a
  expect(failed.ok === false && ['auth.not_admin', 'user.last_admin']).toContain(failed.ok === false ? failed.code : '')
})
