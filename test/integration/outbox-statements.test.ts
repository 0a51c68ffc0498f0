import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { holdSending } from '../../src/email/send-gate.ts'
import { suppressRecipient } from '../../src/email/suppressions.ts'
import type { EmailMessage, EmailSender } from '../../src/ports/email.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { statementsDuring } from '../support/statement-counter.ts'
import { inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'

/**
 * The email worker's round trips, counted (not timed): every statement is one on this database
 * connection. With no send rate and no hold, a round is one claim (which also reads each row's
 * suppression, its invitation and the send gate) and one statement per email that records it.
 */
let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await db.close()
})
beforeEach(async () => {
  await truncateAll(db.knex)
  deps = makeDeps(db.knex)
  seed = await seedAccount(deps)
  // The gate's one row, as the migration leaves it (truncateAll empties the table).
  await db.knex.raw(`INSERT INTO email_send_gate (id, next_send_at) VALUES (1, '1970-01-01T00:00:00Z') ON CONFLICT (id) DO NOTHING`)
})

function recordingSender(): EmailSender & { sent: EmailMessage[] } {
  const sent: EmailMessage[] = []
  return {
    name: 'recording',
    sent,
    async send(m) {
      sent.push(m)
      return { messageId: `msg-${sent.length}` }
    },
  }
}

describe('statements per email', () => {
  test('no rate, no hold: one claim for the batch, then one statement per email sent', async () => {
    for (let i = 0; i < 5; i++) await inviteUser(deps, seed, `u${i}@x.test`)
    const sender = recordingSender()
    const worker = createEmailWorker({ deps, sender, batchSize: 10 })
    const { result, sql } = await statementsDuring(db.knex, () => worker.drainOnce())
    expect(result).toBe(5)
    expect(sender.sent).toHaveLength(5)
    expect(sql, sql.join('\n')).toHaveLength(1 + 5)
    // Each email's link was made from what the claim read.
    expect(sender.sent.every((m) => m.text.includes('/invitations/'))).toBe(true)
    expect(await db.knex('email_outbox').whereNot({ status: 'sent' })).toEqual([])
    const invitations = await db.knex('invitations').select('delivery_status', 'delivery_message_id', 'delivery_detail')
    expect(invitations).toHaveLength(5)
    for (const inv of invitations) expect(inv).toMatchObject({ delivery_status: 'sent', delivery_message_id: expect.stringMatching(/^msg-/), delivery_detail: null })
  })

  test('a suppressed recipient and a link that changed are closed with one statement each, and not sent', async () => {
    await inviteUser(deps, seed, 'gone@x.test')
    await inviteUser(deps, seed, 'revoked@x.test')
    await suppressRecipient(deps.db, { email: 'gone@x.test', reason: 'bounce', detail: 'mailbox full', sesMessageId: null, feedbackId: null, now: deps.clock.now() })
    await db.knex('invitations')
      .whereIn('user_id', db.knex('users').where({ email: 'revoked@x.test' }).select('id'))
      .update({ state: 'revoked', ended_at: deps.clock.now(), expiry_noticed_at: deps.clock.now() })
    const sender = recordingSender()
    const worker = createEmailWorker({ deps, sender })
    const { result, sql } = await statementsDuring(db.knex, () => worker.drainOnce())
    expect(result).toBe(2)
    expect(sender.sent).toEqual([])
    expect(sql).toHaveLength(1 + 2)
    const rows = await db.knex('email_outbox').orderBy('to_email').select('to_email', 'status', 'last_error')
    expect(rows).toEqual([
      { to_email: 'gone@x.test', status: 'failed', last_error: 'suppressed: bounce (mailbox full)' },
      { to_email: 'revoked@x.test', status: 'failed', last_error: expect.stringContaining('superseded') },
    ])
  })

  test('a hold whose time has passed is seen by the claim and cleared by the send that follows', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    await holdSending(deps.db, { kind: 'quota', forMs: 60_000, reason: 'Daily message quota exceeded', now: deps.clock.now() })
    const worker = createEmailWorker({ deps, sender: recordingSender(), gateClock: 'deps' })
    expect(await worker.drainOnce()).toBe(0) // held: the claim takes nothing
    deps.clock.advance(60_001)
    expect(await worker.drainOnce()).toBe(1)
    expect(await db.knex('email_send_gate').first('hold_kind', 'hold_until')).toEqual({ hold_kind: null, hold_until: null })
  })

  test('with a rate: per email, only the gate\'s locked slot transactions and the record', async () => {
    const n = 4
    for (let i = 0; i < n; i++) await inviteUser(deps, seed, `r${i}@x.test`)
    const sender = recordingSender()
    // One lane on the test's clock: every email after the first finds the slot 1/rate ahead once,
    // waits (the clock moves on), and takes it.
    const worker = createEmailWorker({ deps, sender, maxSendRate: 10, gateClock: 'deps', concurrency: 1, sleep: async (ms) => void deps.clock.advance(ms) })
    const { result, sql } = await statementsDuring(db.knex, () => worker.drainOnce())
    expect(result).toBe(n)
    expect(sender.sent).toHaveLength(n)
    // A granted slot: BEGIN, the locked read, the update, COMMIT. A refused one: no update. Then the record.
    const slotGranted = 4
    const slotRefused = 3
    expect(sql, sql.join('\n')).toHaveLength(1 + n * (slotGranted + 1) + (n - 1) * slotRefused)
  })

  test('with a rate, a long wait for the slot renews the lease only as it runs short, and a lost claim is not sent', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    await inviteUser(deps, seed, 'carol@x.test')
    const lockMs = 60_000
    // Longer than the lease less a send's deadline (15 s): the lease must be renewed during the wait.
    const waitMs = 50_000
    const start = deps.clock.now().getTime()
    await db.knex('email_send_gate').update({ next_send_at: new Date(deps.clock.now().getTime() + waitMs) })
    const sender = recordingSender()
    let stolen = false
    const worker = createEmailWorker({
      deps,
      sender,
      maxSendRate: 1,
      gateClock: 'deps',
      lockMs,
      concurrency: 2,
      // The wait passes on the test's clock. Halfway, carol's row is taken over (as by a worker
      // that claimed it after her lease ran out): her worker must find out before sending.
      sleep: async (ms) => {
        deps.clock.advance(ms)
        if (!stolen && deps.clock.now().getTime() - start >= waitMs / 2) {
          stolen = true
          await db.knex('email_outbox').where({ to_email: 'carol@x.test' }).update({ claim_token: randomUUID() })
        }
      },
    })
    const { sql } = await statementsDuring(db.knex, () => worker.drainOnce())
    expect(sender.sent.map((m) => m.to)).toEqual(['bob@x.test'])
    expect(await db.knex('email_outbox').where({ to_email: 'carol@x.test' }).first('status')).toEqual({ status: 'sending' })
    // Before: a renewal after every pause of the wait (one a second). Now: one per quarter lease waited, per row.
    const renewals = sql.filter((q) => q.startsWith('update "email_outbox" set "locked_until"'))
    expect(renewals.length).toBeGreaterThanOrEqual(1)
    expect(renewals.length).toBeLessThanOrEqual(2 * Math.ceil(waitMs / (lockMs / 4)))
  })
})

describe('the lease at the send', () => {
  /**
   * Sends one email whose slot is `waitMs` ahead (the wait passes on the test's clock) and
   * returns how much of the lease, as the row holds it, is left once the send's deadline has passed.
   */
  async function spareAfterDeadline(opts: { lockMs: number; sendTimeoutMs: number; waitMs: number }): Promise<{ spareMs: number; renewals: number }> {
    await inviteUser(deps, seed, 'bob@x.test')
    await db.knex('email_send_gate').update({ next_send_at: new Date(deps.clock.now().getTime() + opts.waitMs) })
    let spareMs = Number.NaN
    const sender: EmailSender = {
      name: 'lease-reading',
      async send() {
        const row = await db.knex('email_outbox').where({ to_email: 'bob@x.test' }).first<{ locked_until: Date }>('locked_until')
        spareMs = new Date(row!.locked_until).getTime() - deps.clock.now().getTime() - opts.sendTimeoutMs
        return { messageId: 'msg-1' }
      },
    }
    const worker = createEmailWorker({ deps, sender, maxSendRate: 1, gateClock: 'deps', lockMs: opts.lockMs, sendTimeoutMs: opts.sendTimeoutMs, sleep: async (ms) => void deps.clock.advance(ms) })
    const { result, sql } = await statementsDuring(db.knex, () => worker.drainOnce())
    expect(result).toBe(1)
    return { spareMs, renewals: sql.filter((q) => q.startsWith('update "email_outbox" set "locked_until"')).length }
  }

  test('a deadline of half the lease: renewed before the send, so half the lease is left past the deadline', async () => {
    // 10 s after the claim, 50 s of the lease are left: past a 30 s deadline only 20 s would remain.
    const { spareMs, renewals } = await spareAfterDeadline({ lockMs: 60_000, sendTimeoutMs: 30_000, waitMs: 10_000 })
    expect(spareMs).toBeGreaterThanOrEqual(30_000)
    expect(renewals).toBe(1)
  })

  test('a short deadline: no renewal while three quarters of the lease are left', async () => {
    const { spareMs, renewals } = await spareAfterDeadline({ lockMs: 60_000, sendTimeoutMs: 5_000, waitMs: 10_000 })
    expect(renewals).toBe(0)
    expect(spareMs).toBeGreaterThanOrEqual(30_000)
  })
})
