/**
 * Held notices (docs/notices.md "Held notices"): a platform that cannot post to a destination
 * until something outside the job changes (a Slack workspace uninstalled the app, revoked its
 * token, or never installed it) answers "held". The delivery waits, however many rounds, is never
 * given up, and is due at once when the workspace installs the app again. The notifier here is
 * the test's own (posting nowhere), answering as scripted per conversation.
 */
import { expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { signInstallLink } from '../../src/installations/install-link.ts'
import { linkInstalledWorkspace } from '../../src/installations/link-installed-workspace.ts'
import { saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import type { ChatNotifier, NoticePostResult } from '../../src/notices/chat-notifier.ts'
import { createNoticesJob, type NoticesJobOptions } from '../../src/notices/notices-job.ts'
import { captureLogger } from '../email/support/capture-logger.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { slackInstallation } from '../support/slack-installation.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const MINUTE = 60_000
const HELD: NoticePostResult = { ok: false, held: true, transient: true, error: 'not_installed', retryAfterMs: null }
const LATER: NoticePostResult = { ok: false, transient: true, error: 'ratelimited', retryAfterMs: 10 * MINUTE }
const DONE: NoticePostResult = { ok: true }

/**
 * A notifier for `platform` whose answer for a conversation is what `answers` says at the time of
 * the post (default: posted). Every post is recorded.
 */
function scriptedNotifier(platform: string, answers: Map<string, NoticePostResult>) {
  const posts: { conversation: string; text: string }[] = []
  const notifier: ChatNotifier<{ text: string }> = {
    platform,
    conversationGapMs: 0,
    render: (events) => events.map((e) => ({ message: { text: `${e.type} ${e.id}` }, eventIds: [e.id] })),
    post: (destination, message) => {
      posts.push({ conversation: destination.conversationId, text: message.text })
      return Promise.resolve(answers.get(destination.conversationId) ?? DONE)
    },
  }
  return { notifier, posts }
}

const installation = (teamId: string) => slackInstallation(teamId, `xoxb-${teamId}-token`)

/** Link a workspace to the account, with its notices going to `channel`. */
async function linkSlack(account: SeededAccount, teamId: string, channel: string): Promise<void> {
  expect((await connectChat(deps.db, { platform: 'slack', externalId: teamId, accountId: account.account.id, channelId: channel, reference: { teamId } })).ok).toBe(true)
}

/** One event for the account (the job fans it out to each destination). */
async function event(account: SeededAccount, email: string): Promise<string> {
  const [row] = await db.knex('account_events')
    .insert({ account_id: account.account.id, type: 'email.bounced', payload: JSON.stringify({ email, detail: 'Permanent/General', suppressed: true, sesMessageId: 'ses-1' }), created_at: deps.clock.now() })
    .returning<{ id: string | number }[]>('id')
  return String(row!.id)
}

async function delivery(eventId: string, platform = 'slack') {
  return db.knex('notice_deliveries').where({ event_id: eventId, platform }).first<{ claimed_until: Date | null; held_since: Date | null; attempts: number; delivered_at: Date | null; note: string | null; claim_token: string | null }>()
}

function job(notifiers: ChatNotifier[], opts: NoticesJobOptions = {}, jobDeps: TestDeps = deps) {
  return createNoticesJob(jobDeps, notifiers, { holdRecheckMs: 15 * MINUTE, maxAttempts: 2, ...opts })
}

test('a held notice waits round after round, is never given up, and goes at once when the workspace installs the app', async () => {
  const logger = captureLogger()
  const logged = makeDeps(db.knex, { logger })
  logged.clock.set(deps.clock.now())
  deps = logged
  await linkSlack(seed, 'T0HELD', 'C0HELD')
  const id = await event(seed, 'bounced@acme.test')
  const answers = new Map([['C0HELD', HELD]])
  const { notifier, posts } = scriptedNotifier('slack', answers)
  const notices = job([notifier])

  const first = await notices.runOnce()
  expect(first).toMatchObject({ fannedOut: 1, posted: 0, held: 1, retried: 0, refused: 0 })
  const t0 = deps.clock.now()
  expect(await delivery(id)).toMatchObject({ claimed_until: new Date(t0.getTime() + 15 * MINUTE), held_since: t0, attempts: 0, delivered_at: null, claim_token: null })
  expect(logger.lines.find((l) => l.msg.startsWith('notice held'))).toMatchObject({ level: 'info', fields: { platform: 'slack', accountId: seed.account.id, conversation: 'C0HELD', error: 'not_installed' } })
  expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([])

  // Not due before its recheck time.
  expect(await notices.runOnce()).toMatchObject({ posted: 0, held: 0 })
  expect(posts).toHaveLength(1)

  // Many more rounds than maxAttempts (2): still held, never closed.
  for (let round = 0; round < 6; round += 1) {
    deps.clock.advance(15 * MINUTE)
    expect(await notices.runOnce()).toMatchObject({ held: 1, refused: 0 })
  }
  expect(posts).toHaveLength(7)
  expect(await delivery(id)).toMatchObject({ delivered_at: null, note: null, held_since: t0, attempts: 0 })

  // The workspace installs the app: due now, not at the next recheck.
  deps.clock.advance(MINUTE)
  answers.delete('C0HELD')
  await saveSlackInstallation(deps, installation('T0HELD'))
  expect(await delivery(id)).toMatchObject({ claimed_until: deps.clock.now() })
  expect(await notices.runOnce()).toMatchObject({ posted: 1, delivered: 1, held: 0 })
  expect(posts.at(-1)).toEqual({ conversation: 'C0HELD', text: `email.bounced ${id}` })
  expect(await delivery(id)).toMatchObject({ delivered_at: deps.clock.now(), note: null })
  const installed = await db.knex('audit_log').where({ action: 'slack.installed', account_id: seed.account.id }).first('detail')
  expect(installed.detail).toMatchObject({ heldNoticesReleased: 1 })
})

test('an install releases only the held notices of the accounts linked to that workspace', async () => {
  const other = await seedAccount(deps, { name: 'Other Co' })
  const third = await seedAccount(deps, { name: 'Third Co' })
  await linkSlack(seed, 'T0MINE', 'C0MINE')
  await linkSlack(other, 'T0OTHER', 'C0OTHER')
  await linkSlack(third, 'T0THIRD', 'C0THIRD')
  // The seeded account also has a destination on another platform, held there too.
  expect((await connectChat(deps.db, { platform: 'test-chat', externalId: 'W0MINE', accountId: seed.account.id, channelId: 'room-mine' })).ok).toBe(true)
  const mine = await event(seed, 'a@acme.test')
  const theirs = await event(other, 'b@other.test')
  const limited = await event(third, 'c@third.test')
  const answers = new Map([
    ['C0MINE', HELD],
    ['C0OTHER', HELD],
    ['C0THIRD', LATER],
    ['room-mine', HELD],
  ])
  const slack = scriptedNotifier('slack', answers)
  const chat = scriptedNotifier('test-chat', answers)
  expect(await job([slack.notifier, chat.notifier]).runOnce()).toMatchObject({ held: 3, retried: 1 })
  const before = { theirs: await delivery(theirs), limited: await delivery(limited), elsewhere: await delivery(mine, 'test-chat') }
  expect(before.limited).toMatchObject({ held_since: null, attempts: 1 })

  deps.clock.advance(MINUTE)
  await saveSlackInstallation(deps, installation('T0MINE'))
  expect((await delivery(mine))?.claimed_until).toEqual(deps.clock.now())
  // The others keep their times: another workspace's notices, a rate limit, another platform.
  expect(await delivery(theirs)).toEqual(before.theirs)
  expect(await delivery(limited)).toEqual(before.limited)
  expect(await delivery(mine, 'test-chat')).toEqual(before.elsewhere)
  // An install of a workspace no account is linked to releases nothing.
  await saveSlackInstallation(deps, installation('T0NOBODY'))
  expect(await delivery(theirs)).toEqual(before.theirs)
})

test('the platform may say when to look again; a notice held for long is not given up at its first refusal afterwards', async () => {
  await linkSlack(seed, 'T0HELD', 'C0HELD')
  const id = await event(seed, 'bounced@acme.test')
  const answers = new Map<string, NoticePostResult>([['C0HELD', { ...HELD, retryAfterMs: 3 * MINUTE }]])
  const { notifier } = scriptedNotifier('slack', answers)
  const notices = job([notifier])
  await notices.runOnce()
  expect((await delivery(id))?.claimed_until).toEqual(new Date(deps.clock.now().getTime() + 3 * MINUTE))
  for (let round = 0; round < 4; round += 1) {
    deps.clock.advance(3 * MINUTE)
    expect(await notices.runOnce()).toMatchObject({ held: 1 })
  }
  // Installed again, but Slack rate-limits the first post: that is an attempt, not the last.
  await saveSlackInstallation(deps, installation('T0HELD'))
  answers.set('C0HELD', LATER)
  expect(await notices.runOnce()).toMatchObject({ retried: 1, refused: 0 })
  expect(await delivery(id)).toMatchObject({ held_since: null, attempts: 1, delivered_at: null })
  answers.delete('C0HELD')
  deps.clock.advance(10 * MINUTE)
  expect(await notices.runOnce()).toMatchObject({ delivered: 1 })
})

test('the rest of an account\'s notices in the round are held with the first', async () => {
  await linkSlack(seed, 'T0HELD', 'C0HELD')
  const ids = [await event(seed, 'a@acme.test'), await event(seed, 'b@acme.test'), await event(seed, 'c@acme.test')]
  const { notifier, posts } = scriptedNotifier('slack', new Map([['C0HELD', HELD]]))
  expect(await job([notifier]).runOnce()).toMatchObject({ held: 3, posted: 0 })
  // One post tried; the other two were not tried, and wait with it.
  expect(posts).toHaveLength(1)
  for (const id of ids) expect(await delivery(id)).toMatchObject({ held_since: deps.clock.now(), attempts: 0 })
})

test('linking a workspace through an install link releases the account\'s held notices too', async () => {
  // A destination whose account has no workspace to post with yet (the notifier says held).
  const id = await event(seed, 'bounced@acme.test')
  await db.knex('notice_destinations').insert({ account_id: seed.account.id, platform: 'slack', conversation_id: 'C0LATER', reference: null, updated_at: deps.clock.now() })
  const answers = new Map([['C0LATER', HELD]])
  const { notifier } = scriptedNotifier('slack', answers)
  expect(await job([notifier]).runOnce()).toMatchObject({ held: 1 })
  deps.clock.advance(MINUTE)
  await saveSlackInstallation(deps, installation('T0NEW'))
  // Installed, not linked yet: nothing of this account's is released.
  expect((await delivery(id))?.claimed_until).toEqual(new Date(deps.clock.now().getTime() - MINUTE + 15 * MINUTE))
  const token = signInstallLink(deps.config.inviteSecret, { accountId: seed.account.id, expiresAt: new Date(deps.clock.now().getTime() + DAY) })
  const linked = await linkInstalledWorkspace(deps, { linkToken: token, externalId: 'T0NEW', workspaceName: null, installer: { platform: 'slack', platformUserId: 'U0ADMIN', email: seed.admin.email } })
  expect(linked).toMatchObject({ ok: true, code: 'slack.install.linked' })
  expect((await delivery(id))?.claimed_until).toEqual(deps.clock.now())
  answers.delete('C0LATER')
  expect(await job([notifier]).runOnce()).toMatchObject({ delivered: 1 })
})
