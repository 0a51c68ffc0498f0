/**
 * Webhook events written by requests through the real HTTP routes: the invitee's pages (accept
 * and register, decline) and SES feedback on /ses/notifications (SNS-signed, its certificate served
 * by nock), delivered to a verifying receiver. A refused request (bad CSRF, a form with errors)
 * writes no event.
 */
import express from 'express'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest'
import { createSesNotificationsRouter } from '../../adapters/email/ses-notifications-router.ts'
import type { Deps } from '../../src/deps.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { createWebhookWorker } from '../../src/webhooks/worker.ts'
import { CERT_ORIGIN, CERT_PATH, TOPIC_ARN, makeSigningKey, notification, signEnvelope } from '../email/support/sns-signer.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { csrfFrom, startInviteeApp, WebClient, type RunningApp } from '../web/support.ts'
import { startEndpointReceiver, type Receiver } from './support/receiver.ts'

let db: TestDatabase
let seeded: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps: seeded, seed } = t))

const PASSWORD = 'Str0ng!pass'
const SETTINGS = { retryScheduleMs: [1_000], disableAfterMs: 86_400_000, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false }
const key = makeSigningKey()
let deps: Deps
let receiver: Receiver
let app: RunningApp
let ses: Server

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})
afterAll(() => {
  nock.cleanAll()
  nock.enableNetConnect()
})

beforeEach(async () => {
  // The real clock: the receiver checks webhook-timestamp against it.
  deps = { ...seeded, clock: systemClock }
  receiver = await startEndpointReceiver(deps, SETTINGS, { accountId: seed.account.id, actor: seed.adminActor })
  app = await startInviteeApp(deps)
  const sesApp = express()
  sesApp.use('/ses/notifications', createSesNotificationsRouter(deps, { topicArn: TOPIC_ARN }))
  ses = sesApp.listen(0, '127.0.0.1')
  await new Promise((resolve) => ses.once('listening', resolve))
})

afterEach(async () => {
  await app.close()
  await new Promise((resolve) => ses.close(resolve))
  await receiver.close()
})

async function delivered(): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const w = createWebhookWorker({ deps, settings: SETTINGS })
  while ((await w.drainOnce()) > 0);
  expect(receiver.unverified).toEqual([])
  return receiver.accepted.map((d) => ({ type: d.type, data: d.data }))
}

test('accepting and declining on the invitee pages, and a bounce reported by SES, each reach the product', async () => {
  const { token: ann } = await inviteUser(deps, seed, 'ann@x.test', { groups: ['Engineering'] })
  const { token: dan } = await inviteUser(deps, seed, 'dan@x.test')
  const { token: eve } = await inviteUser(deps, seed, 'invitee@example.com')
  const web = new WebClient(app.baseUrl)

  // refused: a forged form, then one with errors; neither writes an event
  expect((await web.post(`/invitations/${ann}/accept`, { csrf: 'forged', firstName: 'Ann', lastName: 'Smith', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })).res.status).toBe(403)
  const form = await web.get(`/invitations/${ann}/accept`)
  const wrong = await web.post(`/invitations/${ann}/accept`, { csrf: csrfFrom(form.body), firstName: 'Ann', lastName: 'Smith', password: 'short', passwordConfirmation: 'short', termsAccepted: 'yes' })
  expect(wrong.res.status).toBe(422)
  const countOf = async (type: string) => Number((await db.knex('webhook_messages').where({ event_type: type }).count<{ n: string }[]>({ n: '*' }))[0]!.n)
  expect(await countOf('invitation.accepted')).toBe(0)

  const accepted = await web.post(`/invitations/${ann}/accept`, { csrf: csrfFrom(wrong.body), firstName: 'Ann', lastName: 'Smith', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
  expect(accepted.res.status).toBeLessThan(400)
  const confirm = await web.get(`/invitations/${dan}/decline`)
  expect((await web.post(`/invitations/${dan}/decline`, { csrf: csrfFrom(confirm.body) })).res.status).toBeLessThan(400)

  // SES: the email to invitee@example.com bounced
  expect(eve).toBeTruthy()
  const SES_MESSAGE_ID = '0102018c2f9b1a2b-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f-000000'
  await db.knex('email_outbox').where({ to_email: 'invitee@example.com' }).update({ status: 'sent', message_id: SES_MESSAGE_ID })
  nock(CERT_ORIGIN).get(CERT_PATH).optionally().reply(200, key.certPem)
  const bounce = readFileSync(new URL('../email/fixtures/ses-notifications/bounce-permanent.json', import.meta.url), 'utf8')
  const envelope = signEnvelope(key, notification(bounce))
  const res = await fetch(`http://127.0.0.1:${(ses.address() as AddressInfo).port}/ses/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
    body: JSON.stringify(envelope),
  })
  expect(res.status).toBe(200)

  const got = (await delivered()).filter((d) => d.type !== 'invitation.sent')
  const userIdOf = async (email: string) => ((await db.knex('users').where({ email }).first('id')) as { id: string }).id
  expect(got).toEqual(
    expect.arrayContaining([
      { type: 'invitation.accepted', data: expect.objectContaining({ email: 'ann@x.test', firstName: 'Ann', lastName: 'Smith', groups: ['Engineering'], userId: await userIdOf('ann@x.test') }) },
      { type: 'invitation.declined', data: expect.objectContaining({ email: 'dan@x.test', firstName: 'Bob', lastName: 'Invitee', userId: await userIdOf('dan@x.test') }) },
      { type: 'email.bounced', data: expect.objectContaining({ email: 'invitee@example.com', suppressed: true, userId: await userIdOf('invitee@example.com'), detail: 'Permanent/General: smtp; 550 5.1.1 user unknown' }) },
    ]),
  )
  expect(got).toHaveLength(3)
  expect(JSON.stringify(got)).not.toContain(PASSWORD)
})
