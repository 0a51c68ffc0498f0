import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createFileEmailSender } from '../../adapters/email/file-sender.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { enqueueEmail } from '../../src/email/outbox.ts'
import { EmailSendError, type EmailMessage, type EmailSender } from '../../src/ports/email.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let dataDir: string
beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-outbox-'))
})
afterAll(async () => {
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})
beforeEach(async () => {
  await truncateAll(db.knex)
  deps = makeDeps(db.knex)
  seed = await seedAccount(deps)
})

/** A sender that records what reached it and fails on demand (the port's contract, not our classes). */
function recordingSender(fail: (m: EmailMessage, attempt: number) => Error | null = () => null): EmailSender & { sent: EmailMessage[] } {
  const sent: EmailMessage[] = []
  let attempt = 0
  return {
    name: 'recording',
    sent,
    async send(m) {
      const err = fail(m, ++attempt)
      if (err) throw err
      sent.push(m)
      return { messageId: `msg-${sent.length}` }
    },
  }
}

describe('enqueued in the same transaction as the change', () => {
  test('each email kind is written with its change', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    const rows = await db.knex('email_outbox').select('kind', 'to_email', 'status', 'payload')
    expect(rows).toMatchObject([{ kind: 'invitation', to_email: 'bob@x.test', status: 'queued' }])
    // the outbox never holds the link
    expect(JSON.stringify(rows)).not.toMatch(/invitations\//)
  })
  test('a rolled-back change leaves no email', async () => {
    await expect(
      db.knex.transaction(async (trx) => {
        await enqueueEmail(trx, {
          accountId: seed.account.id,
          userId: seed.admin.userId,
          invitationId: null,
          kind: 'removal',
          toEmail: 'x@x.test',
          requestedByUserId: null,
          payload: { accountName: 'A', recipientFirstName: 'X', inviterName: null, inviterEmail: null, groups: [], expiresAt: null },
          now: deps.clock.now(),
        })
        throw new Error('the change failed after enqueueing')
      }),
    ).rejects.toThrow('the change failed')
    expect(await db.knex('email_outbox').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }])
  })
})

describe('the worker', () => {
  test('delivers through the file transport: one .eml per email, with the working link, the log without it', async () => {
    const logs: string[] = []
    const logger = { ...deps.logger, info: (o: object | string, m?: string) => logs.push(JSON.stringify(o) + (m ?? '')) }
    const { url } = await inviteUser(deps, seed, 'bob@x.test', { firstName: 'Bob', lastName: 'O\'Brien <b>' })
    const worker = createEmailWorker({ deps, sender: createFileEmailSender({ dataDir, logger }) })
    expect(await worker.drainOnce()).toBe(1)
    const files = await readdir(join(dataDir, 'outbox'))
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(1)
    const eml = await readFile(join(dataDir, 'outbox', files[0]!), 'utf8')
    expect(eml).toMatch(/^To: bob@x\.test$/m)
    expect(eml).toMatch(/^Subject: You are invited to join Acme/m)
    // The bodies are written as they are (8bit), so the link is in the file whole, as grep finds it.
    expect(eml).toMatch(new RegExp(`^Accept or decline: ${url.replace(/[/.]/g, '\\$&')}$`, 'm'))
    expect(logs.join('\n')).not.toContain(url.split('/invitations/')[1])
    expect(await db.knex('email_outbox').first()).toMatchObject({ status: 'sent', attempts: 1 })
    expect(await db.knex('invitations').first()).toMatchObject({ delivery_status: 'sent' })
    expect(await worker.drainOnce()).toBe(0)
  })

  test('retries what is retryable, parks what is not, and never loses an email', async () => {
    await inviteUser(deps, seed, 'retry@x.test')
    await inviteUser(deps, seed, 'reject@x.test')
    const sender = recordingSender((m, attempt) =>
      m.to === 'reject@x.test' ? new EmailSendError('reject', 'Email address is not verified', { vendorCode: 'MessageRejected' }) : attempt <= 3 ? new Error('ECONNRESET') : null,
    )
    const worker = createEmailWorker({ deps, sender })
    await worker.drainOnce()
    expect(await db.knex('email_outbox').where({ to_email: 'reject@x.test' }).first()).toMatchObject({ status: 'failed', last_error: expect.stringContaining('MessageRejected') })
    expect(await db.knex('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'reject@x.test').first('i.delivery_status')).toEqual({ delivery_status: 'failed' })
    for (let i = 0; i < 5; i++) {
      deps.clock.advance(60 * 60_000)
      await worker.drainOnce()
    }
    expect(sender.sent.map((m) => m.to)).toEqual(['retry@x.test'])
    expect(await db.knex('email_outbox').where({ to_email: 'retry@x.test' }).first()).toMatchObject({ status: 'sent', attempts: 3 })
  })

  test('a crashed worker\'s claim is taken over after its lease; an email whose link changed is not sent', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    // claim, then "crash" before sending: the row stays `sending` with a lease
    await db.knex('email_outbox').update({ status: 'sending', locked_until: new Date(deps.clock.now().getTime() + 60_000), attempts: 1 })
    const sender = recordingSender()
    const worker = createEmailWorker({ deps, sender })
    expect(await worker.drainOnce()).toBe(0)
    deps.clock.advance(61_000)
    expect(await worker.drainOnce()).toBe(1)
    expect(sender.sent).toHaveLength(1)

    deps.clock.advance(8 * DAY)
    await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })
    await db.knex('email_outbox').where({ kind: 'new_invitation' }).update({ status: 'queued' })
    // a stale email for the replaced link is queued too (e.g. a resend that was still pending)
    const [old] = await db.knex('invitations').where({ state: 'replaced' }).pluck('id')
    await db.knex('email_outbox').insert({ ...(await db.knex('email_outbox').where({ kind: 'invitation' }).first()), id: undefined, status: 'queued', invitation_id: old, next_attempt_at: deps.clock.now() })
    await worker.drainOnce()
    expect(sender.sent.map((m) => m.subject)).toEqual([expect.stringContaining('invited'), expect.stringContaining('new invitation')])
    expect(await db.knex('email_outbox').where({ invitation_id: old, status: 'failed' }).first('last_error')).toEqual({ last_error: expect.stringContaining('superseded') })
  })

  test('two workers (replicas) share the queue and send each email once', async () => {
    for (let i = 0; i < 12; i++) await inviteUser(deps, seed, `u${i}@x.test`)
    const sender = recordingSender()
    const a = createEmailWorker({ deps, sender, batchSize: 3 })
    const b = createEmailWorker({ deps, sender, batchSize: 3 })
    let handled = 0
    for (let round = 0; round < 10 && handled < 12; round++) handled += (await Promise.all([a.drainOnce(), b.drainOnce()])).reduce((x, y) => x + y, 0)
    expect(handled).toBe(12)
    expect(new Set(sender.sent.map((m) => m.to)).size).toBe(12)
    expect(sender.sent).toHaveLength(12)
  })

  test('stop() lets the round in flight finish (graceful shutdown)', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let sending!: () => void
    const inFlight = new Promise<void>((r) => (sending = r))
    const sent: string[] = []
    const worker = createEmailWorker({
      deps,
      sender: { name: 'slow', send: async (m) => (sending(), await gate, sent.push(m.to), { messageId: 'x' }) },
      pollIntervalMs: 10,
    })
    worker.start()
    // Stop once the round is in the middle of its send (the provider has the email, no answer yet).
    await inFlight
    const stopped = worker.stop()
    release()
    await stopped
    expect(sent).toEqual(['bob@x.test'])
    expect(await db.knex('email_outbox').first()).toMatchObject({ status: 'sent' })
  })
})

describe('send limits hold across restarts (they are counted from the database)', () => {
  test('per administrator per hour', async () => {
    const limited = makeDeps(db.knex, { config: { limits: { adminSendsPerHour: 2, recipientSendsPerDay: 10 } } })
    const add = (email: string) => addInvitation(limited, { accountId: seed.account.id, actor: seed.adminActor, email, firstName: 'A', lastName: 'B', groups: [] })
    expect((await add('1@x.test')).ok).toBe(true)
    expect((await add('2@x.test')).ok).toBe(true)
    // a "restarted" process: new deps, same database
    const restarted = makeDeps(db.knex, { config: { limits: { adminSendsPerHour: 2, recipientSendsPerDay: 10 } } })
    const r = await addInvitation(restarted, { accountId: seed.account.id, actor: seed.adminActor, email: '3@x.test', firstName: 'A', lastName: 'B', groups: [] })
    expect(r).toMatchObject({ ok: false, code: 'limit.admin_sends', limit: 2, retryAt: new Date(restarted.clock.now().getTime() + 3_600_000) })
    expect(await db.knex('users').where({ email: '3@x.test' })).toEqual([])
    restarted.clock.advance(3_600_001)
    expect((await addInvitation(restarted, { accountId: seed.account.id, actor: seed.adminActor, email: '3@x.test', firstName: 'A', lastName: 'B', groups: [] })).ok).toBe(true)
  })
  test('removal notices do not count; a refusal says when the next send is possible', async () => {
    const limited = makeDeps(db.knex, { config: { limits: { adminSendsPerHour: 2, recipientSendsPerDay: 10 } } })
    const { removeUser } = await import('../../src/users/remove-user.ts')
    const add = (email: string) => addInvitation(limited, { accountId: seed.account.id, actor: seed.adminActor, email, firstName: 'A', lastName: 'B', groups: [] })
    const t0 = limited.clock.now().getTime()
    expect((await add('1@x.test')).ok).toBe(true)
    limited.clock.advance(10 * 60_000)
    expect((await removeUser(limited, { accountId: seed.account.id, actor: seed.adminActor, email: '1@x.test' })).ok).toBe(true)
    expect(await db.knex('email_outbox').where({ kind: 'removal' })).toHaveLength(1)
    limited.clock.advance(10 * 60_000)
    expect((await add('2@x.test')).ok).toBe(true) // the removal notice was not the second send
    limited.clock.advance(10 * 60_000)
    // Two sends in the hour (t0 and t0+20 min): possible again when the older one leaves the window.
    expect(await add('3@x.test')).toMatchObject({ ok: false, code: 'limit.admin_sends', limit: 2, retryAt: new Date(t0 + 3_600_000) })
    limited.clock.set(new Date(t0 + 3_600_001))
    expect((await add('3@x.test')).ok).toBe(true)
    limited.clock.advance(60_000)
    expect(await add('4@x.test')).toMatchObject({ ok: false, code: 'limit.admin_sends', retryAt: new Date(t0 + 20 * 60_000 + 3_600_000) })
  })
  test('per recipient per day, whoever sends', async () => {
    const limited = makeDeps(db.knex, { config: { limits: { adminSendsPerHour: 100, recipientSendsPerDay: 2 } } })
    await inviteUser(limited, seed, 'bob@x.test')
    const { resendInvitation } = await import('../../src/invitations/resend-invitation.ts')
    expect((await resendInvitation(limited, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })).ok).toBe(true)
    const r = await resendInvitation(limited, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })
    expect(r).toMatchObject({ ok: false, code: 'limit.recipient_sends', email: 'bob@x.test', limit: 2 })
    expect((await db.knex('audit_log').where({ result_code: 'limit.recipient_sends' })).length).toBe(1)
  })
})
