import { describe, expect, test } from 'vitest'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { readAccountEvent, type AccountEvent, type InvitationsExpiringSoonFacts } from '../../src/notices/account-events.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { claimDeliveries, fanOutEvents, UNREADABLE_EVENT_NOTE } from '../../src/notices/notice-deliveries.ts'
import { EXPIRING_SOON_LIST_LIMIT, EXPIRING_SOON_RANGE_SQL, sweepExpiringSoon } from '../../src/notices/sweep-expiring-soon.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { captureLogger } from '../email/support/capture-logger.ts'
import { truncateAll, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { untilLockWaiter } from '../support/lock-waiter.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const HOUR = 3_600_000
const REGISTRATION = { firstName: 'Bob', lastName: 'Joined', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true }
/** The digest's hour (09:00 UTC, the default) on the day most tests sweep. */
const NINE = new Date('2026-12-03T09:00:00.000Z')
const later = (base: Date, ms: number) => new Date(base.getTime() + ms)

/** Invite `email` into `account` at the moment that makes the link expire at `expiresAt` (TTL 7 days). */
async function inviteExpiringAt(account: SeededAccount, email: string, expiresAt: Date, name: { firstName?: string; lastName?: string } = {}): Promise<{ invitationId: string; userId: string }> {
  deps.clock.set(later(expiresAt, -7 * DAY))
  const r = await addInvitation(deps, { accountId: account.account.id, actor: account.adminActor, email, firstName: name.firstName ?? 'Bob', lastName: name.lastName ?? 'Invitee', groups: [] })
  if (!r.ok) throw new Error(`invite ${email}: ${r.code}`)
  const row = await db.knex('invitations').where({ user_id: r.value.user.id, state: 'pending' }).first<{ id: string; expires_at: Date } | undefined>('id', 'expires_at')
  if (!row) throw new Error(`no pending invitation for ${email}`)
  expect(row.expires_at).toEqual(expiresAt)
  return { invitationId: row.id, userId: r.value.user.id }
}

/** Every stored digest, oldest first, read as the notices job reads it, with its dedupe key. */
async function storedDigests(): Promise<(Extract<AccountEvent, { type: 'invitations.expiring_soon' }> & { dedupeKey: unknown })[]> {
  const rows: Record<string, unknown>[] = await db.knex('account_events')
    .where({ type: 'invitations.expiring_soon' })
    .orderBy('id')
    .select('id', 'account_id', 'type', 'payload', 'created_at', 'dedupe_key')
  return rows.map((row) => {
    const read = readAccountEvent(row)
    if (!read.ok) throw new Error(`unreadable digest: ${read.reason}`)
    if (read.value.type !== 'invitations.expiring_soon') throw new Error(`not a digest: ${read.value.type}`)
    return { ...read.value, dedupeKey: row.dedupe_key }
  })
}

const countEvents = async () => Number((await db.knex('account_events').count<{ n: number | string }[]>({ n: '*' }))[0]!.n)
const listed = (facts: InvitationsExpiringSoonFacts) => facts.invitations.map((i) => i.email)

describe('the daily "expiring within 24 h" digest', () => {
  test('one digest per account, listing its pending invitations expiring within 24 h, by expiry', async () => {
    const other = await seedAccount(deps)
    const quiet = await seedAccount(deps) // only a link expiring after the window
    await seedAccount(deps) // no invitations at all

    // The window is (now, now + 24 h]: both ends are tested to the millisecond.
    await inviteExpiringAt(seed, 'expired@x.test', later(NINE, -1))
    await inviteExpiringAt(seed, 'expires-now@x.test', NINE)
    const last = await inviteExpiringAt(seed, 'last@x.test', later(NINE, 24 * HOUR))
    await inviteExpiringAt(seed, 'too-late@x.test', later(NINE, 24 * HOUR + 1))
    const first = await inviteExpiringAt(seed, 'first@x.test', later(NINE, 1))
    const unnamed = await inviteExpiringAt(seed, 'unnamed@x.test', later(NINE, 5 * HOUR))
    await db.knex('users').where({ email: 'unnamed@x.test' }).update({ first_name: '', last_name: '' })
    const mid = await inviteExpiringAt(seed, 'mid@x.test', later(NINE, 3 * HOUR), { firstName: 'Mia', lastName: 'Middle' })
    // ended invitations whose expiry falls in the window are not listed
    deps.clock.set(later(NINE, 2 * HOUR - 7 * DAY))
    const { token: acceptToken } = await inviteUser(deps, seed, 'accepted@x.test')
    const { token: declineToken } = await inviteUser(deps, seed, 'declined@x.test')
    await inviteUser(deps, seed, 'removed@x.test')
    expect((await acceptInvitation(deps, { token: acceptToken, ...REGISTRATION })).ok).toBe(true)
    expect((await declineInvitation(deps, { token: declineToken })).ok).toBe(true)
    expect((await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'removed@x.test' })).ok).toBe(true)
    const elsewhere = await inviteExpiringAt(other, 'elsewhere@y.test', later(NINE, 12 * HOUR))
    await inviteExpiringAt(quiet, 'next-week@z.test', later(NINE, 3 * DAY))

    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 2 })
    const digests = await storedDigests()
    expect(digests.map((d) => d.accountId).sort()).toEqual([seed.account.id, other.account.id].sort())
    const mine = digests.find((d) => d.accountId === seed.account.id)
    const entry = (email: string, ids: { invitationId: string; userId: string }, expiresAt: Date, name = 'Bob Invitee') => ({ ...ids, email, name, expiresAt, invitedByEmail: seed.admin.email })
    expect(mine).toEqual({
      id: expect.any(String),
      accountId: seed.account.id,
      at: NINE,
      attempts: 0,
      type: 'invitations.expiring_soon',
      dedupeKey: '2026-12-03',
      facts: {
        day: '2026-12-03',
        total: 4,
        invitations: [
          entry('first@x.test', first, later(NINE, 1)),
          entry('mid@x.test', mid, later(NINE, 3 * HOUR), 'Mia Middle'),
          // no name yet: named by email, as the other notices do
          entry('unnamed@x.test', unnamed, later(NINE, 5 * HOUR), 'unnamed@x.test'),
          entry('last@x.test', last, later(NINE, 24 * HOUR)),
        ],
      },
    })
    const theirs = digests.find((d) => d.accountId === other.account.id)
    expect(theirs?.facts).toEqual({
      day: '2026-12-03',
      total: 1,
      invitations: [{ ...elsewhere, email: 'elsewhere@y.test', name: 'Bob Invitee', expiresAt: later(NINE, 12 * HOUR), invitedByEmail: other.admin.email }],
    })
    // the digest is a notice, nothing more: no pending invitation was touched
    expect(await db.knex('invitations').where({ state: 'pending' }).whereNotNull('expiry_noticed_at').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }])
  })

  test(`lists the first ${EXPIRING_SOON_LIST_LIMIT} by expiry; total counts them all`, async () => {
    const count = EXPIRING_SOON_LIST_LIMIT + 3
    // invited in reverse, so neither insertion order nor ids give the expected order
    for (let i = count - 1; i >= 0; i--) await inviteExpiringAt(seed, `u${String(i).padStart(2, '0')}@x.test`, later(NINE, HOUR + i * 60_000))
    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    const [digest, ...more] = await storedDigests()
    expect(more).toEqual([])
    expect(digest!.facts.total).toBe(count)
    expect(listed(digest!.facts)).toEqual(Array.from({ length: EXPIRING_SOON_LIST_LIMIT }, (_, i) => `u${String(i).padStart(2, '0')}@x.test`))
  })

  test('nothing before the hour; the first sweep at or after it writes the day\'s digest', async () => {
    await inviteExpiringAt(seed, 'bob@x.test', later(NINE, 6 * HOUR))
    for (const t of [later(NINE, -9 * HOUR), later(NINE, -1)]) {
      deps.clock.set(t)
      expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    }
    expect(await countEvents()).toBe(0)
    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })

    // another hour: 14:00 (UTC, the account's zone)
    await truncateAll(db.knex)
    seed = await seedAccount(deps)
    await inviteExpiringAt(seed, 'bob@x.test', later(NINE, 6 * HOUR))
    deps.clock.set(later(NINE, 5 * HOUR - 1))
    expect(await sweepExpiringSoon(deps, { hour: 14 })).toEqual({ digests: 0 })
    deps.clock.set(later(NINE, 5 * HOUR))
    expect(await sweepExpiringSoon(deps, { hour: 14 })).toEqual({ digests: 1 })

    for (const hour of [-1, 24, 9.5, Number.NaN]) await expect(sweepExpiringSoon(deps, { hour })).rejects.toThrow()
  })

  test('an account with nothing expiring gets no digest, and neither does any account with nothing at all', async () => {
    await inviteExpiringAt(seed, 'next-week@x.test', later(NINE, 3 * DAY))
    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    expect(await countEvents()).toBe(0)
  })

  test('one digest a day: later sweeps that day write nothing, the next day writes a new one', async () => {
    await inviteExpiringAt(seed, 'today@x.test', later(NINE, 2 * HOUR))
    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    // a new invitation expiring soon does not make a second digest the same day, however late
    await inviteExpiringAt(seed, 'tomorrow@x.test', later(NINE, 26 * HOUR))
    for (const t of [later(NINE, 1), later(NINE, HOUR), later(NINE, 15 * HOUR - 1)]) {
      deps.clock.set(t)
      expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    }
    // past midnight UTC: a new day, but before the hour
    deps.clock.set(later(NINE, 15 * HOUR))
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    deps.clock.set(later(NINE, DAY))
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    const digests = await storedDigests()
    expect(digests.map((d) => [d.dedupeKey, d.facts.day, d.at, listed(d.facts)])).toEqual([
      ['2026-12-03', '2026-12-03', NINE, ['today@x.test']],
      ['2026-12-04', '2026-12-04', later(NINE, DAY), ['tomorrow@x.test']],
    ])
  })

  test('ten sweeps at once write exactly one digest per account', async () => {
    const accounts = [seed, ...(await Promise.all(Array.from({ length: 4 }, () => seedAccount(deps))))]
    for (const [a, account] of accounts.entries()) {
      for (let i = 0; i < 3; i++) await inviteExpiringAt(account, `u${i}@a${a}.test`, later(NINE, (i + 1) * HOUR))
    }
    deps.clock.set(NINE)
    // Open the pool's connections first (as many as it holds, held together, then handed back), so
    // the sweeps start together rather than one per connect.
    const client = db.knex.client as { pool: { max: number }; acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<unknown> }
    const held = await Promise.all(Array.from({ length: Math.min(10, client.pool.max) }, () => client.acquireConnection()))
    await Promise.all(held.map((c) => client.releaseConnection(c)))
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => sweepExpiringSoon(deps)))
    expect(outcomes.reduce((n, o) => n + o.digests, 0)).toBe(accounts.length)
    const digests = await storedDigests()
    expect(digests.map((d) => d.accountId).sort()).toEqual(accounts.map((a) => a.account.id).sort())
    expect(digests.every((d) => d.facts.total === 3)).toBe(true)
  })

  test('a sweep that starts while another one\'s digest is uncommitted waits for it, then writes nothing', async () => {
    // The same race as above, made deterministic: the first sweep's row is written and not yet
    // committed when the second sweep runs. Without ON CONFLICT the second one fails on the unique
    // index; without the index it writes a second digest. (PGlite runs one transaction at a time:
    // there the second sweep simply runs after the commit.)
    await inviteExpiringAt(seed, 'bob@x.test', later(NINE, HOUR))
    deps.clock.set(NINE)
    const trx = await db.knex.transaction()
    try {
      expect(await sweepExpiringSoon({ ...deps, db: trx })).toEqual({ digests: 1 })
      let settled = false
      const racing = sweepExpiringSoon(deps).then(
        (value) => ({ value }),
        (error: unknown) => ({ error: String(error) }),
      )
      void racing.then(() => (settled = true))
      if (db.kind === 'postgres') {
        // Commit only once the second sweep is waiting on our row (or has ended without waiting).
        await untilLockWaiter(db.knex, () => settled)
      }
      await trx.commit()
      expect(await racing).toEqual({ value: { digests: 0 } })
    } finally {
      if (!trx.isCompleted()) await trx.rollback()
    }
    expect((await storedDigests()).map((d) => listed(d.facts))).toEqual([['bob@x.test']])
  })

  test("09:00 in the account's time zone, not UTC: a Berlin account gets its digest at 08:00 UTC in winter, dated by its own day", async () => {
    const berlin = await seedAccount(deps)
    await db.knex('accounts').where({ id: berlin.account.id }).update({ time_zone: 'Europe/Berlin' })
    const tokyo = await seedAccount(deps)
    await db.knex('accounts').where({ id: tokyo.account.id }).update({ time_zone: 'Asia/Tokyo' })
    // a stored zone the runtime does not know counts as UTC
    await db.knex('accounts').where({ id: seed.account.id }).update({ time_zone: 'Mars/Olympus_Mons' })
    await inviteExpiringAt(berlin, 'berlin@x.test', later(NINE, 12 * HOUR))
    await inviteExpiringAt(tokyo, 'tokyo@x.test', later(NINE, 12 * HOUR))
    await inviteExpiringAt(seed, 'utc@x.test', later(NINE, 12 * HOUR))
    // 07:59:59 UTC = 08:59:59 in Berlin (CET), 16:59:59 in Tokyo: only Tokyo's is due
    deps.clock.set(later(NINE, -HOUR - 1000))
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    // 08:00 UTC = 09:00 in Berlin: Berlin's now, the UTC account's not yet
    deps.clock.set(later(NINE, -HOUR))
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    deps.clock.set(NINE)
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    // 09:00 UTC is past 09:00 in Berlin: nothing more for Berlin that day
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    const digests = await storedDigests()
    expect(digests.map((d) => [listed(d.facts), d.dedupeKey, d.facts.day, d.at])).toEqual([
      [['tokyo@x.test'], '2026-12-03', '2026-12-03', later(NINE, -HOUR - 1000)],
      [['berlin@x.test'], '2026-12-03', '2026-12-03', later(NINE, -HOUR)],
      [['utc@x.test'], '2026-12-03', '2026-12-03', NINE],
    ])
    // Tokyo's next day starts at 15:00 UTC: its day's key is the local date, and its 09:00 is 00:00 UTC
    await inviteExpiringAt(tokyo, 'tokyo2@x.test', later(NINE, 30 * HOUR))
    deps.clock.set(later(NINE, 15 * HOUR - 1000)) // 23:59:59 UTC = 08:59:59 on 4 Dec in Tokyo
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 0 })
    deps.clock.set(later(NINE, 15 * HOUR)) // 00:00 UTC on 4 Dec = 09:00 in Tokyo
    expect(await sweepExpiringSoon(deps)).toEqual({ digests: 1 })
    expect((await storedDigests()).at(-1)).toMatchObject({ accountId: tokyo.account.id, dedupeKey: '2026-12-04', facts: { day: '2026-12-04' } })
  })

  test('the database holds the rule: one event per (account, type, dedupe key); events without a key are not limited', async () => {
    const row = (dedupeKey: string | null) => ({ account_id: seed.account.id, type: 'invitations.expiring_soon', dedupe_key: dedupeKey, payload: '{}', created_at: deps.clock.now() })
    await db.knex('account_events').insert(row('2026-12-03'))
    await expect(db.knex('account_events').insert(row('2026-12-03'))).rejects.toThrow(/account_events_dedupe_idx/)
    await db.knex('account_events').insert([row('2026-12-04'), row(null), row(null)])
    expect(await countEvents()).toBe(4)
  })

  test('the window is read through invitations_pending_expiry_idx', async () => {
    // As schema.test.ts does: a small table is cheapest to scan, so ask the planner what it would
    // do without scans. SET LOCAL inside a transaction keeps the setting on this one connection.
    const plan = await db.knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off')
      return trx.raw<{ rows: Record<string, string>[] }>(`EXPLAIN ${EXPIRING_SOON_RANGE_SQL}`, [NINE, later(NINE, DAY)])
    })
    expect(JSON.stringify(plan.rows)).toContain('invitations_pending_expiry_idx')
  })
})

/** The seeded account's Slack destination, so its events get a Slack delivery when fanned out. */
async function slackDestination(): Promise<void> {
  expect((await connectChat(db.knex, { platform: 'slack', externalId: 'T0DIGEST', accountId: seed.account.id, channelId: 'C0DIGEST' })).ok).toBe(true)
}

describe('the digest in the notice deliveries', () => {
  test('claimDeliveries returns the digest parsed', async () => {
    await slackDestination()
    const bob = await inviteExpiringAt(seed, 'bob@x.test', later(NINE, 2 * HOUR))
    deps.clock.set(NINE)
    await sweepExpiringSoon(deps)
    await fanOutEvents(deps)
    const claimed = (await claimDeliveries(deps, 'slack')).map((n) => n.event)
    expect(claimed).toEqual([
      {
        id: expect.any(String),
        accountId: seed.account.id,
        at: NINE,
        attempts: 1,
        type: 'invitations.expiring_soon',
        facts: {
          day: '2026-12-03',
          total: 1,
          invitations: [{ ...bob, email: 'bob@x.test', name: 'Bob Invitee', expiresAt: later(NINE, 2 * HOUR), invitedByEmail: seed.admin.email }],
        },
      },
    ])
  })

  test('a malformed digest is closed as unreadable, with a warning that names no one', async () => {
    const logger = captureLogger()
    deps = makeDeps(db.knex, { logger, now: NINE.toISOString() })
    await slackDestination()
    const invitation = { invitationId: seed.admin.userId, userId: seed.admin.userId, email: 'secret@x.test', firstName: 'S', lastName: 'E', expiresAt: NINE.toISOString(), invitedByEmail: null }
    const good = { day: '2026-12-03', total: 2, invitations: [invitation] }
    const insert = async (payload: unknown, dedupeKey: string) => {
      const [r] = await db.knex('account_events')
        .insert({ account_id: seed.account.id, type: 'invitations.expiring_soon', dedupe_key: dedupeKey, payload: JSON.stringify(payload), created_at: NINE })
        .returning<{ id: string | number }[]>('id')
      return String(r!.id)
    }
    const ok = await insert(good, 'ok')
    const bad = [
      await insert({ ...good, day: '2026-13-01' }, 'bad-day'),
      await insert({ ...good, day: '3 Dec' }, 'not-a-day'),
      await insert({ ...good, total: 0 }, 'total-below-listed'),
      await insert({ ...good, total: '2' }, 'total-a-string'),
      await insert({ ...good, invitations: [{ ...invitation, expiresAt: 'tomorrow' }] }, 'bad-expiry'),
      await insert({ ...good, invitations: [{ ...invitation, email: '' }] }, 'no-email'),
      await insert({ day: good.day, total: 2 }, 'no-list'),
      await insert(['not', 'an', 'object'], 'array'),
    ]
    await fanOutEvents(deps)
    const claimed = (await claimDeliveries(deps, 'slack')).map((n) => n.event)
    expect(claimed.map((e) => e.id)).toEqual([ok])
    expect(claimed[0]?.facts).toMatchObject({ total: 2, invitations: [{ name: 'S E', invitedByEmail: null }] })
    const rows = await db.knex('notice_deliveries').whereIn('event_id', bad).select('delivered_at', 'note')
    expect(rows).toEqual(bad.map(() => ({ delivered_at: NINE, note: UNREADABLE_EVENT_NOTE })))
    const warnings = logger.lines.filter((l) => l.level === 'warn')
    expect(warnings.map((w) => w.fields.eventId).sort()).toEqual([...bad].sort())
    expect(JSON.stringify(warnings)).not.toContain('secret@x.test')
  })
})
