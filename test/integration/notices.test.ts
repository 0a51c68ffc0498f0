import { describe, expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { recordDeliveryEvent } from '../../src/email/record-delivery-event.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { requestNewInvitation } from '../../src/invitations/request-new-invitation.ts'
import { resendInvitation } from '../../src/invitations/resend-invitation.ts'
import { ACCOUNT_EVENT_TYPES, parseAccountEvent, type AccountEvent } from '../../src/notices/account-events.ts'
import { claimDeliveries, closeDeliveries, fanOutEvents, releaseDeliveries, renewDeliveries, type ClaimDeliveriesOptions, type ClaimedNotice, type DeliveryClaim } from '../../src/notices/notice-deliveries.ts'
import { findNoticeTarget } from '../../src/notices/notice-destinations.ts'
import { SWEEP_SELECT_SQL, sweepExpiredInvitations } from '../../src/notices/sweep-expired.ts'
import { sweepExpiringSoon } from '../../src/notices/sweep-expiring-soon.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { addWebhookEndpoint } from '../../src/webhooks/endpoints.ts'
import { createWebhookWorker } from '../../src/webhooks/worker.ts'
import { closedPort } from '../webhooks/support/receiver.ts'
import { captureLogger } from '../email/support/capture-logger.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, TEST_NOW, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const REGISTRATION = { firstName: 'Bob', lastName: 'Joined', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true }
const T0 = new Date(TEST_NOW)

/** Every stored event of one type, read the way the notices job reads them (unclaimed). */
async function storedEvents(type: AccountEvent['type']): Promise<AccountEvent[]> {
  const rows: unknown[] = await db.knex('account_events').where({ type }).orderBy('id').select('id', 'account_id', 'type', 'payload', 'created_at')
  return rows.map((row) => {
    const event = parseAccountEvent(row)
    if (!event) throw new Error(`unreadable stored event: ${JSON.stringify(row)}`)
    return event
  })
}

async function invitationIdOf(email: string, state = 'pending'): Promise<string> {
  const row = await db.knex('invitations as i').join('users as u', 'u.id', 'i.user_id').where({ 'u.email': email, 'i.state': state }).first<{ id: string } | undefined>('i.id')
  if (!row) throw new Error(`no ${state} invitation for ${email}`)
  return row.id
}

/** Invite through the use case, without the link (faster when a test needs many). */
async function invite(email: string): Promise<void> {
  const r = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email, firstName: 'Bob', lastName: 'Invitee', groups: [] })
  if (!r.ok) throw new Error(`invite ${email}: ${r.code}`)
}

/** The seeded account's Slack destination, so its events get a Slack delivery when fanned out. */
async function slackDestination(): Promise<void> {
  expect((await connectChat(db.knex, { platform: 'slack', externalId: 'T0QUEUE', accountId: seed.account.id, channelId: 'C0QUEUE' })).ok).toBe(true)
}

/** A well-formed event row written directly and fanned out (queue tests care about rows, not producers). */
async function insertEvent(email: string, over: { type?: string; payload?: unknown } = {}): Promise<string> {
  const id = await insertRawEvent(email, over)
  await fanOutEvents(deps)
  return id
}

async function insertRawEvent(email: string, over: { type?: string; payload?: unknown } = {}): Promise<string> {
  const [row] = await db.knex('account_events')
    .insert({
      account_id: seed.account.id,
      type: over.type ?? 'email.bounced',
      payload: JSON.stringify(over.payload ?? { email, detail: 'Permanent/General', suppressed: true, sesMessageId: 'ses-1' }),
      created_at: deps.clock.now(),
    })
    .returning<{ id: string | number }[]>('id')
  return String(row!.id)
}

const emailsOf = (items: (ClaimedNotice | AccountEvent)[]) => items.map((item) => ('event' in item ? item.event : item)).map((e) => ('email' in e.facts ? e.facts.email : null))

/** Claim Slack's due deliveries, as the job does. */
const claim = (opts?: ClaimDeliveriesOptions) => claimDeliveries(deps, 'slack', opts)
const claimsOf = (notices: (ClaimedNotice | undefined)[]): DeliveryClaim[] => notices.map((n) => n!.claim)
const close = (notices: (ClaimedNotice | undefined)[], note?: string) => closeDeliveries(deps, claimsOf(notices), note)
const release = (notices: (ClaimedNotice | undefined)[], at: Date) => releaseDeliveries(deps, claimsOf(notices), at)

describe('the expiry sweep', () => {
  test('notices each expired invitation once; valid and ended invitations get no notice', async () => {
    for (const email of ['a@x.test', 'b@x.test', 'removed@x.test', 'replaced@x.test']) await invite(email)
    const { token: acceptToken } = await inviteUser(deps, seed, 'accepted@x.test')
    const { token: declineToken } = await inviteUser(deps, seed, 'declined@x.test')
    expect((await acceptInvitation(deps, { token: acceptToken, ...REGISTRATION })).ok).toBe(true)
    expect((await declineInvitation(deps, { token: declineToken })).ok).toBe(true)
    expect((await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'removed@x.test' })).ok).toBe(true)
    // b has no name yet: the notice names them by email
    await db.knex('users').where({ email: 'b@x.test' }).update({ first_name: '', last_name: '' })
    deps.clock.advance(3 * DAY)
    await invite('valid@x.test') // expires at T0 + 10 days
    deps.clock.advance(5 * DAY) // T0 + 8 days: everything invited at T0 has expired
    // regenerated before any sweep: the old link is `replaced`, the new one valid
    expect((await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'replaced@x.test' })).ok).toBe(true)
    const aId = await invitationIdOf('a@x.test')
    const bId = await invitationIdOf('b@x.test')
    const expiredIds = [aId, bId]

    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 2 })
    const events = await storedEvents('invitation.expired')
    expect(events.map((e) => (e.type === 'invitation.expired' ? e.facts.invitationId : null)).sort()).toEqual([...expiredIds].sort())
    expect(events.find((e) => e.type === 'invitation.expired' && e.facts.invitationId === aId)).toEqual({
      id: expect.any(String),
      accountId: seed.account.id,
      at: deps.clock.now(),
      attempts: 0,
      type: 'invitation.expired',
      facts: {
        invitationId: aId,
        userId: expect.any(String),
        email: 'a@x.test',
        name: 'Bob Invitee',
        invitedAt: T0,
        invitedByEmail: seed.admin.email,
        expiredAt: new Date(T0.getTime() + 7 * DAY),
      },
    })
    expect(events.find((e) => e.type === 'invitation.expired' && e.facts.invitationId === bId)?.facts).toMatchObject({ email: 'b@x.test', name: 'b@x.test' })
    expect(await db.knex('invitations').whereIn('id', expiredIds).pluck('expiry_noticed_at')).toEqual(expiredIds.map(() => deps.clock.now()))

    // nothing new: the second run finds nothing, even much later
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 0 })
    deps.clock.advance(DAY)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 0 })
    expect(await storedEvents('invitation.expired')).toHaveLength(2)
    // ended links (accepted, declined, revoked, replaced) were settled when they ended, not announced;
    // the still-valid one is untouched
    const ended = await db.knex('invitations').whereNot('state', 'pending').select<{ ended_at: Date; expiry_noticed_at: Date | null }[]>('ended_at', 'expiry_noticed_at')
    expect(ended.length).toBeGreaterThanOrEqual(4)
    for (const row of ended) expect(row.expiry_noticed_at).toEqual(row.ended_at)
    expect(await db.knex('invitations').where({ state: 'pending' }).whereNotIn('id', expiredIds).pluck('expiry_noticed_at')).toEqual([null, null])
    expect(await db.knex('invitations').where({ state: 'revoked' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
    expect(await db.knex('invitations').where({ state: 'replaced' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])

    // valid@ expires at T0 + 10 days: announced then, once
    deps.clock.set(new Date(T0.getTime() + 10 * DAY))
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    expect(emailsOf(await storedEvents('invitation.expired'))).toContain('valid@x.test')
  })

  test('a regenerated invitation that expires in its turn gets its own notice', async () => {
    await invite('bob@x.test')
    deps.clock.advance(7 * DAY)
    const first = await invitationIdOf('bob@x.test')
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    expect((await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })).ok).toBe(true)
    const second = await invitationIdOf('bob@x.test')
    expect(second).not.toBe(first)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 0 })
    deps.clock.advance(7 * DAY)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    const events = await storedEvents('invitation.expired')
    expect(events.map((e) => (e.type === 'invitation.expired' ? [e.facts.invitationId, e.facts.expiredAt.toISOString()] : null))).toEqual([
      [first, new Date(T0.getTime() + 7 * DAY).toISOString()],
      [second, new Date(T0.getTime() + 14 * DAY).toISOString()],
    ])
  })

  test('ten sweeps at once over 50 expired invitations write exactly 50 events', async () => {
    for (let i = 0; i < 50; i++) await invite(`u${i}@x.test`)
    deps.clock.advance(7 * DAY)
    // a small limit, so the sweeps really share the rows rather than one taking them all
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => sweepExpiredInvitations(deps, { limit: 6 })))
    // SKIP LOCKED may leave a sweep short of its limit; whatever is left, the next sweep takes
    const leftover = await sweepExpiredInvitations(deps)
    expect(outcomes.reduce((n, o) => n + o.noticed, 0) + leftover.noticed).toBe(50)
    const events = await storedEvents('invitation.expired')
    expect(events).toHaveLength(50)
    expect(new Set(events.map((e) => (e.type === 'invitation.expired' ? e.facts.invitationId : ''))).size).toBe(50)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 0 })
  })

  test('`limit` is honoured, oldest expiry first', async () => {
    for (let i = 0; i < 5; i++) {
      await invite(`u${i}@x.test`)
      deps.clock.advance(60_000)
    }
    deps.clock.advance(7 * DAY)
    expect(await sweepExpiredInvitations(deps, { limit: 2 })).toEqual({ noticed: 2 })
    expect(emailsOf(await storedEvents('invitation.expired'))).toEqual(['u0@x.test', 'u1@x.test'])
    expect(await sweepExpiredInvitations(deps, { limit: 2 })).toEqual({ noticed: 2 })
    expect(await sweepExpiredInvitations(deps, { limit: 2 })).toEqual({ noticed: 1 })
    expect(await sweepExpiredInvitations(deps, { limit: 2 })).toEqual({ noticed: 0 })
    expect(emailsOf(await storedEvents('invitation.expired'))).toEqual(['u0@x.test', 'u1@x.test', 'u2@x.test', 'u3@x.test', 'u4@x.test'])
  })

  test('the sweep reads invitations_expiry_unnoticed_idx, not the ended or already announced rows', async () => {
    // Many ended invitations of one user, many announced expiries still pending, a few new ones.
    const userId = seed.admin.userId
    await db.knex.raw(
      `INSERT INTO users (account_id, email, first_name, last_name, status, created_at, updated_at)
       SELECT ?, 'p' || g || '@x.test', 'P', 'Q', 'invited', ?, ? FROM generate_series(1, 600) g`,
      [seed.account.id, T0, T0],
    )
    // Ended links need no expiry notice: expiry_noticed_at is set with ended_at (a CHECK says so).
    await db.knex.raw(
      `INSERT INTO invitations (account_id, user_id, link_id, token_hash, state, created_at, expires_at, ended_at, expiry_noticed_at)
       SELECT ?, ?, md5('ended' || g), md5('tended' || g), 'accepted', ?, ?, ?, ? FROM generate_series(1, 5000) g`,
      [seed.account.id, userId, T0, new Date(T0.getTime() + 7 * DAY), T0, T0],
    )
    await db.knex.raw(
      `INSERT INTO invitations (account_id, user_id, link_id, token_hash, state, created_at, expires_at, expiry_noticed_at)
       SELECT ?, u.id, md5('noticed' || u.email), md5('tnoticed' || u.email), 'pending', ?, ?, ?
         FROM users u WHERE u.email LIKE 'p%@x.test' AND u.email <> 'p1@x.test' AND u.email <> 'p2@x.test'`,
      [seed.account.id, T0, new Date(T0.getTime() + DAY), new Date(T0.getTime() + DAY)],
    )
    await db.knex.raw(
      `INSERT INTO invitations (account_id, user_id, link_id, token_hash, state, created_at, expires_at)
       SELECT ?, u.id, md5('new' || u.email), md5('tnew' || u.email), 'pending', ?, ? FROM users u WHERE u.email IN ('p1@x.test', 'p2@x.test')`,
      [seed.account.id, T0, new Date(T0.getTime() + DAY)],
    )
    // Fresh statistics. The planner's choice rests on them: while ended links kept a null
    // expiry_noticed_at, it took about half the table for "not yet announced" and, now and then,
    // chose invitations_one_pending_per_user (every pending row) instead.
    await db.knex.raw('VACUUM ANALYZE invitations')
    // As schema.test.ts does: a small table is cheapest to scan, so ask the planner what it would
    // do without scans. SET LOCAL inside a transaction keeps the setting on this one connection.
    const plan = await db.knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off')
      return trx.raw<{ rows: Record<string, string>[] }>(`EXPLAIN ${SWEEP_SELECT_SQL}`, [new Date(T0.getTime() + 2 * DAY), 1000])
    })
    expect(JSON.stringify(plan.rows)).toContain('invitations_expiry_unnoticed_idx')
    deps.clock.set(new Date(T0.getTime() + 2 * DAY))
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 2 })
  })
})

describe('a resend racing the sweep', () => {
  test('a resend that crosses a sweep at the expiry instant still gets its new expiry announced', async () => {
    await inviteUser(deps, seed, 'bob@x.test')
    const expiry = deps.clock.now().getTime() + 7 * DAY
    deps.clock.set(new Date(expiry + 5)) // one replica sweeps just after the expiry…
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    deps.clock.set(new Date(expiry - 5)) // …while another's resend took its time just before it
    expect((await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })).ok).toBe(true)
    deps.clock.set(new Date(expiry + 8 * DAY))
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
  })
})

describe('the notice deliveries', () => {
  test('claims oldest first and leases: nothing during the lease, everything again after it', async () => {
    await slackDestination()
    for (const email of ['1@x.test', '2@x.test', '3@x.test']) await insertEvent(email)
    const first = await claim()
    expect(emailsOf(first)).toEqual(['1@x.test', '2@x.test', '3@x.test'])
    expect(first.map((n) => n.claim.attempts)).toEqual([1, 1, 1])
    expect(first.map((n) => n.event.attempts)).toEqual([1, 1, 1])
    expect(first[0]?.event).toMatchObject({ accountId: seed.account.id, at: deps.clock.now(), type: 'email.bounced', facts: { detail: 'Permanent/General', suppressed: true } })
    expect(await claim()).toEqual([])
    deps.clock.advance(59_999)
    expect(await claim()).toEqual([])
    deps.clock.advance(1)
    const again = await claim()
    expect(again.map((n) => n.event.id)).toEqual(first.map((n) => n.event.id))
    expect(again.map((n) => n.claim.attempts)).toEqual([2, 2, 2])
    // every claim carries a fence of its own
    expect(new Set([...first, ...again].map((n) => n.claim.fence)).size).toBe(2)
  })

  test('`limit` and `leaseMs` are honoured', async () => {
    await slackDestination()
    for (let i = 0; i < 5; i++) await insertEvent(`${i}@x.test`)
    expect(emailsOf(await claim({ limit: 2, leaseMs: 1_000 }))).toEqual(['0@x.test', '1@x.test'])
    expect(emailsOf(await claim({ limit: 2, leaseMs: 1_000 }))).toEqual(['2@x.test', '3@x.test'])
    deps.clock.advance(1_000)
    expect(emailsOf(await claim({ limit: 10 }))).toEqual(['0@x.test', '1@x.test', '2@x.test', '3@x.test', '4@x.test'])
  })

  test('concurrent claims never return the same delivery twice', async () => {
    await slackDestination()
    for (let i = 0; i < 40; i++) await insertRawEvent(`${i}@x.test`)
    expect(await fanOutEvents(deps)).toEqual({ events: 40, deliveries: 40 })
    const claims = await Promise.all(Array.from({ length: 8 }, () => claim({ limit: 6 })))
    const ids = claims.flat().map((n) => n.event.id)
    expect(new Set(ids).size).toBe(ids.length)
    // whatever SKIP LOCKED left behind is still there for the next claim, and only it
    const rest = (await claim({ limit: 100 })).map((n) => n.event.id)
    expect(rest.filter((id) => ids.includes(id))).toEqual([])
    expect(ids.length + rest.length).toBe(40)
  })

  test('closed deliveries are never claimed again; the note says why one was not posted', async () => {
    await slackDestination()
    await insertEvent('posted@x.test')
    await insertEvent('skipped@x.test')
    const [posted, skipped] = await claim()
    expect(emailsOf([posted!, skipped!])).toEqual(['posted@x.test', 'skipped@x.test'])
    expect(await close([posted])).toBe(1)
    expect(await close([skipped], 'no notice destination')).toBe(1)
    const closedAt = deps.clock.now()
    deps.clock.advance(DAY)
    expect(await claim()).toEqual([])
    // closing again changes nothing (the first close stands)
    expect(await close([posted, skipped], 'late duplicate')).toBe(0)
    expect(await db.knex('notice_deliveries').orderBy('event_id').select('delivered_at', 'note', 'claimed_until', 'claim_token')).toEqual([
      { delivered_at: closedAt, note: null, claimed_until: null, claim_token: null },
      { delivered_at: closedAt, note: 'no notice destination', claimed_until: null, claim_token: null },
    ])
    // claims that name no delivery, or carry no fence of ours, are ignored, not an error
    const fence = posted!.claim.fence
    expect(await closeDeliveries(deps, [{ eventId: 'not-an-id', platform: 'slack', attempts: 1, fence }, { eventId: '', platform: 'slack', attempts: 1, fence }])).toBe(0)
    expect(await releaseDeliveries(deps, [{ eventId: '1; DROP TABLE x', platform: 'slack', attempts: 1, fence }], deps.clock.now())).toBe(0)
    expect(await releaseDeliveries(deps, [{ ...posted!.claim, fence: "x' OR 1=1" }], deps.clock.now())).toBe(0)
  })

  test('a worker whose lease ran out changes nothing: the delivery belongs to the worker that claimed it since', async () => {
    await slackDestination()
    await insertEvent('slow@x.test')
    const [stale] = await claim({ leaseMs: 1_000 })
    deps.clock.advance(1_000) // the first worker stalled past its lease…
    const [current] = await claim({ leaseMs: 60_000 })
    expect(current?.event.id).toBe(stale!.event.id)
    expect(current?.claim.attempts).toBe(2)
    // …and comes back: it can neither renew, close nor put the delivery back in the queue
    expect(await renewDeliveries(deps, claimsOf([stale]), 60_000)).toBe(false)
    expect(await close([stale], 'stale close')).toBe(0)
    expect(await release([stale], deps.clock.now())).toBe(0)
    expect(await claim()).toEqual([]) // still leased to the second worker
    expect(await renewDeliveries(deps, claimsOf([current]), 60_000)).toBe(true)
    expect(await close([current])).toBe(1)
    expect(await db.knex('notice_deliveries').first('note', 'attempts')).toEqual({ note: null, attempts: 2 })
  })

  test('renewing is all or nothing: one lost delivery renews none of the others', async () => {
    await slackDestination()
    await insertEvent('a@x.test')
    await insertEvent('b@x.test')
    const [a, b] = await claim({ leaseMs: 1_000 })
    expect(await close([b], 'closed by someone else')).toBe(1)
    expect(await renewDeliveries(deps, claimsOf([a, b]), 60_000)).toBe(false)
    // a's lease was not extended: it is claimable again when its first lease ends
    deps.clock.advance(1_000)
    expect(emailsOf(await claim())).toEqual(['a@x.test'])
  })

  test('a released delivery comes back at its retryAt, not before and not at the end of the lease', async () => {
    await slackDestination()
    const laterId = await insertEvent('later@x.test')
    await insertEvent('now@x.test')
    const [later, now] = await claim()
    const retryAt = new Date(deps.clock.now().getTime() + 5 * 60_000)
    expect(await release([later], retryAt)).toBe(1)
    // released for "right away": claimable before its lease would have ended
    expect(await release([now], deps.clock.now())).toBe(1)
    const nowAgain = await claim()
    expect(nowAgain.map((n) => n.event.id)).toEqual([now!.event.id])
    await close(nowAgain)
    deps.clock.advance(61_000) // the original lease is over, the retryAt is not
    expect(await claim()).toEqual([])
    deps.clock.set(retryAt)
    const back = await claim()
    expect(back.map((n) => [n.event.id, n.claim.attempts])).toEqual([[laterId, 2]])
    // a closed delivery cannot be released back into the queue
    await close(back)
    expect(await release(back, deps.clock.now())).toBe(0)
    expect(await claim()).toEqual([])
  })

  test('unreadable events are closed with a warning; the readable ones are still returned', async () => {
    const logger = captureLogger()
    deps = makeDeps(db.knex, { logger })
    await slackDestination()
    const good1 = await insertEvent('good1@x.test')
    const badPayload = await insertEvent('secret@x.test', { payload: { email: 'secret@x.test', detail: null, suppressed: 'yes' } })
    const unknownType = await insertEvent('x@x.test', { type: 'invitation.teleported' })
    const notAnObject = await insertEvent('x@x.test', { type: 'invitation.accepted', payload: ['x'] })
    const badDate = await insertEvent('x@x.test', {
      type: 'invitation.new_requested',
      payload: { userId: seed.admin.userId, email: 'x@x.test', firstName: 'X', lastName: 'Y', invitationId: seed.admin.userId, invitedByEmail: null, expiredAt: 'last tuesday' },
    })
    const good2 = await insertEvent('good2@x.test')
    const claimed = await claim()
    expect(claimed.map((n) => n.event.id)).toEqual([good1, good2])
    const bad = [badPayload, unknownType, notAnObject, badDate]
    const rows = await db.knex('notice_deliveries').whereIn('event_id', bad).select('delivered_at', 'note')
    expect(rows).toEqual(bad.map(() => ({ delivered_at: deps.clock.now(), note: 'unreadable event' })))
    const warnings = logger.lines.filter((l) => l.level === 'warn')
    expect(warnings.map((w) => w.fields.eventId).sort()).toEqual([...bad].sort())
    expect(JSON.stringify(warnings)).not.toContain('secret@x.test')
    // closed for good: after the lease only the readable ones come back
    deps.clock.advance(DAY)
    expect((await claim()).map((n) => n.event.id)).toEqual([good1, good2])
  })

  test('an event is fanned out once, to the destinations its account has then; one added later replays nothing', async () => {
    const other = await seedAccount(deps)
    await insertRawEvent('before@x.test') // no destination yet
    expect(await fanOutEvents(deps)).toEqual({ events: 1, deliveries: 0 })
    await slackDestination()
    expect((await connectChat(db.knex, { platform: 'test-chat', externalId: 'W1', accountId: seed.account.id, channelId: 'room-1' })).ok).toBe(true)
    await insertRawEvent('after@x.test')
    await db.knex('account_events').insert({ account_id: other.account.id, type: 'email.bounced', payload: JSON.stringify({ email: 'o@x.test', detail: null, suppressed: false }), created_at: deps.clock.now() })
    // ten fan-outs at once: each event once, one delivery per destination of its own account
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => fanOutEvents(deps)))
    expect(outcomes.reduce((n, o) => n + o.events, 0)).toBe(2)
    expect(outcomes.reduce((n, o) => n + o.deliveries, 0)).toBe(2)
    expect(await db.knex('notice_deliveries').orderBy('platform').select('platform', 'account_id')).toEqual([
      { platform: 'slack', account_id: seed.account.id },
      { platform: 'test-chat', account_id: seed.account.id },
    ])
    expect(emailsOf(await claim())).toEqual(['after@x.test'])
    expect(emailsOf(await claimDeliveries(deps, 'test-chat'))).toEqual(['after@x.test'])
    expect(await fanOutEvents(deps)).toEqual({ events: 0, deliveries: 0 })
  })

  test('parseAccountEvent reads rows from either driver shape and never throws on garbage', () => {
    const payload = { email: 'a@x.test', invitationId: '6f1c1b7e-8d7a-4a53-9a43-1c5b1d1f9b21', invitedBy: null }
    const row = { id: 7, account_id: seed.account.id, type: 'invitation.declined', payload, created_at: '2026-11-26T10:00:00.000Z' }
    expect(parseAccountEvent(row)).toEqual({
      id: '7',
      accountId: seed.account.id,
      at: new Date('2026-11-26T10:00:00.000Z'),
      attempts: 0,
      type: 'invitation.declined',
      facts: { email: 'a@x.test', invitationId: payload.invitationId, invitedByEmail: null },
    })
    // the inviter key may be missing altogether (older rows): read as "unknown"
    expect(parseAccountEvent({ ...row, payload: { email: 'a@x.test', invitationId: payload.invitationId } })?.facts).toMatchObject({ invitedByEmail: null })
    for (const garbage of [null, undefined, 42, 'row', [], {}, { ...row, id: 'x' }, { ...row, created_at: 'soon' }, { ...row, created_at: null }, { ...row, payload: null }, { ...row, payload: { ...payload, email: '' } }]) {
      expect(parseAccountEvent(garbage)).toBeNull()
    }
  })
})

describe('every producer writes a payload the notices can read', () => {
  test('accept, decline, request a new invitation, bounce, complaint, the sweep and a webhook endpoint disabled', async () => {
    const { token: acceptToken } = await inviteUser(deps, seed, 'joins@x.test')
    const { token: declineToken } = await inviteUser(deps, seed, 'declines@x.test')
    const { token: expiredToken } = await inviteUser(deps, seed, 'expires@x.test')
    const acceptId = await invitationIdOf('joins@x.test')
    const declineId = await invitationIdOf('declines@x.test')
    const expiredId = await invitationIdOf('expires@x.test')
    // the emails go out (through a stand-in transport), so SES feedback can name them
    const worker = createEmailWorker({ deps, sender: { name: 'stub', send: async (m) => ({ messageId: `ses-${m.to}` }) } })
    expect(await worker.drainOnce()).toBe(3)

    expect((await acceptInvitation(deps, { token: acceptToken, ...REGISTRATION })).ok).toBe(true)
    expect((await declineInvitation(deps, { token: declineToken })).ok).toBe(true)
    const feedback = { suppress: true, recipients: [{ email: 'expires@x.test', detail: 'smtp; 550 5.1.1 user unknown' }], sesMessageId: 'ses-expires@x.test' }
    expect((await recordDeliveryEvent(deps, { ...feedback, eventId: 'sns-1', kind: 'bounce', summary: 'Permanent/General' })).ok).toBe(true)
    expect((await recordDeliveryEvent(deps, { ...feedback, eventId: 'sns-2', kind: 'complaint', summary: 'complaint: abuse' })).ok).toBe(true)
    // a day before it expires (10:00 UTC, past the digest's hour), expires@ is in the daily digest
    deps.clock.advance(6 * DAY)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    deps.clock.advance(DAY)
    expect((await requestNewInvitation(deps, { token: expiredToken })).ok).toBe(true)
    // a webhook endpoint whose receiver refuses every delivery: disabled once it failed for WEBHOOK_DISABLE_AFTER
    const hookUrl = `http://127.0.0.1:${await closedPort()}/hooks`
    const hook = await addWebhookEndpoint(deps, { allowPrivate: true, httpsOnly: false }, { accountId: seed.account.id, url: hookUrl, events: ['invitation.expired'], actor: seed.adminActor })
    if (!hook.ok) throw new Error(hook.code)
    expect(await sweepExpiredInvitations(deps)).toEqual({ noticed: 1 })
    const webhooks = createWebhookWorker({ deps, settings: { retryScheduleMs: [60_000], disableAfterMs: 60_000, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false }, random: () => 0.5 })
    const failingSince = deps.clock.now()
    expect(await webhooks.drainOnce()).toBe(1)
    deps.clock.advance(60_000)
    expect(await webhooks.drainOnce()).toBe(1)

    await slackDestination()
    expect(await fanOutEvents(deps)).toEqual({ events: ACCOUNT_EVENT_TYPES.length, deliveries: ACCOUNT_EVENT_TYPES.length })
    const warnings: unknown[] = []
    const events = (await claimDeliveries({ ...deps, logger: { ...deps.logger, warn: (o) => warnings.push(o) } }, 'slack', { limit: 100 })).map((n) => n.event)
    expect(warnings).toEqual([])
    expect(await db.knex('notice_deliveries').whereNotNull('delivered_at').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }])
    // one of each type: a type with no producer here would fail this line
    expect(events.map((e) => e.type).sort()).toEqual([...ACCOUNT_EVENT_TYPES].sort())
    const facts = Object.fromEntries(events.map((e) => [e.type, e.facts]))
    const expiredAt = new Date(T0.getTime() + 7 * DAY)
    expect(facts).toEqual({
      'invitation.accepted': { email: 'joins@x.test', invitationId: acceptId, invitedByEmail: seed.admin.email },
      'invitation.declined': { email: 'declines@x.test', invitationId: declineId, invitedByEmail: seed.admin.email },
      'email.bounced': { email: 'expires@x.test', detail: 'Permanent/General: smtp; 550 5.1.1 user unknown', suppressed: true },
      'email.complained': { email: 'expires@x.test', detail: 'complaint: abuse: smtp; 550 5.1.1 user unknown', suppressed: true },
      'webhook.endpoint_disabled': { endpointId: hook.value.id, url: hookUrl, failingSince, lastError: expect.stringContaining('ECONNREFUSED') },
      'invitation.new_requested': {
        userId: expect.any(String),
        email: 'expires@x.test',
        name: 'Bob Invitee',
        invitationId: expiredId,
        invitedByEmail: seed.admin.email,
        expiredAt,
      },
      'invitation.expired': {
        invitationId: expiredId,
        userId: expect.any(String),
        email: 'expires@x.test',
        name: 'Bob Invitee',
        invitedAt: T0,
        invitedByEmail: seed.admin.email,
        expiredAt,
      },
      'invitations.expiring_soon': {
        day: '2026-12-02',
        total: 1,
        invitations: [{ invitationId: expiredId, userId: expect.any(String), email: 'expires@x.test', name: 'Bob Invitee', expiresAt: expiredAt, invitedByEmail: seed.admin.email }],
      },
    })
    expect(events.every((e) => e.accountId === seed.account.id)).toBe(true)
  })
})

describe('findNoticeTarget', () => {
  test("the account's destination on that platform and its time zone, or none", async () => {
    const other = await seedAccount(deps)
    await db.knex('accounts').where({ id: other.account.id }).update({ time_zone: 'Europe/Berlin' })
    expect(await findNoticeTarget(db.knex, seed.account.id, 'slack')).toEqual({ destination: null, timeZone: 'UTC' })
    expect((await connectChat(db.knex, { platform: 'slack', externalId: 'T1', accountId: seed.account.id, channelId: null })).ok).toBe(true)
    expect((await findNoticeTarget(db.knex, seed.account.id, 'slack'))?.destination).toBeNull()
    expect((await connectChat(db.knex, { platform: 'slack', externalId: 'T1', accountId: seed.account.id, channelId: 'C123' })).ok).toBe(true)
    expect((await connectChat(db.knex, { platform: 'teams', externalId: 'tenant-2', accountId: other.account.id, channelId: '19:abc@thread.tacv2' })).ok).toBe(true)
    expect(await findNoticeTarget(db.knex, seed.account.id, 'slack')).toEqual({ timeZone: 'UTC', destination: { accountId: seed.account.id, platform: 'slack', conversationId: 'C123', reference: null } })
    expect((await findNoticeTarget(db.knex, seed.account.id, 'teams'))?.destination).toBeNull()
    expect(await findNoticeTarget(db.knex, other.account.id, 'teams')).toEqual({ timeZone: 'Europe/Berlin', destination: { accountId: other.account.id, platform: 'teams', conversationId: '19:abc@thread.tacv2', reference: null } })
    expect((await findNoticeTarget(db.knex, other.account.id, 'slack'))?.destination).toBeNull()
    expect(await findNoticeTarget(db.knex, 'not-a-uuid', 'slack')).toBeNull()
    // the connection's channel is audited as the operator's choice
    const audit = await db.knex('audit_log').where({ action: 'notices.destination.set' }).orderBy('id').select('account_id', 'actor_platform', 'ok', 'detail')
    expect(audit).toEqual([
      { account_id: seed.account.id, actor_platform: 'cli', ok: true, detail: expect.objectContaining({ platform: 'slack', conversationId: 'C123', previous: null }) },
      { account_id: other.account.id, actor_platform: 'cli', ok: true, detail: expect.objectContaining({ platform: 'teams', conversationId: '19:abc@thread.tacv2', previous: null }) },
    ])
  })
})
