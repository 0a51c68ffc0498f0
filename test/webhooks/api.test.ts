/**
 * Webhook events written by the host product's own API calls, through the real `/api/v1` routes
 * and delivered to a verifying receiver: an invitation and a removal name the API key as who did
 * them (`api:<label>`), and a redeemed hand-over code announces `invitation.accepted` with the
 * invitee's name, email and groups and nothing secret (no code, link or password).
 */
import { afterEach, beforeEach, expect, test } from 'vitest'
import type { Deps } from '../../src/deps.ts'
import { issueHandOverCode } from '../../src/handover/issue.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { createWebhookWorker } from '../../src/webhooks/worker.ts'
import type { TestDatabase } from '../support/db.ts'
import type { SeededAccount, TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { call, newKey, serveApi, type ApiServer } from '../api/support.ts'
import { startEndpointReceiver, type Delivery, type Receiver } from './support/receiver.ts'

let db: TestDatabase
let seeded: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps: seeded, seed } = t), { makeDepsOptions: () => ({ config: { acceptRedirectUrl: 'https://app.example.test/signup' } }) })

const SETTINGS = { retryScheduleMs: [1_000], disableAfterMs: 86_400_000, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false }
let deps: Deps
let receiver: Receiver
let api: ApiServer
let key: string

beforeEach(async () => {
  // The real clock: the receiver checks webhook-timestamp against it.
  deps = { ...seeded, clock: systemClock }
  receiver = await startEndpointReceiver(deps, SETTINGS, { accountId: seed.account.id, actor: seed.adminActor })
  api = await serveApi(db.knex, deps)
  key = (await newKey(deps, seed.account.id, 'crm')).key
})

afterEach(async () => {
  await api.close()
  await receiver.close()
})

/** Run the worker until nothing is due; every delivery verified. */
async function delivered(): Promise<Delivery[]> {
  const w = createWebhookWorker({ deps, settings: SETTINGS })
  while ((await w.drainOnce()) > 0);
  expect(receiver.unverified).toEqual([])
  return receiver.accepted
}

test('an invitation and a removal made with an API key reach the product, done by api:<label>', async () => {
  const invited = await call(api.base, key, 'POST', '/users', { body: { email: 'dana@example.test', first_name: 'Dana', last_name: 'Scully', groups: ['Engineering'] } })
  expect(invited.status, invited.text).toBe(201)
  const userId = (invited.body as { id: string }).id
  const removed = await call(api.base, key, 'DELETE', `/users/${userId}`)
  expect(removed.status, removed.text).toBe(200)

  const got = await delivered()
  expect(got.map((d) => d.type)).toEqual(['invitation.sent', 'user.removed'])
  const invitationId = ((await db.knex('invitations').where({ user_id: userId }).first('id')) as { id: string }).id
  expect(got[0]!.data).toEqual({
    userId,
    email: 'dana@example.test',
    firstName: 'Dana',
    lastName: 'Scully',
    accountId: seed.account.id,
    invitationId,
    groups: ['Engineering'],
    invitedBy: 'api:crm',
    expiresAt: expect.any(String),
  })
  expect(got[1]!.data).toEqual({
    userId,
    email: 'dana@example.test',
    firstName: 'Dana',
    lastName: 'Scully',
    accountId: seed.account.id,
    previousStatus: 'invited',
    removedBy: 'api:crm',
    revokedInvitationId: invitationId,
  })
})

test('a hand-over code redeemed through the API announces invitation.accepted: name, email, groups, and no code, link or password', async () => {
  const invited = await call(api.base, key, 'POST', '/users', { body: { email: 'dana@example.test', first_name: 'Dana', last_name: 'Scully', groups: ['Engineering'] } })
  expect(invited.status, invited.text).toBe(201)
  const link = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'dana@example.test' })
  if (!link.ok) throw new Error(link.code)
  const token = link.value.url.split('/').pop()!
  const issued = await issueHandOverCode(deps, { token })
  if (!issued.ok) throw new Error(issued.code)

  const redeemed = await call(api.base, key, 'POST', '/invitations/redeem', { body: { code: issued.value.code } })
  expect(redeemed.status, redeemed.text).toBe(200)

  const got = await delivered()
  expect(got.map((d) => d.type)).toEqual(['invitation.sent', 'invitation.accepted'])
  const accepted = got[1]!
  expect(accepted.data).toEqual({
    userId: (invited.body as { id: string }).id,
    email: 'dana@example.test',
    firstName: 'Dana',
    lastName: 'Scully',
    accountId: seed.account.id,
    invitationId: expect.any(String),
    groups: ['Engineering'],
    acceptedAt: expect.any(String),
  })
  for (const secret of [issued.value.code, token, link.value.url]) expect(accepted.body).not.toContain(secret)
  expect(accepted.body).not.toMatch(/password|code|url/i)
})
