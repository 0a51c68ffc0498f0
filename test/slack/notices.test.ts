/**
 * Slack notices (docs/notices.md) end to end: invitations expire on the injected clock, the core's
 * notices job sweeps them and posts them to the account's Slack destination through the Slack
 * notifier's real Web API client (Slack played by nock), and the buttons on the posted notice are
 * clicked through the real signed route. The database is checked after each step.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { fanOutEvents } from '../../src/notices/notice-deliveries.ts'
import { sweepExpiredInvitations } from '../../src/notices/sweep-expired.ts'
import { createNoticesJob, emptyRound, type NoticesJobOptions } from '../../src/notices/notices-job.ts'
import { DAY, arrangeAnswersBounceAndExpiry, inviteUser, seedAccount } from '../support/factories.ts'
import { ALICE, API_ORIGIN, API_URL, BOT_TOKEN, CHANNEL, SIGNING_SECRET, fixture, mockPostMessage, mockResponseUrl, mockUsersInfo, payloadBody, postSigned, snapshotCounts, useSlackRouteTests, type Harness } from './support.ts'

interface Block {
  type: string
  block_id?: string
  text?: { text: string }
  elements?: { type: string; action_id?: string; value?: string; text: string | { text: string }; confirm?: unknown }[]
}
interface Posted {
  channel: string
  text: string
  blocks: Block[]
}
interface Reply {
  text: string
  blocks: Block[]
  response_type?: string
  replace_original?: boolean
}

const ACTION_URL = fixture<{ response_url: string }>('block-actions-button.json').response_url
const OUTSIDER = 'U0OUTSIDER'

let h: Harness
let actionTs = 1732615900

useSlackRouteTests({ onHarness: (x) => (h = x) })

/** The notices job with Slack's notifier only (no spacing unless a test asks for it). */
function notices(opts: NoticesJobOptions & { channelGapMs?: number } = {}) {
  const { channelGapMs = 0, ...jobOptions } = opts
  return createNoticesJob(h.deps, [createSlackNotifier({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { conversationGapMs: channelGapMs })], jobOptions)
}

/** chat.postMessage calls, with `blocks` decoded (the Web API client sends them as a JSON string). */
function capturePosts(sink: Posted[], times = 1, reply: Record<string, unknown> = { ok: true, channel: CHANNEL, ts: '1732615300.000100' }): nock.Scope {
  return nock(API_ORIGIN)
    .post('/api/chat.postMessage', (b: Record<string, string>) => {
      sink.push({ channel: b.channel ?? '', text: b.text ?? '', blocks: JSON.parse(b.blocks ?? '[]') as Block[] })
      return true
    })
    .times(times)
    .reply(200, reply)
}

function rowActions(posted: Posted): Block[] {
  return posted.blocks.filter((b) => b.type === 'actions' && b.block_id?.startsWith('inviteops|notice|'))
}

function button(block: Block, actionId: string): { action_id: string; value: string } {
  const el = block.elements?.find((e) => e.action_id === actionId)
  if (!el?.action_id || !el.value) throw new Error(`no ${actionId} in ${block.block_id}`)
  return { action_id: el.action_id, value: el.value }
}

/** A click on a button of the posted notice, as Slack sends it: with the message it came from. */
function noticeClick(posted: Posted, block: Block, actionId: string, user = ALICE) {
  const payload = structuredClone(fixture<{ user: { id: string }; message: Record<string, unknown>; actions: Record<string, unknown>[] }>('block-actions-button.json'))
  payload.user.id = user
  payload.message = { ...payload.message, text: posted.text, blocks: posted.blocks }
  payload.actions[0] = { ...payload.actions[0], block_id: block.block_id, ...button(block, actionId), action_ts: `${actionTs++}.000300` }
  return payload
}

async function click(payload: unknown): Promise<void> {
  const res = await postSigned(h.base, payloadBody(payload))
  expect(res.status).toBe(200)
  await h.router.idle()
}

/** Slack's deliveries, with their events' types, oldest first. */
async function events(): Promise<{ type: string; delivered_at: Date | null; delivery_note: string | null; claimed_until: Date | null }[]> {
  return h.deps.db('notice_deliveries as d')
    .join('account_events as e', 'e.id', 'd.event_id')
    .where('d.platform', 'slack')
    .orderBy('d.event_id')
    .select('e.type', 'd.delivered_at', 'd.note as delivery_note', 'd.claimed_until')
}

/** Start the replica tests from no destination at all. */
async function unlinkAll(): Promise<void> {
  await h.deps.db('chat_connections').del()
  await h.deps.db('notice_destinations').del()
}

/** What the job's first steps do, without posting: the expiry sweep, then the fan-out. */
async function sweepAndFanOut(): Promise<void> {
  await sweepExpiredInvitations(h.deps)
  await fanOutEvents(h.deps)
}

describe('an expired invitation', () => {
  it('gets one notice in the linked channel, with Send new invitation and Remove; a later round posts nothing again', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test', { firstName: 'Dana', lastName: '<Scully>', groups: ['Engineering'] })
    await inviteUser(h.deps, h.seed, 'fresh@acme.test')
    h.deps.clock.advance(7 * DAY - 1000)
    await inviteUser(h.deps, h.seed, 'later@acme.test') // still valid for 7 days
    h.deps.clock.advance(2000)

    const posts: Posted[] = []
    const scope = capturePosts(posts, 1)
    const worker = notices()
    const first = await worker.runOnce()
    expect(scope.isDone()).toBe(true)
    expect(first).toMatchObject({ expired: 2, posted: 1, delivered: 2 })

    const [notice] = posts
    expect(notice?.channel).toBe(CHANNEL)
    expect(notice?.text).toBe('2 invitations have expired.')
    const body = JSON.stringify(notice?.blocks)
    expect(body).toContain('Dana &lt;Scully&gt;') // a name is escaped, never read as a Slack control sequence
    expect(body).toContain('fresh@acme.test')
    expect(body).not.toContain('later@acme.test')
    expect(body).not.toMatch(/\/invitations\/[A-Za-z0-9_-]{20,}/) // never a link
    const rows = rowActions(notice!)
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      expect(row.elements?.map((e) => e.action_id)).toEqual(['inviteops.do.regenerate', 'inviteops.remove.confirmed'])
      expect(row.elements?.[1]?.confirm).toBeDefined() // Remove asks in Slack's own dialog
    }

    // Nothing new: no post (nock would refuse an unexpected call and the round would say so).
    const second = await worker.runOnce()
    expect(second).toEqual(emptyRound())
    expect((await events()).every((e) => e.delivered_at !== null && e.delivery_note === null)).toBe(true)
  })

  it('a click on Send new invitation regenerates, confirms in the channel and replaces only that row’s buttons; a second click is told what happened', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test', { firstName: 'Dana', lastName: 'Scully' })
    await inviteUser(h.deps, h.seed, 'eve@acme.test', { firstName: 'Eve', lastName: 'Polastri' })
    h.deps.clock.advance(8 * DAY)
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const notice = posts[0]!
    const danaRow = rowActions(notice).find((b) => JSON.stringify(notice.blocks[notice.blocks.indexOf(b) - 1]).includes('dana@acme.test'))!

    const replies: Reply[] = []
    const announced: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, replies)
    mockPostMessage(announced)
    await click(noticeClick(notice, danaRow, 'inviteops.do.regenerate'))

    const [reply] = replies
    expect(reply?.replace_original).toBe(true)
    // The notice keeps its heading and Eve's row with buttons; Dana's buttons became what happened.
    expect(reply?.blocks).toHaveLength(notice.blocks.length)
    const danaNow = reply?.blocks.find((b) => b.block_id === danaRow.block_id)
    expect(danaNow?.type).toBe('context')
    expect(JSON.stringify(danaNow)).toMatch(/New invitation sent to dana@acme\.test by <@U2147483697>, valid until \d+ Dec/)
    expect(reply?.blocks.filter((b) => b.type === 'actions')).toHaveLength(1)
    expect(String(announced[0]?.text)).toContain('sent a new invitation to dana@acme.test')

    const invitations = await h.deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'dana@acme.test').select('i.state')
    expect(invitations.map((i: { state: string }) => i.state).sort()).toEqual(['pending', 'replaced'])
    const before = await snapshotCounts(h.deps)

    // The same button again (another administrator, a stale copy): one effect, told what happened.
    const again: Reply[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, again)
    await click(noticeClick(notice, danaRow, 'inviteops.do.regenerate'))
    expect(again[0]?.replace_original).toBe(true)
    expect(JSON.stringify(again[0]?.blocks.find((b) => b.block_id === danaRow.block_id))).toContain('already')
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 })
    expect(after.audit_log).toBe((before.audit_log ?? 0) + 1) // the refused attempt is audited
  })

  it('Remove (confirmed in Slack’s dialog) removes the user and updates the row', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const row = rowActions(posts[0]!)[0]!
    const replies: Reply[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, replies)
    mockPostMessage([])
    await click(noticeClick(posts[0]!, row, 'inviteops.remove.confirmed'))
    expect(replies[0]?.replace_original).toBe(true)
    expect(JSON.stringify(replies[0]?.blocks)).toContain('dana@acme.test removed by')
    expect(replies[0]?.blocks.some((b) => b.type === 'actions')).toBe(false)
    const user = await h.deps.db('users').where({ email: 'dana@acme.test' }).first<{ status: string }>('status')
    expect(user?.status).toBe('removed')
  })

  it('a click by someone who is not an administrator is refused to them alone: the notice keeps its buttons, nothing changes', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const before = await snapshotCounts(h.deps)
    const replies: Reply[] = []
    mockUsersInfo(OUTSIDER, {}, { email: 'someone@elsewhere.test' })
    mockResponseUrl(ACTION_URL, replies)
    await click(noticeClick(posts[0]!, rowActions(posts[0]!)[0]!, 'inviteops.do.regenerate', OUTSIDER))
    expect(replies[0]?.response_type).toBe('ephemeral')
    expect(replies[0]?.replace_original).toBe(false)
    const after = await snapshotCounts(h.deps)
    expect(after.invitations).toBe(before.invitations)
    expect(after.email_outbox).toBe(before.email_outbox)
  })

  it('a click whose message cannot be read still acts, and replaces the notice with what happened', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const payload = noticeClick(posts[0]!, rowActions(posts[0]!)[0]!, 'inviteops.do.regenerate') as { message: unknown }
    payload.message = { text: 'x', blocks: 'not blocks' }
    const replies: Reply[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, replies)
    mockPostMessage([])
    await click(payload)
    expect(replies[0]?.replace_original).toBe(true)
    expect(replies[0]?.blocks).toHaveLength(1)
    expect(JSON.stringify(replies[0]?.blocks)).toContain('New invitation sent to dana@acme.test')
  })
})

describe('grouping and pacing', () => {
  it('many expiries at once are one message: ten rows with buttons and a count of the rest', async () => {
    for (let i = 0; i < 13; i++) await inviteUser(h.deps, h.seed, `user${String(i).padStart(2, '0')}@acme.test`)
    h.deps.clock.advance(8 * DAY)
    const posts: Posted[] = []
    capturePosts(posts)
    const round = await notices().runOnce()
    expect(round).toMatchObject({ expired: 13, posted: 1, delivered: 13 })
    expect(posts[0]?.text).toBe('13 invitations have expired.')
    expect(rowActions(posts[0]!)).toHaveLength(10)
    expect(JSON.stringify(posts[0]?.blocks)).toContain('…and 3 more')
    expect(posts[0]!.blocks.length).toBeLessThanOrEqual(50) // Slack's limit per message
  })

  it('accepted, declined and bounced are one activity message; posts to one channel are spaced by channelGapMs', async () => {
    await arrangeAnswersBounceAndExpiry(h.deps, h.seed, 'Permanent: <General>')

    const waits: number[] = []
    const posts: Posted[] = []
    capturePosts(posts, 2)
    const round = await notices({ channelGapMs: 1100, monotonicMs: () => 0, sleep: async (ms) => void waits.push(ms) }).runOnce()
    expect(round).toMatchObject({ expired: 1, posted: 2, delivered: 4 })
    expect(waits).toEqual([1100]) // the second post to the channel waited; the first did not
    const activity = posts.find((p) => p.text.includes('updates'))
    const text = JSON.stringify(activity?.blocks)
    expect(text).toContain('*ann@acme.test* accepted the invitation and joined')
    expect(text).toContain('*dan@acme.test* declined the invitation')
    expect(text).toContain('bounced (Permanent: &lt;General&gt;)')
    expect(rowActions(activity!)).toHaveLength(0)
  })
})

describe('when Slack or the setup says no', () => {
  it('a rate limit puts the events back until Retry-After; they are posted after it', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const limited = nock(API_ORIGIN).post('/api/chat.postMessage').reply(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': '30' })
    const worker = notices()
    expect(await worker.runOnce()).toMatchObject({ expired: 1, posted: 0, retried: 1 })
    expect(limited.isDone()).toBe(true)
    expect(await worker.runOnce()).toMatchObject({ posted: 0, retried: 0 }) // not before Retry-After
    h.deps.clock.advance(31_000)
    const posts: Posted[] = []
    capturePosts(posts)
    expect(await worker.runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(posts[0]?.text).toBe('The invitation of dana@acme.test has expired.')
  })

  it('a notice Slack keeps refusing "for now" (5xx) is given up after maxAttempts, with a note', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const failing = nock(API_ORIGIN).post('/api/chat.postMessage').times(2).reply(500, 'upstream trouble')
    const worker = notices({ maxAttempts: 2 })
    expect(await worker.runOnce()).toMatchObject({ posted: 0, retried: 1, refused: 0 })
    h.deps.clock.advance(61_000) // the default retry delay
    expect(await worker.runOnce()).toMatchObject({ posted: 0, retried: 0, refused: 1 })
    expect(failing.isDone()).toBe(true)
    expect(await events()).toEqual([expect.objectContaining({ delivery_note: 'slack: gave up after 2 attempts (http_500)' })])
  })

  it('a lasting refusal (not_in_channel) closes the events with a note instead of retrying forever', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    capturePosts([], 1, { ok: false, error: 'not_in_channel' })
    expect(await notices().runOnce()).toMatchObject({ posted: 0, refused: 1 })
    expect(await events()).toEqual([expect.objectContaining({ type: 'invitation.expired', delivery_note: 'slack: not_in_channel' })])
  })

  it('an account linked without a notice channel gets no delivery; one added later does not replay the old notices', async () => {
    await unlinkAll()
    const linked = await connectChat(h.deps.db, { platform: 'slack', externalId: 'T0NOCHANNEL', accountId: h.seed.account.id, channelId: null })
    expect(linked.ok).toBe(true)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    expect(await notices().runOnce()).toEqual({ ...emptyRound(), expired: 1 })
    expect(await events()).toEqual([])
    // the event was seen (fanned out to no destination): a destination added now does not replay it
    expect(await h.deps.db('account_events').whereNull('fanned_out_at').select('id')).toEqual([])
    await connectChat(h.deps.db, { platform: 'slack', externalId: 'T0NOCHANNEL', accountId: h.seed.account.id, channelId: CHANNEL })
    expect(await notices().runOnce()).toEqual(emptyRound()) // nock would refuse a post
  })

  it('a destination removed after the events were fanned out: they are closed unposted, with a note', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    await sweepAndFanOut()
    await h.deps.db('notice_destinations').where({ account_id: h.seed.account.id }).del()
    expect(await notices().runOnce()).toMatchObject({ posted: 0, withoutDestination: 1 })
    expect(await events()).toEqual([expect.objectContaining({ delivery_note: 'no notice destination' })])
  })
})

describe('two replicas', () => {
  it('a round slower than its lease posts nothing more once another replica has claimed the notices', async () => {
    // Three accounts, one notice channel each, one expiry each.
    const channels = ['C0SLOW', 'C0NEXT', 'C0LAST']
    await unlinkAll()
    for (const [i, channel] of channels.entries()) {
      const seed = i === 0 ? h.seed : await seedAccount(h.deps, { name: `Other ${i}`, adminEmail: `admin${i}@other.test` })
      await connectChat(h.deps.db, { platform: 'slack', externalId: `T0REPLICA${i}`, accountId: seed.account.id, channelId: channel })
      await inviteUser(h.deps, seed, `gone${i}@acme.test`)
    }
    h.deps.clock.advance(8 * DAY)

    // Slack holds the first post (replica A's) until the test lets it go.
    const posted: string[] = []
    let seen!: () => void
    const firstPostSeen = new Promise<void>((resolve) => (seen = resolve))
    let answerFirst!: () => void
    nock(API_ORIGIN)
      .post('/api/chat.postMessage')
      .reply(function (_uri, body, callback) {
        posted.push(new URLSearchParams(String(body)).get('channel') ?? JSON.stringify(body))
        answerFirst = () => callback(null, [200, { ok: true, ts: '1.1' }])
        seen()
      })
    nock(API_ORIGIN)
      .post('/api/chat.postMessage', (b: Record<string, string>) => (posted.push(b.channel ?? '?'), true))
      .times(3)
      .reply(200, { ok: true, ts: '1.2' })

    const leaseMs = 5 * 60_000
    const a = notices({ leaseMs })
    const b = notices({ leaseMs })
    const roundA = a.runOnce()
    await firstPostSeen
    h.deps.clock.advance(leaseMs + 1) // A's post is slow: its claim on the other two runs out
    expect(await b.runOnce()).toMatchObject({ posted: 3, delivered: 3 })
    answerFirst()
    // A's post in flight could not be called back; the two it had not started are not posted by A.
    expect(await roundA).toMatchObject({ posted: 1, delivered: 0, lost: 2 })
    // Each channel got its notice from B; only the one A had in flight got a second copy.
    const [inFlight] = posted
    expect(posted.sort()).toEqual([...channels, inFlight].sort())
    expect((await events()).every((e) => e.delivered_at !== null)).toBe(true)
  })

  it('stop: the round in flight ends after the post it is making and hands the rest back', async () => {
    const channels = ['C0FIRST', 'C0SECOND']
    await unlinkAll()
    for (const [i, channel] of channels.entries()) {
      const seed = i === 0 ? h.seed : await seedAccount(h.deps, { name: `Other ${i}`, adminEmail: `admin${i}@other.test` })
      await connectChat(h.deps.db, { platform: 'slack', externalId: `T0STOP${i}`, accountId: seed.account.id, channelId: channel })
      await inviteUser(h.deps, seed, `gone${i}@acme.test`)
    }
    h.deps.clock.advance(8 * DAY)
    let seen!: () => void
    const firstPostSeen = new Promise<void>((resolve) => (seen = resolve))
    let answerFirst!: () => void
    const scope = nock(API_ORIGIN)
      .post('/api/chat.postMessage')
      .reply(function (_uri, _body, callback) {
        answerFirst = () => callback(null, [200, { ok: true, ts: '1.1' }])
        seen()
      })
    const worker = notices({ intervalMs: 60_000 })
    worker.start()
    await firstPostSeen
    const stopped = worker.stop()
    answerFirst()
    await stopped
    expect(scope.isDone()).toBe(true) // one post, no second (nock would refuse it)
    const rows = await events()
    expect(rows.filter((e) => e.delivered_at !== null)).toHaveLength(1)
    // The other is claimable again at once (not only when the lease ends) by the next start.
    expect(rows.filter((e) => e.delivered_at === null).every((e) => e.claimed_until !== null && e.claimed_until <= h.deps.clock.now())).toBe(true)
  })
})

describe('the daily digest', () => {
  it('lists invitations expiring within 24 hours once a day, each with Resend; a click resends and updates its row', async () => {
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    await inviteUser(h.deps, h.seed, 'kim@acme.test', { firstName: 'Kim', lastName: 'Later' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000) // 2 Dec, 22:00 UTC: both links end 3 Dec, 10:00 UTC

    const posts: Posted[] = []
    capturePosts(posts)
    const worker = notices()
    expect(await worker.runOnce()).toMatchObject({ expired: 0, posted: 1, delivered: 1 })
    const digest = posts[0]!
    expect(digest.text).toBe('2 invitations expire within 24 hours.')
    expect(JSON.stringify(digest.blocks)).toContain('Expires 3 Dec, 10:00 UTC')
    const rows = rowActions(digest)
    expect(rows.map((r) => r.elements?.map((e) => e.action_id))).toEqual([['inviteops.do.resend'], ['inviteops.do.resend']])
    expect(await worker.runOnce()).toMatchObject({ posted: 0 }) // once a day, not once a round

    const samRow = rows.find((b) => JSON.stringify(digest.blocks[digest.blocks.indexOf(b) - 1]).includes('sam@acme.test'))!
    const replies: Reply[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, replies)
    mockPostMessage([])
    await click(noticeClick(digest, samRow, 'inviteops.do.resend'))
    expect(replies[0]?.replace_original).toBe(true)
    expect(JSON.stringify(replies[0]?.blocks.find((b) => b.block_id === samRow.block_id))).toMatch(/Invitation resent to sam@acme\.test by <@U2147483697>, valid until 9 Dec/)
    expect(replies[0]?.blocks.filter((b) => b.type === 'actions')).toHaveLength(1) // Kim's button stays
    const sam = await h.deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'sam@acme.test').first<{ sent_count: number; expires_at: Date }>('i.sent_count', 'i.expires_at')
    expect(sam?.sent_count).toBe(2)
    expect(sam?.expires_at.toISOString()).toBe(new Date(h.deps.clock.now().getTime() + 7 * DAY).toISOString())
  })

  it('two clicks on the same Resend send one email; the second is told who resent it meanwhile', async () => {
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000)
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const digest = posts[0]!
    const [samRow] = rowActions(digest)

    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, [])
    mockPostMessage([])
    await click(noticeClick(digest, samRow!, 'inviteops.do.resend'))
    const before = await snapshotCounts(h.deps)

    // The same button on a copy of the digest that was not refreshed (another administrator's screen).
    h.deps.clock.advance(60_000)
    const again: Reply[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(ACTION_URL, again)
    await click(noticeClick(digest, samRow!, 'inviteops.do.resend'))
    expect(again[0]?.replace_original).toBe(true)
    expect(JSON.stringify(again[0]?.blocks.find((b) => b.block_id === samRow!.block_id))).toMatch(/already sent again by admin@acme\.test/)
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 }) // no second email
    expect(after.audit_log).toBe((before.audit_log ?? 0) + 1)
    const [audit] = await h.deps.db('audit_log').orderBy('id', 'desc').limit(1).select('result_code', 'ok')
    expect(audit).toMatchObject({ result_code: 'invitation.already_resent', ok: false })
    const sam = await h.deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'sam@acme.test').first<{ sent_count: number }>('i.sent_count')
    expect(sam?.sent_count).toBe(2)
  })

  it('a notice updated after a click keeps the account’s time zone, whatever the clicker’s', async () => {
    await h.deps.db('accounts').where({ id: h.seed.account.id }).update({ time_zone: 'Europe/Berlin' })
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000) // the resend below ends on 9 Dec, 22:00 UTC: 23:00 in Berlin, 10 Dec in Tokyo
    const posts: Posted[] = []
    capturePosts(posts)
    await notices().runOnce()
    const digest = posts[0]!
    const [samRow] = rowActions(digest)

    const replies: Reply[] = []
    const announced: Record<string, unknown>[] = []
    mockUsersInfo(ALICE, { tz: 'Asia/Tokyo' })
    mockResponseUrl(ACTION_URL, replies)
    mockPostMessage(announced)
    await click(noticeClick(digest, samRow!, 'inviteops.do.resend'))
    const banner = JSON.stringify(replies[0]?.blocks.find((b) => b.block_id === samRow!.block_id))
    expect(banner).toMatch(/valid until 9 Dec/)
    expect(banner).not.toMatch(/10 Dec/)
    expect(JSON.stringify(announced[0] ?? {})).not.toMatch(/10 Dec|Tokyo/)
  })
})
