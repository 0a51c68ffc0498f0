import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import nock from 'nock'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSesNotificationsRouter } from '../../adapters/email/ses-notifications-router.ts'
import { resendInvitation } from '../../src/invitations/resend-invitation.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { runCommandText } from '../../src/commands/run-command.ts'
import { renderOutcome } from '../../adapters/cli/render.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { CERT_ORIGIN, CERT_PATH, TOPIC_ARN, makeSigningKey, notification, signEnvelope, subscriptionConfirmation } from './support/sns-signer.ts'
import type { SnsEnvelope } from '../../adapters/email/sns.ts'

/**
 * POST /ses/notifications through a real express server: SNS-shaped bodies (JSON sent as
 * text/plain), signed with a test certificate that nock serves at the SNS certificate URL.
 */
const SES_MESSAGE_ID = '0102018c2f9b1a2b-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f-000000'
const sesFixture = (name: string) => readFileSync(new URL(`./fixtures/ses-notifications/${name}.json`, import.meta.url), 'utf8')

const key = makeSigningKey()
const attacker = makeSigningKey('attacker.example')
let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let server: Server
let base: string

beforeAll(async () => {
  db = await createTestDatabase()
  deps = makeDeps(db.knex)
  const app = express()
  app.use('/ses/notifications', createSesNotificationsRouter(deps, { topicArn: TOPIC_ARN }))
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})

afterAll(async () => {
  nock.cleanAll()
  nock.enableNetConnect()
  await new Promise((resolve) => server.close(resolve))
  await db.close()
})

beforeEach(async () => {
  nock.cleanAll()
  await truncateAll(db.knex)
  await db.knex('email_send_gate').insert({ id: 1, next_send_at: new Date(0) }).onConflict('id').ignore()
  seed = await seedAccount(deps)
  await inviteUser(deps, seed, 'invitee@example.com')
  // As if the worker had sent it: SES's MessageId is on the outbox row and the invitation.
  await db.knex('email_outbox').update({ status: 'sent', message_id: SES_MESSAGE_ID, sent_at: deps.clock.now() })
  await db.knex('invitations').update({ delivery_status: 'sent', delivery_message_id: SES_MESSAGE_ID })
})

/** The certificate URL answers once per test (the router's cache lives as long as the router). */
function serveCertificate() {
  return nock(CERT_ORIGIN).get(CERT_PATH).optionally().reply(200, key.certPem)
}

async function post(body: string | SnsEnvelope, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const type = typeof body === 'string' ? undefined : body.Type
  const res = await fetch(`${base}/ses/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', ...(type ? { 'x-amz-sns-message-type': type } : {}), ...headers },
    body: text,
  })
  return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> | null }
}

/** Everything a notification could change. */
async function snapshot() {
  const [suppressions, events, audit, accountEvents, invitations] = await Promise.all([
    db.knex('email_suppressions').select('email', 'reason', 'detail').orderBy('email'),
    db.knex('email_feedback_events').count<{ count: number }[]>({ count: '*' }),
    db.knex('audit_log').count<{ count: number }[]>({ count: '*' }),
    db.knex('account_events').count<{ count: number }[]>({ count: '*' }),
    db.knex('invitations').select('id', 'delivery_status', 'delivery_detail').orderBy('id'),
  ])
  return { suppressions, events: events[0]?.count, audit: audit[0]?.count, accountEvents: accountEvents[0]?.count, invitations }
}

describe('bounces and complaints', () => {
  it('a permanent bounce (SignatureVersion 1) suppresses the recipient, marks the invitation bounced, audits, tells the account; a redelivery changes nothing; the admin is then refused with email.suppressed', async () => {
    serveCertificate()
    const m = signEnvelope(key, notification(sesFixture('bounce-permanent')), { version: '1' })
    const first = await post(m)
    expect(first.status).toBe(200)
    expect(first.json).toEqual({ duplicate: false, suppressed: ['invitee@example.com'], invitationsMarked: 1 })

    const after = await snapshot()
    expect(after.suppressions).toEqual([{ email: 'invitee@example.com', reason: 'bounce', detail: 'Permanent/General: smtp; 550 5.1.1 user unknown' }])
    expect(after.invitations.map((i) => i.delivery_status)).toEqual(['bounced'])
    const audit = await db.knex('audit_log').where({ action: 'email.bounce' }).first()
    expect(audit).toMatchObject({ account_id: seed.account.id, actor_platform: 'system', target_email: 'invitee@example.com', result_code: 'email.suppressed', ok: true })
    expect(await db.knex('account_events').where({ type: 'email.bounced' }).count<{ count: number }[]>({ count: '*' })).toEqual([{ count: 1 }])

    const again = await post(m)
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ duplicate: true })
    expect(await snapshot()).toEqual(after)

    const resend = await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'invitee@example.com' })
    expect(resend).toMatchObject({ ok: false, code: 'email.suppressed', email: 'invitee@example.com' })

    // What an administrator sees: `/invite show` in the CLI, and the refusal of `/invite resend`.
    const cli = async (text: string) => renderOutcome(await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text }), deps.clock.now())
    expect((await cli('/invite show invitee@example.com')).text).toContain(`email:   bounced (id ${SES_MESSAGE_ID}) — Permanent/General: smtp; 550 5.1.1 user unknown`)
    const refused = await cli('/invite resend invitee@example.com')
    expect(refused.ok).toBe(false)
    expect(refused.text).toContain('Emails to invitee@example.com are suppressed (bounce: Permanent/General')
    const other = await db.knex('users').where({ email: 'invitee@example.com' }).first()
    expect(other).toBeTruthy()
    const add = await addInvitation(deps, { accountId: (await seedAccount(deps)).account.id, actor: seed.adminActor, email: 'invitee@example.com', firstName: 'B', lastName: 'I', groups: [] })
    expect(add.ok).toBe(false)
  })

  it('a complaint (SignatureVersion 2) suppresses and marks the invitation complained', async () => {
    serveCertificate()
    const res = await post(signEnvelope(key, notification(sesFixture('complaint'))))
    expect(res.status).toBe(200)
    const s = await snapshot()
    expect(s.suppressions).toEqual([{ email: 'invitee@example.com', reason: 'complaint', detail: 'complaint/abuse' }])
    expect(s.invitations.map((i) => [i.delivery_status, i.delivery_detail])).toEqual([['complained', 'complaint/abuse']])
  })

  it('a transient bounce marks the invitation bounced but does not suppress (the next resend may arrive)', async () => {
    serveCertificate()
    const res = await post(signEnvelope(key, notification(sesFixture('bounce-transient'))))
    expect(res.status).toBe(200)
    const s = await snapshot()
    expect(s.suppressions).toEqual([])
    expect(s.invitations.map((i) => [i.delivery_status, i.delivery_detail])).toEqual([['bounced', 'Transient/MailboxFull: smtp; 452 4.2.2 mailbox full']])
    const resend = await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'invitee@example.com' })
    expect(resend.ok).toBe(true)
  })

  it('a NUL in what SES says (diagnostic code, feedback id) is recorded as U+FFFD instead of failing the record', async () => {
    serveCertificate()
    const ses = JSON.parse(sesFixture('bounce-permanent')) as { bounce: { feedbackId: string; bouncedRecipients: { diagnosticCode?: string }[] } }
    ses.bounce.feedbackId = `${ses.bounce.feedbackId}\u0000x`
    for (const r of ses.bounce.bouncedRecipients) r.diagnosticCode = 'smtp; 550 \u0000 gone'
    const res = await post(signEnvelope(key, notification(JSON.stringify(ses))))
    expect(res.status).toBe(200)
    const s = await snapshot()
    expect(s.suppressions).toHaveLength(1)
    expect(s.suppressions[0]?.detail).toContain('550 \ufffd gone')
    expect(s.invitations.map((i) => i.delivery_status)).toEqual(['bounced'])
  })

  it('a Delivery notification is acknowledged and changes nothing', async () => {
    serveCertificate()
    const before = await snapshot()
    const res = await post(signEnvelope(key, notification(sesFixture('delivery'))))
    expect(res).toEqual({ status: 200, json: { ignored: 'Delivery' } })
    expect(await snapshot()).toEqual(before)
  })
})

describe('subscription', () => {
  it('confirms a SubscriptionConfirmation by GETting its SubscribeURL on the SNS host', async () => {
    serveCertificate()
    const m = subscriptionConfirmation()
    if (m.Type !== 'SubscriptionConfirmation') throw new Error('fixture')
    const url = new URL(m.SubscribeURL)
    const confirm = nock(CERT_ORIGIN).get(url.pathname).query(true).reply(200, '<ConfirmSubscriptionResponse/>')
    const res = await post(signEnvelope(key, m))
    expect(res).toEqual({ status: 200, json: { confirmed: true } })
    expect(confirm.isDone()).toBe(true)
  })

  it('refuses to GET a SubscribeURL outside SNS, even in a correctly signed message', async () => {
    serveCertificate()
    const visit = nock('https://attacker.example').get(/.*/).reply(200, 'thanks')
    const res = await post(signEnvelope(key, subscriptionConfirmation({ SubscribeURL: 'https://attacker.example/?Action=ConfirmSubscription&x=1' })))
    expect(res.status).toBe(403)
    expect(visit.isDone()).toBe(false)
  })
})

describe('forged or malformed requests get 4xx and change nothing', () => {
  const bounce = () => notification(sesFixture('bounce-permanent'))
  const cases: [string, () => string | SnsEnvelope, number][] = [
    ['not JSON', () => 'Type=Notification&Message=hi', 400],
    ['empty body', () => '', 400],
    ['JSON but not SNS', () => JSON.stringify({ hello: 'world' }), 400],
    ['unknown SignatureVersion', () => ({ ...signEnvelope(key, bounce()), SignatureVersion: '3' }) as unknown as SnsEnvelope, 400],
    ['signature not base64', () => ({ ...signEnvelope(key, bounce()), Signature: '!!!' }), 400],
    ['signed by someone else', () => signEnvelope(attacker, bounce()), 403],
    ['Message changed after signing', () => ({ ...signEnvelope(key, bounce()), Message: sesFixture('complaint') }), 403],
    ['another topic', () => signEnvelope(key, notification(sesFixture('bounce-permanent'), { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:other' })), 403],
    ['certificate outside SNS', () => signEnvelope(attacker, bounce(), { certUrl: `https://attacker.example${CERT_PATH}` }), 403],
    ['certificate over http', () => signEnvelope(key, bounce(), { certUrl: `http://sns.eu-west-1.amazonaws.com${CERT_PATH}` }), 403],
    ['signed, but Message is not JSON', () => signEnvelope(key, notification('hello')), 400],
    ['signed, but a Bounce without recipients', () => signEnvelope(key, notification(JSON.stringify({ ...JSON.parse(sesFixture('bounce-permanent')), bounce: { bounceType: 'Permanent' } }))), 400],
  ]
  it.each(cases)('%s', async (_name, body, status) => {
    serveCertificate()
    const before = await snapshot()
    const res = await post(body())
    expect(res.status).toBe(status)
    expect(await snapshot()).toEqual(before)
  })

  it('a message type header that contradicts the body → 400', async () => {
    serveCertificate()
    const before = await snapshot()
    const res = await post(signEnvelope(key, bounce()), { 'x-amz-sns-message-type': 'SubscriptionConfirmation' })
    expect(res.status).toBe(400)
    expect(await snapshot()).toEqual(before)
  })

  it('an unreachable certificate → 503 (SNS retries later), nothing changes', async () => {
    const router = createSesNotificationsRouter(deps, { topicArn: TOPIC_ARN, httpGet: () => Promise.reject(new Error('ECONNRESET')) })
    const app = express().use('/ses/notifications', router)
    const s = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => s.once('listening', resolve))
    try {
      const before = await snapshot()
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/ses/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=UTF-8' },
        body: JSON.stringify(signEnvelope(key, bounce())),
      })
      expect(res.status).toBe(503)
      expect(await snapshot()).toEqual(before)
    } finally {
      await new Promise((resolve) => s.close(resolve))
    }
  })
})
