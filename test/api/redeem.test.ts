/**
 * `POST /api/v1/invitations/redeem` through the real route: the product's backend learns who the
 * invitee is, once, for its own account only (docs/api.md, the hand-over on accept).
 */
import { afterEach, beforeEach, expect, test } from 'vitest'
import { apiRoutes } from '../../adapters/api/routes.ts'
import { issueHandOverCode } from '../../src/handover/issue.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import type { TestDatabase } from '../support/db.ts'
import { call, newKey, serveApi, type ApiServer } from './support.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t), { makeDepsOptions: () => ({ config: { acceptRedirectUrl: 'https://app.example.test/signup' } }) })

let api: ApiServer
beforeEach(async () => {
  api = await serveApi(db.knex, deps)
})
afterEach(async () => api.close())

test('a code redeems once, with its account key only, and the invitation is accepted', async () => {
  const key = (await newKey(deps, seed.account.id, 'signup')).key
  const other = await seedAccount(deps, { name: 'Other' })
  const otherKey = (await newKey(deps, other.account.id, 'signup')).key
  const added = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'dana@example.test', firstName: 'Dana', lastName: 'Scully', groups: ['Engineering'] })
  expect(added.ok).toBe(true)
  const link = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'dana@example.test' })
  if (!link.ok) throw new Error(link.code)
  const issued = await issueHandOverCode(deps, { token: link.value.url.split('/').pop()! })
  if (!issued.ok) throw new Error(issued.code)
  const code = issued.value.code

  const foreign = await call(api.base, otherKey, 'POST', '/invitations/redeem', { body: { code } })
  expect(foreign.status).toBe(422)
  expect(foreign.body).toMatchObject({ code: 'handover.invalid' })

  const redeemed = await call(api.base, key, 'POST', '/invitations/redeem', { body: { code } })
  expect(redeemed.status, redeemed.text).toBe(200)
  expect(apiRoutes.find((r) => r.operationId === 'redeemHandOverCode')!.success.schema.safeParse(redeemed.body).success).toBe(true)
  expect(redeemed.body).toMatchObject({ email: 'dana@example.test', first_name: 'Dana', last_name: 'Scully', account_id: seed.account.id, groups: ['Engineering'] })
  expect(await db.knex('users').where({ email: 'dana@example.test' }).first('status')).toEqual({ status: 'active' })

  const again = await call(api.base, key, 'POST', '/invitations/redeem', { body: { code } })
  expect(again.status).toBe(409)
  expect(again.body).toMatchObject({ code: 'handover.used' })
  const junk = await call(api.base, key, 'POST', '/invitations/redeem', { body: { code: 'nope' } })
  expect(junk.body).toMatchObject({ code: 'handover.invalid', errors: [{ field: 'code' }] })
})
