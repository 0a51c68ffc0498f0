/**
 * Webhooks end to end on a real database and real HTTP: each event type written by its real use
 * case (the chat commands through runCommandText, the invitee's answer, the expiry sweep, SES
 * feedback), posted by the worker to a local receiver that verifies every delivery with the
 * `standardwebhooks` library; a receiver that is down for a while and comes back; the retry
 * schedule, the order per user, giving up, disabling and enabling again.
 *
 * `Date` is faked (and nothing else): the library checks `webhook-timestamp` against `Date.now()`,
 * so the clock the worker signs with and the one the receiver checks against move together.
 */
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { runCommandText } from '../../src/commands/run-command.ts'
import { recordDeliveryEvent } from '../../src/email/record-delivery-event.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { sweepExpiredInvitations } from '../../src/notices/sweep-expired.ts'
import type { Deps } from '../../src/deps.ts'
import type { WebhookSettings } from '../../src/webhooks/config.ts'
import { emitWebhookEvent } from '../../src/webhooks/emit.ts'
import { addWebhookEndpoint, enableWebhookEndpoint, listWebhookEndpoints } from '../../src/webhooks/endpoints.ts'
import type { WebhookEventType } from '../../src/webhooks/events.ts'
import { createWebhookWorker, retryDelayMs, type WebhookWorker } from '../../src/webhooks/worker.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, seedAccount, TEST_NOW, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'

let db: TestDatabase
let seeded: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps: seeded, seed } = t))

/** The clock is `Date` itself, moved by the test. */
const clock = {
  now: () => new Date(),
  advance: (ms: number) => vi.setSystemTime(Date.now() + ms),
}
let deps: Deps
let receiver: Receiver

const SETTINGS: WebhookSettings = { retryScheduleMs: [60_000, 5 * 60_000, 30 * 60_000], disableAfterMs: DAY, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false }
const REGISTRATION = { firstName: 'Bob', lastName: 'Joined', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true }

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date(TEST_NOW))
  deps = { ...seeded, clock }
  receiver = await startReceiver()
})

afterEach(async () => {
  await receiver.close()
  vi.useRealTimers()
})

async function addEndpoint(events: WebhookEventType[] | null = null, url = receiver.url): Promise<string> {
  const r = await addWebhookEndpoint(deps, SETTINGS, { accountId: seed.account.id, url, events, actor: seed.adminActor })
  if (!r.ok) throw new Error(r.code)
  expect(r.value.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  receiver.secret = r.value.secret
  return r.value.id
}

function worker(settings: Partial<WebhookSettings> = {}, registry?: Registry): WebhookWorker {
  return createWebhookWorker({ deps, settings: { ...SETTINGS, ...settings }, random: () => 0.5, ...(registry ? { registry } : {}) })
}

/** Run rounds until nothing is due now. */
async function drain(w: WebhookWorker): Promise<void> {
  while ((await w.drainOnce()) > 0);
}

async function run(text: string): Promise<void> {
  const outcome = await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text, confirmed: true })
  if (outcome.kind === 'refused' || outcome.kind === 'usage') throw new Error(`${text}: ${JSON.stringify(outcome)}`)
}

async function linkToken(email: string): Promise<string> {
  const outcome = await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text: `link ${email}` })
  if (outcome.kind !== 'link') throw new Error(`link ${email}: ${outcome.kind}`)
  return new URL(outcome.url).pathname.split('/').pop()!
}

async function messageRows(): Promise<{ message_id: string; event_type: string; status: string; attempts: number }[]> {
  return db.knex('webhook_messages').orderBy('id').select('message_id', 'event_type', 'status', 'attempts')
}

describe('each event, from its real use case, reaches a verifying receiver', () => {
  test('sent, resent, regenerated, groups changed, accepted, declined, expired, removed and bounced, with their payloads', async () => {
    await addEndpoint()
    const w = worker()
    await run('add ann@x.test --name "Ann Smith" --group Engineering')
    await run('resend ann@x.test')
    await run('edit ann@x.test --group Members --group Engineering')
    await run('add dan@x.test --name "Dan Decline"')
    await run('add eve@x.test --name "Eve Expire"')
    await run('add rob@x.test --name "Rob Remove"')
    const annToken = await linkToken('ann@x.test')
    expect((await acceptInvitation(deps, { token: annToken, ...REGISTRATION })).ok).toBe(true)
    expect((await declineInvitation(deps, { token: await linkToken('dan@x.test') })).ok).toBe(true)
    await run('remove rob@x.test')
    await drain(w)
    // eve's link expires; the sweep announces it; an administrator sends a new one
    clock.advance(8 * DAY)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    await run('regenerate eve@x.test')
    // SES says the email to eve bounced
    await db.knex('email_outbox').where({ to_email: 'eve@x.test' }).update({ status: 'sent', message_id: 'ses-eve' })
    const bounced = await recordDeliveryEvent(deps, { eventId: 'sns-1', kind: 'bounce', suppress: true, sesMessageId: 'ses-eve', recipients: [{ email: 'eve@x.test', detail: '550 5.1.1' }], summary: 'Permanent/General' })
    expect(bounced.ok).toBe(true)
    await drain(w)

    expect(receiver.unverified).toEqual([])
    const got = receiver.accepted
    // in order per person (people in parallel)
    const sequence = (email: string) => got.filter((d) => d.data.email === email).map((d) => d.type)
    expect(sequence('ann@x.test')).toEqual(['invitation.sent', 'invitation.resent', 'user.groups_changed', 'invitation.accepted'])
    expect(sequence('dan@x.test')).toEqual(['invitation.sent', 'invitation.declined'])
    expect(sequence('rob@x.test')).toEqual(['invitation.sent', 'user.removed'])
    expect(sequence('eve@x.test')).toEqual(['invitation.sent', 'invitation.expired', 'invitation.regenerated', 'email.bounced'])
    expect(got).toHaveLength(12)
    const of = (type: string, email: string) => got.find((d) => d.type === type && d.data.email === email)!
    const accountId = seed.account.id
    const ids = { userId: expect.stringMatching(/^[0-9a-f-]{36}$/), invitationId: expect.stringMatching(/^[0-9a-f-]{36}$/) }
    expect(of('invitation.sent', 'ann@x.test').data).toEqual({ ...ids, accountId, email: 'ann@x.test', firstName: 'Ann', lastName: 'Smith', groups: ['Engineering'], invitedBy: seed.admin.email, expiresAt: '2026-12-03T10:00:00.000Z' })
    expect(of('user.groups_changed', 'ann@x.test').data).toEqual({ userId: ids.userId, accountId, email: 'ann@x.test', firstName: 'Ann', lastName: 'Smith', groups: ['Engineering', 'Members'], previousGroups: ['Engineering'], changedBy: seed.admin.email })
    // the names the invitee registered with; never the password or the link
    const accepted = of('invitation.accepted', 'ann@x.test')
    expect(accepted.data).toEqual({ ...ids, accountId, email: 'ann@x.test', firstName: 'Bob', lastName: 'Joined', groups: ['Engineering', 'Members'], acceptedAt: TEST_NOW })
    expect(of('invitation.declined', 'dan@x.test').data).toEqual({ ...ids, accountId, email: 'dan@x.test', firstName: 'Dan', lastName: 'Decline', declinedAt: TEST_NOW })
    expect(of('user.removed', 'rob@x.test').data).toEqual({ userId: ids.userId, accountId, email: 'rob@x.test', firstName: 'Rob', lastName: 'Remove', previousStatus: 'invited', removedBy: seed.admin.email, revokedInvitationId: ids.invitationId })
    expect(of('invitation.expired', 'eve@x.test').data).toEqual({ ...ids, accountId, email: 'eve@x.test', firstName: 'Eve', lastName: 'Expire', invitedBy: seed.admin.email, expiredAt: '2026-12-03T10:00:00.000Z' })
    const regenerated = of('invitation.regenerated', 'eve@x.test').data
    expect(regenerated.replacedInvitationId).toBe(of('invitation.expired', 'eve@x.test').data.invitationId)
    expect(of('email.bounced', 'eve@x.test').data).toEqual({ accountId, userId: of('invitation.sent', 'eve@x.test').data.userId, invitationId: expect.any(String), email: 'eve@x.test', detail: 'Permanent/General: 550 5.1.1', suppressed: true })
    for (const d of got) {
      expect(d.body).not.toMatch(/Str0ng|password|token|\/i\//i)
      expect(JSON.parse(d.body)).toMatchObject({ type: d.type, timestamp: expect.stringMatching(/Z$/) })
      expect(d.id).toMatch(/^msg_[A-Za-z0-9_-]{24}$/)
      expect(d.headers['content-type']).toBe('application/json')
    }
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length)
    expect((await messageRows()).every((m) => m.status === 'delivered' && m.attempts === 1)).toBe(true)
  })

  test('an endpoint hears only the events it subscribed to; other accounts and refused or rolled-back changes write nothing', async () => {
    const endpointId = await addEndpoint(['invitation.accepted', 'user.removed'])
    const other = await seedAccount(deps, { name: 'Other Co' })
    expect((await addWebhookEndpoint(deps, SETTINGS, { accountId: other.account.id, url: receiver.url, events: null, actor: other.adminActor })).ok).toBe(true)
    await run('add ann@x.test --name "Ann Smith"')
    // refused: no name, a bad address, not an administrator
    await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text: 'add bob@x.test' })
    await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text: 'add not-an-email --name "A B"' })
    await runCommandText(deps, { accountId: seed.account.id, actor: seed.actorFor('nobody@x.test'), text: 'remove ann@x.test' })
    // the last administrator cannot be removed
    await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text: `remove ${seed.admin.email}`, confirmed: true })
    // rolled back after the event was written
    await expect(
      deps.db.transaction(async (trx) => {
        await emitWebhookEvent(trx, { type: 'user.removed', accountId: seed.account.id, at: clock.now(), data: { userId: seed.admin.userId, email: 'x@x.test', firstName: '', lastName: '', accountId: seed.account.id, previousStatus: 'active', removedBy: null, revokedInvitationId: null } })
        throw new Error('the change failed after the event')
      }),
    ).rejects.toThrow('the change failed')
    expect(await messageRows()).toEqual([])
    await run('remove ann@x.test')
    expect(await db.knex('webhook_messages').select('event_type', 'endpoint_id')).toEqual([{ event_type: 'user.removed', endpoint_id: endpointId }])
  })
})

describe('a receiver that is down for a while', () => {
  test('refused, then failing with 503, then back: everything delivered, none missing, in order per user, repeats only with the same webhook-id', async () => {
    const endpointId = await addEndpoint()
    const w = worker({ retryScheduleMs: [60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000] })
    await receiver.refuse()
    const people = ['a', 'b', 'c'].map((p) => `${p}@x.test`)
    for (const email of people) await run(`add ${email} --name "Pat Person"`)
    for (const email of people) await run(`edit ${email} --group Engineering`)
    await drain(w)
    expect(receiver.accepted).toEqual([])
    // the first event of each person was tried and waits; their later events wait behind it
    expect((await messageRows()).map((m) => m.attempts)).toEqual([1, 1, 1, 0, 0, 0])
    // another event while down
    await run('resend a@x.test')
    clock.advance(60_000)
    await drain(w)
    // it answers now, but 503
    await receiver.up()
    receiver.answer(503)
    clock.advance(60_000)
    await drain(w)
    expect(receiver.failedAnswers).toBe(3)
    expect((await listWebhookEndpoints(deps, seed.account.id))[0]).toMatchObject({ id: endpointId, status: 'enabled', queued: 7, failed: 0, lastError: 'HTTP 503', failingSince: new Date(TEST_NOW) })
    // back
    receiver.answer(200)
    clock.advance(60_000)
    await drain(w)
    expect(receiver.unverified).toEqual([])
    const rows = await messageRows()
    expect(rows.every((m) => m.status === 'delivered')).toBe(true)
    // every message arrived; a repeat would carry an id already seen
    expect(new Set(receiver.accepted.map((d) => d.id))).toEqual(new Set(rows.map((r) => r.message_id)))
    for (const email of people) {
      const types = receiver.accepted.filter((d) => d.data.email === email).map((d) => d.type)
      expect(types).toEqual(email === 'a@x.test' ? ['invitation.sent', 'user.groups_changed', 'invitation.resent'] : ['invitation.sent', 'user.groups_changed'])
    }
    expect((await listWebhookEndpoints(deps, seed.account.id))[0]).toMatchObject({ failingSince: null, lastError: null, queued: 0 })
  })

  test('a message whose worker died mid-delivery is posted again once its lease is over, with the same webhook-id', async () => {
    await addEndpoint()
    await run('add ann@x.test --name "Ann Smith"')
    // a worker claims it and dies before recording (the row stays `sending` under its lease)
    await db.knex('webhook_messages').update({ status: 'sending', locked_until: new Date(Date.now() + 60_000), attempts: 1, claim_token: '00000000-0000-4000-8000-000000000001' })
    const w = worker()
    expect(await w.drainOnce()).toBe(0)
    clock.advance(60_001)
    expect(await w.drainOnce()).toBe(1)
    expect(receiver.accepted).toHaveLength(1)
    expect((await messageRows())[0]).toMatchObject({ status: 'delivered', attempts: 2, message_id: receiver.accepted[0]!.id })
  })
})

describe('retries, giving up, disabling', () => {
  test('the schedule with jitter, then given up; a later event of the same person waits until then, another person’s does not', async () => {
    expect([0, 0.5, 0.999].map((r) => retryDelayMs([60_000], 1, () => r))).toEqual([54_000, 60_000, 65_988])
    expect(retryDelayMs([60_000], 2)).toBeNull()
    await addEndpoint()
    receiver.answer(500)
    const registry = new Registry()
    const w = worker({ retryScheduleMs: [60_000, 120_000] }, registry)
    await run('add ann@x.test --name "Ann Smith"')
    await run('edit ann@x.test --group Engineering')
    await drain(w)
    await run('add bob@x.test --name "Bob Other"')
    receiver.answer(200)
    await drain(w)
    // bob's arrives; ann's second event still waits behind her first
    expect(receiver.accepted.map((d) => `${d.type} ${String(d.data.email)}`)).toEqual(['invitation.sent bob@x.test'])
    receiver.answer(500)
    clock.advance(59_999)
    expect(await w.drainOnce()).toBe(0)
    clock.advance(1)
    await drain(w)
    clock.advance(120_000)
    await drain(w)
    const rows = await db.knex('webhook_messages').orderBy('id').select('event_type', 'status', 'attempts', 'last_error', 'last_status')
    expect(rows[0]).toEqual({ event_type: 'invitation.sent', status: 'failed', attempts: 3, last_error: 'gave up after 3 attempts: HTTP 500', last_status: 500 })
    // now ann's next event is tried
    expect(rows[1]).toMatchObject({ event_type: 'user.groups_changed', status: 'queued', attempts: 1 })
    const counted = (await registry.getSingleMetric('inviteops_webhook_attempts_total')!.get()).values.map((v) => [v.labels.outcome, v.value])
    expect(Object.fromEntries(counted)).toEqual({ failed: 4, delivered: 1, given_up: 1 })
  })

  test('an endpoint failing for WEBHOOK_DISABLE_AFTER is disabled, its administrators told; enabled again, what waited is delivered', async () => {
    const endpointId = await addEndpoint()
    await receiver.refuse()
    const w = worker({ retryScheduleMs: Array.from({ length: 30 }, () => 3_600_000), disableAfterMs: 5 * 3_600_000 })
    await run('add ann@x.test --name "Ann Smith"')
    for (let hour = 0; hour < 5; hour++) {
      await drain(w)
      clock.advance(3_600_000)
    }
    expect(await db.knex('account_events').where({ type: 'webhook.endpoint_disabled' })).toEqual([])
    await drain(w)
    const [endpoint] = await listWebhookEndpoints(deps, seed.account.id)
    expect(endpoint).toMatchObject({ status: 'disabled', failingSince: new Date(TEST_NOW), disabledAt: new Date(Date.now()), queued: 1 })
    const events = await db.knex('account_events').where({ type: 'webhook.endpoint_disabled' }).select('account_id', 'payload')
    expect(events).toEqual([{ account_id: seed.account.id, payload: { endpointId, url: receiver.url, failingSince: TEST_NOW, lastError: expect.stringContaining('ECONNREFUSED') } }])
    // disabled: nothing is claimed, new events are not queued for it
    await run('add bob@x.test --name "Bob Other"')
    clock.advance(DAY)
    expect(await w.drainOnce()).toBe(0)
    await receiver.up()
    expect(await enableWebhookEndpoint(deps, { id: endpointId, actor: seed.adminActor })).toMatchObject({ ok: true, value: { wasDisabled: true } })
    await drain(w)
    expect(receiver.accepted.map((d) => String(d.data.email))).toEqual(['ann@x.test'])
    expect((await listWebhookEndpoints(deps, seed.account.id))[0]).toMatchObject({ status: 'enabled', failingSince: null, queued: 0 })
  })
})

describe('the SSRF rules at add and at every send', () => {
  test('a refused URL is audited without its user, password or query', async () => {
    const strict: WebhookSettings = { ...SETTINGS, allowPrivate: false }
    const urls = ['https://hook-user:s3cret-pw@hooks.example.com/in?token=t0ken-q#frag', 'http://hook-user:s3cret-pw@127.0.0.1:9/in?token=t0ken-q', 'ftp://hook-user:s3cret-pw@files.example.com/in?token=t0ken-q']
    for (const url of urls) {
      const r = await addWebhookEndpoint(deps, strict, { accountId: seed.account.id, url, events: null, actor: seed.adminActor }, { resolve: async () => [{ address: '127.0.0.1', family: 4 }] })
      expect(r.ok).toBe(false)
    }
    // Not an http(s) URL: nothing of the text is kept, it may be a secret pasted by mistake.
    expect((await addWebhookEndpoint(deps, strict, { accountId: seed.account.id, url: 'hook-user:s3cret-pw at hooks', events: null, actor: seed.adminActor })).ok).toBe(false)
    const audit = await db.knex('audit_log').where({ action: 'webhook.add' }).orderBy('id').select('detail', 'ok')
    expect(audit).toHaveLength(4)
    const text = JSON.stringify(audit)
    for (const secret of ['s3cret-pw', 'hook-user', 't0ken-q', 'frag']) expect(text).not.toContain(secret)
    expect(audit.map((a: { detail: { url: unknown } }) => a.detail.url)).toEqual(['https://hooks.example.com/in', 'http://127.0.0.1:9/in', null, null])
  })

  test('a private URL is refused when added; a name that resolves to a private address by the time of a send is not posted to', async () => {
    const strict: WebhookSettings = { ...SETTINGS, allowPrivate: false }
    const refused = await addWebhookEndpoint(deps, strict, { accountId: seed.account.id, url: receiver.url, events: null, actor: seed.adminActor })
    expect(refused).toEqual({ ok: false, code: 'webhook.url_not_allowed', address: '127.0.0.1', range: 'loopback' })
    expect(await db.knex('webhook_endpoints')).toEqual([])
    expect(await db.knex('audit_log').where({ action: 'webhook.add' }).select('result_code', 'ok')).toEqual([{ result_code: 'webhook.url_not_allowed', ok: false }])
    const added = await addWebhookEndpoint(deps, strict, { accountId: seed.account.id, url: 'https://hooks.example.com/x', events: null, actor: seed.adminActor }, { resolve: async () => [{ address: '93.184.216.34', family: 4 }] })
    expect(added.ok).toBe(true)
    await run('add ann@x.test --name "Ann Smith"')
    const rebound = createWebhookWorker({ deps, settings: strict, resolve: async () => [{ address: '127.0.0.1', family: 4 }], random: () => 0.5 })
    await drain(rebound)
    expect(await db.knex('webhook_messages').select('status', 'attempts', 'last_error', 'last_status')).toEqual([{ status: 'queued', attempts: 1, last_error: 'URL refused: webhook.url_not_allowed (127.0.0.1, loopback)', last_status: null }])
    expect(receiver.accepted).toEqual([])
  })
})
