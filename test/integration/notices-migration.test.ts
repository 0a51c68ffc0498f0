/**
 * The move to per-destination deliveries (migrations/20261130110000_notice_destinations.ts) on a
 * database written by the previous version: the Slack notice channels become Slack destinations,
 * events already closed are never posted again, events still open are posted to Slack once
 * (keeping their retry time), pending invitations that expired more than a day before the upgrade
 * are settled without a notice, and the migration rolls back.
 */
import { randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import nock from 'nock'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { migrations } from '../../migrations/index.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { createNoticesJob } from '../../src/notices/notices-job.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, makeDeps, seedAccount } from '../support/factories.ts'

const NAME = '20261130110000_notice_destinations'
const SLACK_ORIGIN = 'https://slack-api.test'
const SLACK = { signingSecret: 'test-signing-secret-0123456789abcdef', botToken: 'xoxb-test', apiUrl: `${SLACK_ORIGIN}/api/` }

/** knex's migrator over the first `count` migrations of the list (the database as it was). */
function migrator(count: number): Knex.MigratorConfig {
  const list = migrations.slice(0, count)
  return {
    tableName: 'knex_migrations',
    migrationSource: { getMigrations: async () => [...list], getMigrationName: ([name]) => name, getMigration: async ([, m]) => m },
  }
}

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false })
  nock.disableNetConnect()
})
afterAll(async () => {
  nock.enableNetConnect()
  nock.cleanAll()
  await db.close()
})

test('channels become Slack destinations; closed events are not posted again, open ones once; down restores the old shape', async () => {
  const index = migrations.findIndex(([name]) => name === NAME)
  expect(index).toBeGreaterThan(0)
  await db.knex.migrate.latest(migrator(index))

  const deps = makeDeps(db.knex)
  const now = deps.clock.now()
  const at = (ms: number) => new Date(now.getTime() + ms)
  const linked = await seedAccount(deps, { name: 'Linked' })
  const unlinked = await seedAccount(deps, { name: 'No channel' })
  // Two workspaces with a channel: the oldest connection wins, as the Slack worker chose it.
  await db.knex('chat_connections').insert([
    { platform: 'slack', external_id: 'T0NEWER', account_id: linked.account.id, channel_id: 'C0NEWER', created_at: at(-1000) },
    { platform: 'slack', external_id: 'T0OLDER', account_id: linked.account.id, channel_id: ' C0OLDER ', created_at: at(-2000) },
    { platform: 'teams', external_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', account_id: linked.account.id, channel_id: null, created_at: at(-3000) },
    { platform: 'slack', external_id: 'T0BLANK', account_id: unlinked.account.id, channel_id: null, created_at: at(-3000) },
  ])
  const event = (accountId: string, email: string, more: Record<string, unknown> = {}) => ({
    account_id: accountId,
    type: 'email.bounced',
    payload: JSON.stringify({ email, detail: null, suppressed: false }),
    created_at: at(-60_000),
    ...more,
  })
  const ids = (await db.knex('account_events')
    .insert([
      event(linked.account.id, 'posted-before@x.test', { delivered_at: at(-50_000), attempts: 1 }),
      event(linked.account.id, 'given-up@x.test', { delivered_at: at(-50_000), attempts: 30, delivery_note: 'slack: gave up after 30 attempts (http_500)' }),
      event(linked.account.id, 'waiting@x.test', { claimed_until: at(120_000), attempts: 3 }),
      event(linked.account.id, 'open@x.test'),
      event(unlinked.account.id, 'nowhere@x.test'),
    ])
    .returning<{ id: string | number }[]>('id')).map((r) => String(r.id))

  // Expiries the old Slack-only sweep may never have announced (a Teams-only deployment): the
  // migration compares with the database's own clock, so these are placed around the real now.
  // Rows written as the schema of the time holds them: today's use cases write tables that did not exist yet.
  const invitationOf = async (email: string, expiresAt: Date) => {
    const createdAt = new Date(expiresAt.getTime() - 7 * DAY)
    const [user] = await db.knex('users').insert({ account_id: unlinked.account.id, email, first_name: 'Bob', last_name: 'Invitee', status: 'invited', created_at: createdAt, updated_at: createdAt }).returning<{ id: string }[]>('id')
    await db.knex('invitations').insert({
      account_id: unlinked.account.id,
      user_id: user!.id,
      link_id: randomBytes(16).toString('hex'),
      token_hash: randomBytes(32).toString('hex'),
      state: 'pending',
      created_at: createdAt,
      expires_at: expiresAt,
      invited_by_email: unlinked.admin.email,
      sent_count: 1,
    })
    return user!.id
  }
  const realNow = Date.now()
  const longAgo = await invitationOf('long-ago@x.test', new Date(realNow - 3 * DAY))
  const justNow = await invitationOf('just-now@x.test', new Date(realNow - 3_600_000))
  const notYet = await invitationOf('not-yet@x.test', new Date(realNow + 3 * DAY))
  const noticedAt = async (userId: string) => ((await db.knex('invitations').where({ user_id: userId }).first('expiry_noticed_at')) as { expiry_noticed_at: Date | null }).expiry_noticed_at

  expect(await migrateLatest(db.knex)).toEqual(migrations.slice(index).map(([name]) => name))

  // expired more than a day ago: settled, no event; the last day's and the valid one: untouched
  expect(await noticedAt(longAgo)).toBeInstanceOf(Date)
  expect(await noticedAt(justNow)).toBeNull()
  expect(await noticedAt(notYet)).toBeNull()
  expect(Number((await db.knex('account_events').where({ type: 'invitation.expired' }).count<{ n: string | number }[]>({ n: '*' }))[0]?.n)).toBe(0)

  expect(await db.knex('notice_destinations').select('account_id', 'platform', 'conversation_id', 'reference')).toEqual([
    { account_id: linked.account.id, platform: 'slack', conversation_id: 'C0OLDER', reference: null },
  ])
  expect(await db.knex('notice_deliveries').orderBy('event_id').select(db.knex.raw('event_id::text AS event_id'), 'platform', 'claimed_until', 'attempts', 'delivered_at')).toEqual([
    { event_id: ids[2], platform: 'slack', claimed_until: at(120_000), attempts: 3, delivered_at: null },
    { event_id: ids[3], platform: 'slack', claimed_until: null, attempts: 0, delivered_at: null },
  ])
  // every old event counts as seen: a destination added now replays none of them
  expect(await db.knex('account_events').whereNull('fanned_out_at').select('id')).toEqual([])
  // the core names no platform: any well-formed name is a platform, a malformed one is not
  await db.knex('chat_connections').insert({ platform: 'test-chat', external_id: 'W1', account_id: unlinked.account.id })
  await expect(db.knex('chat_connections').insert({ platform: 'Slack!', external_id: 'W2', account_id: unlinked.account.id })).rejects.toThrow(/chat_connections_platform_check/)
  await db.knex('chat_connections').where({ platform: 'test-chat' }).del()

  // The job: the open event now, the waiting one at its retry time, nothing closed, each once.
  const texts: string[] = []
  const slack = nock(SLACK_ORIGIN)
    .post('/api/chat.postMessage', (b: Record<string, string>) => (texts.push(`${b.channel} ${b.text}`), true))
    .times(2)
    .reply(200, { ok: true, ts: '1.1' })
  const job = createNoticesJob(deps, [createSlackNotifier(SLACK, { conversationGapMs: 0 })])
  expect(await job.runOnce()).toMatchObject({ fannedOut: 0, posted: 1, delivered: 1 })
  deps.clock.advance(120_000)
  expect(await job.runOnce()).toMatchObject({ posted: 1, delivered: 1 })
  expect(await job.runOnce()).toMatchObject({ posted: 0 })
  expect(slack.isDone()).toBe(true)
  expect(texts).toEqual([expect.stringMatching(/^C0OLDER .*open@x\.test/), expect.stringMatching(/^C0OLDER .*waiting@x\.test/)])

  // Down: one channel per connection, one lease per event, nothing open.
  // (the migrations after this one first, newest first)
  for (let n = migrations.length; n > index; n -= 1) await db.knex.migrate.down(migrator(migrations.length))
  const connections = await db.knex('chat_connections').orderBy('external_id').select('external_id', 'channel_id')
  expect(connections).toEqual([
    { external_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', channel_id: null },
    { external_id: 'T0BLANK', channel_id: null },
    // only the connection whose channel up took: the older worker reads the same one
    { external_id: 'T0NEWER', channel_id: null },
    { external_id: 'T0OLDER', channel_id: 'C0OLDER' },
  ])
  // up's settling of old expiries stays (down says so)
  expect(await noticedAt(longAgo)).toBeInstanceOf(Date)
  // (the bounces written above; the invitations placed around the real now may have a digest)
  const events = await db.knex('account_events').where({ type: 'email.bounced' }).orderBy('id').select('delivered_at', 'delivery_note', 'attempts')
  expect(events.map((e: { delivered_at: Date | null }) => e.delivered_at !== null)).toEqual([true, true, true, true, true])
  // what the deliveries knew comes back (the notes of events closed before the upgrade do not)
  expect(events[2]).toMatchObject({ delivery_note: null, attempts: 4 })
  expect(await migrateLatest(db.knex)).toEqual(migrations.slice(index).map(([name]) => name))
})
