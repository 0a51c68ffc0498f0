/**
 * The notices job over two platforms (docs/notices.md): Slack (its real notifier, the Web API
 * played by nock) and the tests' own HTTP platform (test/support/http-notifier.ts, played by
 * nock). An account with a destination on each gets each notice once on each; a platform that
 * says "later" holds only its own deliveries; two jobs (two replicas) post each notice once per
 * destination.
 */
import { EventEmitter } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createNoticesJob, type NoticesJobOptions } from '../../src/notices/notices-job.ts'
import { DAY, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { createHttpNotifier, TEST_PLATFORM, type TestChatPost } from '../support/http-notifier.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ deps, seed } = t))

const SLACK_ORIGIN = 'https://slack-api.test'
const SLACK = { signingSecret: 'test-signing-secret-0123456789abcdef', botToken: 'xoxb-test', apiUrl: `${SLACK_ORIGIN}/api/` }
const CHAT_ORIGIN = 'https://test-chat.test'
const CHANNEL = 'C0NOTICES'
const ROOM = 'room-42'

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'))
})
afterAll(() => nock.enableNetConnect())
afterEach(() => nock.cleanAll())

function job(opts: NoticesJobOptions = {}) {
  return createNoticesJob(deps, [createSlackNotifier(SLACK, { conversationGapMs: 0 }), createHttpNotifier(CHAT_ORIGIN)], opts)
}

/** Slack's chat.postMessage calls, by channel and text. */
function slackPosts(sink: { channel: string; text: string }[], times: number, onPost: () => void = () => {}): nock.Scope {
  return nock(SLACK_ORIGIN)
    .post('/api/chat.postMessage', (b: Record<string, string>) => (sink.push({ channel: b.channel ?? '', text: b.text ?? '' }), onPost(), true))
    .times(times)
    .reply(200, { ok: true, ts: '1.1' })
}

/** The test platform's posts. */
function chatPosts(sink: TestChatPost[], times: number, status = 200, headers: Record<string, string> = {}): nock.Scope {
  return nock(CHAT_ORIGIN)
    .post('/post', (b: TestChatPost) => (sink.push(b), true))
    .times(times)
    .reply(status, {}, headers)
}

async function linkBoth(account: SeededAccount, n = 0): Promise<void> {
  expect((await connectChat(deps.db, { platform: 'slack', externalId: `T0BOTH${n}`, accountId: account.account.id, channelId: `${CHANNEL}${n}` })).ok).toBe(true)
  expect((await connectChat(deps.db, { platform: TEST_PLATFORM, externalId: `W${n}`, accountId: account.account.id, channelId: `${ROOM}-${n}` })).ok).toBe(true)
}

async function deliveries(): Promise<{ platform: string; delivered: boolean; note: string | null }[]> {
  const rows: { platform: string; delivered_at: Date | null; note: string | null }[] = await deps.db('notice_deliveries').orderBy(['event_id', 'platform']).select('platform', 'delivered_at', 'note')
  return rows.map((r) => ({ platform: r.platform, delivered: r.delivered_at !== null, note: r.note }))
}

describe('an account with a destination on two platforms', () => {
  test('gets each notice once on each; later rounds post nothing again', async () => {
    await linkBoth(seed)
    await inviteUser(deps, seed, 'dana@acme.test')
    deps.clock.advance(8 * DAY)
    const slack: { channel: string; text: string }[] = []
    const chat: TestChatPost[] = []
    const s = slackPosts(slack, 1)
    const c = chatPosts(chat, 1)
    const j = job()
    expect(await j.runOnce()).toMatchObject({ expired: 1, fannedOut: 2, posted: 2, delivered: 2 })
    expect(s.isDone() && c.isDone()).toBe(true)
    expect(slack).toEqual([{ channel: `${CHANNEL}0`, text: 'The invitation of dana@acme.test has expired.' }])
    expect(chat).toEqual([{ conversation: `${ROOM}-0`, reference: null, text: 'expired: dana@acme.test (3 Dec)' }])
    expect(await deliveries()).toEqual([
      { platform: 'slack', delivered: true, note: null },
      { platform: TEST_PLATFORM, delivered: true, note: null },
    ])
    // nothing new: nock would refuse a post, and the round would count it
    expect(await j.runOnce()).toMatchObject({ posted: 0, fannedOut: 0 })
  })

  test('a platform that says "later" holds only its own deliveries, until its Retry-After', async () => {
    await linkBoth(seed)
    await inviteUser(deps, seed, 'dana@acme.test')
    deps.clock.advance(8 * DAY)
    const slack: { channel: string; text: string }[] = []
    const chat: TestChatPost[] = []
    slackPosts(slack, 1)
    const limited = chatPosts(chat, 1, 429, { 'Retry-After': '120' })
    const j = job()
    expect(await j.runOnce()).toMatchObject({ posted: 1, delivered: 1, retried: 1 })
    expect(limited.isDone()).toBe(true)
    expect(slack).toHaveLength(1)
    expect(await deliveries()).toEqual([
      { platform: 'slack', delivered: true, note: null },
      { platform: TEST_PLATFORM, delivered: false, note: null },
    ])
    // Slack's next notice is not held up by the other platform's wait
    await inviteUser(deps, seed, 'eve@acme.test')
    deps.clock.advance(8 * DAY - 60_000)
    slackPosts(slack, 1)
    const before = chat.length
    expect(await j.runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(slack.map((p) => p.text)).toEqual(['The invitation of dana@acme.test has expired.', 'The invitation of eve@acme.test has expired.'])
    expect(chat).toHaveLength(before)
    // past the Retry-After the test platform gets both, once each; Slack nothing more
    deps.clock.advance(120_000)
    chatPosts(chat, 1)
    expect(await j.runOnce()).toMatchObject({ posted: 1, delivered: 2 })
    expect(chat.at(-1)?.text).toBe('expired: dana@acme.test (3 Dec)\nexpired: eve@acme.test (11 Dec)')
    expect((await deliveries()).every((d) => d.delivered)).toBe(true)
  })

  test('a platform that refuses for good closes only its own deliveries, with a note', async () => {
    await linkBoth(seed)
    await inviteUser(deps, seed, 'dana@acme.test')
    deps.clock.advance(8 * DAY)
    slackPosts([], 1)
    chatPosts([], 1, 404)
    expect(await job().runOnce()).toMatchObject({ posted: 1, delivered: 1, refused: 1 })
    expect(await deliveries()).toEqual([
      { platform: 'slack', delivered: true, note: null },
      { platform: TEST_PLATFORM, delivered: true, note: `${TEST_PLATFORM}: http_404` },
    ])
  })

  test('dates are shown in the account time zone', async () => {
    await deps.db('accounts').where({ id: seed.account.id }).update({ time_zone: 'Pacific/Kiritimati' })
    await linkBoth(seed)
    await inviteUser(deps, seed, 'dana@acme.test') // expires 3 Dec, 10:00 UTC = 4 Dec, 00:00 in Kiritimati (UTC+14)
    deps.clock.advance(8 * DAY)
    const chat: TestChatPost[] = []
    slackPosts([], 1)
    chatPosts(chat, 1)
    await job().runOnce()
    expect(chat[0]?.text).toBe('expired: dana@acme.test (4 Dec)')
    await deps.db('accounts').where({ id: seed.account.id }).update({ time_zone: 'Pacific/Pago_Pago' })
    await inviteUser(deps, seed, 'eve@acme.test') // expires 11 Dec, 10:00 UTC = 10 Dec, 23:00 in Pago Pago (UTC-11)
    deps.clock.advance(8 * DAY)
    slackPosts([], 1)
    chatPosts(chat, 1)
    await job().runOnce()
    expect(chat[1]?.text).toBe('expired: eve@acme.test (10 Dec)')
  })
})

describe('a notifier that renders nothing for an event', () => {
  test('its deliveries are closed with a note instead of coming back forever; the other platform is served', async () => {
    await linkBoth(seed)
    await deps.db('account_events').insert({ account_id: seed.account.id, type: 'email.bounced', payload: JSON.stringify({ email: 'gone@x.test', detail: null, suppressed: false }), created_at: deps.clock.now() })
    const chat = createHttpNotifier(CHAT_ORIGIN)
    const forgetful: typeof chat = { ...chat, render: () => [] }
    const slack: { channel: string; text: string }[] = []
    slackPosts(slack, 1)
    const round = await createNoticesJob(deps, [createSlackNotifier(SLACK, { conversationGapMs: 0 }), forgetful]).runOnce()
    expect(round).toMatchObject({ posted: 1, delivered: 1, refused: 1 })
    expect(await deliveries()).toEqual([
      { platform: 'slack', delivered: true, note: null },
      { platform: TEST_PLATFORM, delivered: true, note: `${TEST_PLATFORM}: not rendered` },
    ])
    expect(() => createNoticesJob(deps, [chat, chat])).toThrow(/two notifiers/)
  })
})

describe('a notifier whose renderer throws (a poison event)', () => {
  test("that account's deliveries wait like a refused post and are closed with a note after maxAttempts; other accounts are served", async () => {
    const other = await seedAccount(deps, { name: 'Other', adminEmail: 'admin@other.test' })
    await linkBoth(seed, 0)
    await linkBoth(other, 1)
    const bounce = (accountId: string, email: string) =>
      deps.db('account_events').insert({ account_id: accountId, type: 'email.bounced', payload: JSON.stringify({ email, detail: null, suppressed: false }), created_at: deps.clock.now() })
    await bounce(seed.account.id, 'poison@x.test')
    await bounce(other.account.id, 'fine@x.test')
    const chat = createHttpNotifier(CHAT_ORIGIN)
    const fragile: typeof chat = {
      ...chat,
      render(events, ctx) {
        if (events.some((e) => e.type === 'email.bounced' && e.facts.email === 'poison@x.test')) throw new Error('cannot render this one')
        return chat.render(events, ctx)
      },
    }
    const posts: TestChatPost[] = []
    slackPosts([], 2)
    chatPosts(posts, 1)
    const j = createNoticesJob(deps, [createSlackNotifier(SLACK, { conversationGapMs: 0 }), fragile], { maxAttempts: 2, retryDelayMs: 60_000 })
    expect(await j.runOnce()).toMatchObject({ posted: 3, delivered: 3, retried: 1, refused: 0 })
    expect(posts.map((p) => p.text)).toEqual(['email.bounced: fine@x.test'])
    const poisoned = () => deps.db('notice_deliveries').where({ account_id: seed.account.id, platform: TEST_PLATFORM }).first('delivered_at', 'note', 'claimed_until', 'attempts')
    expect(await poisoned()).toMatchObject({ delivered_at: null, note: null, attempts: 1, claimed_until: new Date(deps.clock.now().getTime() + 60_000) })
    // not claimed again before its retry time
    expect(await j.runOnce()).toMatchObject({ retried: 0, refused: 0 })
    deps.clock.advance(60_000)
    expect(await j.runOnce()).toMatchObject({ retried: 0, refused: 1 })
    expect(await poisoned()).toMatchObject({ attempts: 2, note: `${TEST_PLATFORM}: gave up after 2 attempts (render failed: Error: cannot render this one)` })
    expect((await poisoned())?.delivered_at).not.toBeNull()
  })
})

describe('a renderer that reports a message for no claimed event', () => {
  test('that message is not posted (it would close nothing); the others are', async () => {
    await linkBoth(seed)
    await deps.db('account_events').insert({ account_id: seed.account.id, type: 'email.bounced', payload: JSON.stringify({ email: 'gone@x.test', detail: null, suppressed: false }), created_at: deps.clock.now() })
    const chat = createHttpNotifier(CHAT_ORIGIN)
    const stray: typeof chat = { ...chat, render: (events, ctx) => [{ message: { text: 'about nothing' }, eventIds: ['999999999'] }, ...chat.render(events, ctx)] }
    const posts: TestChatPost[] = []
    chatPosts(posts, 2)
    expect(await createNoticesJob(deps, [stray]).runOnce()).toMatchObject({ posted: 1, delivered: 1, retried: 0, refused: 0 })
    expect(posts.map((p) => p.text)).toEqual(['email.bounced: gone@x.test'])
  })
})

describe('stop during a round', () => {
  const bounce = (email: string) =>
    deps.db('account_events').insert({ account_id: seed.account.id, type: 'email.bounced', payload: JSON.stringify({ email, detail: null, suppressed: false }), created_at: deps.clock.now() })
  const open = () => deps.db('notice_deliveries').where({ platform: TEST_PLATFORM }).whereNull('delivered_at').orderBy('event_id').select('claimed_until')

  test('what the notifier could not render is handed back claimable at once, not after the retry delay', async () => {
    await linkBoth(seed)
    await bounce('poison@x.test')
    const chat = createHttpNotifier(CHAT_ORIGIN)
    let stopped: Promise<void> | undefined
    const fragile: typeof chat = {
      ...chat,
      render() {
        stopped = j.stop()
        throw new Error('cannot render this one')
      },
    }
    const j = createNoticesJob(deps, [fragile], { retryDelayMs: 60_000 })
    expect(await j.runOnce()).toMatchObject({ posted: 0, retried: 0, refused: 0 })
    await stopped
    expect(await open()).toEqual([{ claimed_until: deps.clock.now() }])
  })

  test('a message waiting out its conversation gap when stop comes is not posted, and is handed back at once', async () => {
    await linkBoth(seed)
    await bounce('first@x.test')
    await bounce('second@x.test')
    const chat = createHttpNotifier(CHAT_ORIGIN, { conversationGapMs: 1000 })
    const oneByOne: typeof chat = { ...chat, render: (events, ctx) => events.flatMap((e) => chat.render([e], ctx)) }
    let stopped: Promise<void> | undefined
    const posts: TestChatPost[] = []
    chatPosts(posts, 2)
    const j = createNoticesJob(deps, [oneByOne], {
      monotonicMs: () => 0,
      // The second post waits out the gap; stop comes meanwhile.
      sleep: async () => {
        stopped = j.stop()
      },
    })
    expect(await j.runOnce()).toMatchObject({ posted: 1, delivered: 1, retried: 0 })
    await stopped
    expect(posts.map((p) => p.text)).toEqual(['email.bounced: first@x.test'])
    expect(await open()).toEqual([{ claimed_until: deps.clock.now() }])
  })
})

describe('a platform whose posts hang', () => {
  test('delays neither the sweeps nor the other platform while its post waits', async () => {
    // The test platform's endpoint: takes each request and answers none until told to.
    const pending: ServerResponse[] = []
    // Every request that arrives (at this endpoint or at Slack) wakes the waits below.
    const arrivals = new EventEmitter()
    const arrived = () => arrivals.emit('request')
    const until = (ready: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!ready()) return
          arrivals.off('request', check)
          resolve()
        }
        arrivals.on('request', check)
        check()
      })
    const server = createServer((req, res) => {
      req.resume()
      pending.push(res)
      arrived()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await linkBoth(seed)
    await inviteUser(deps, seed, 'dana@acme.test')
    deps.clock.advance(8 * DAY)
    const slack: { channel: string; text: string }[] = []
    slackPosts(slack, 2, arrived)
    const j = createNoticesJob(deps, [createSlackNotifier(SLACK, { conversationGapMs: 0 }), createHttpNotifier(origin, { timeoutMs: 120_000 })], { intervalMs: 5 })
    try {
      j.start()
      await until(() => pending.length >= 1 && slack.length >= 1)
      expect(pending).toHaveLength(1)
      expect(slack.map((p) => p.text)).toEqual(['The invitation of dana@acme.test has expired.'])
      // While that post still waits, a new expiry is swept, fanned out and posted on Slack.
      await inviteUser(deps, seed, 'eve@acme.test')
      deps.clock.advance(8 * DAY)
      await until(() => slack.length >= 2)
      expect(slack.map((p) => p.text)).toEqual(['The invitation of dana@acme.test has expired.', 'The invitation of eve@acme.test has expired.'])
      expect(pending).toHaveLength(1)
      expect(pending[0]?.writableEnded).toBe(false)
    } finally {
      // The hung post fails ("later"); stop waits for that round.
      for (const res of pending) res.destroy()
      await j.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
    const rows = await deps.db('notice_deliveries').orderBy(['event_id', 'platform']).select('platform', 'delivered_at')
    expect(rows.map((r: { platform: string; delivered_at: Date | null }) => `${r.platform} ${r.delivered_at === null ? 'open' : 'posted'}`)).toEqual(['slack posted', `${TEST_PLATFORM} open`, 'slack posted', `${TEST_PLATFORM} open`])
  })
})

describe('two replicas', () => {
  test('two jobs running at once post each notice once per destination', async () => {
    const accounts = [seed, ...(await Promise.all([1, 2, 3].map((i) => seedAccount(deps, { name: `Other ${i}`, adminEmail: `admin${i}@other.test` }))))]
    for (const [i, account] of accounts.entries()) {
      await linkBoth(account, i)
      for (let k = 0; k < 3; k++) await inviteUser(deps, account, `u${k}@a${i}.test`)
    }
    deps.clock.advance(8 * DAY)
    // every post's body, to count who was announced where (once per message: Slack also names the
    // person in the Remove button's confirmation dialog): a duplicate post would show
    const slack: { channel: string; body: string }[] = []
    const chat: TestChatPost[] = []
    nock(SLACK_ORIGIN)
      .post('/api/chat.postMessage', (b: Record<string, string>) => (slack.push({ channel: b.channel ?? '', body: b.blocks ?? '' }), true))
      .times(100)
      .reply(200, { ok: true, ts: '1.1' })
    chatPosts(chat, 100)
    // Both replicas' rounds at once, until there is nothing left (an event written by one replica's
    // sweep while the other was claiming is taken by a later round, by either).
    let delivered = 0
    for (let i = 0; i < 5; i++) {
      const rounds = await Promise.all([job().runOnce(), job().runOnce()])
      delivered += rounds.reduce((n, r) => n + r.delivered, 0)
    }
    expect(delivered).toBe(2 * 3 * accounts.length)
    const announced = (posts: { where: string; text: string }[]) => posts.flatMap((p) => [...new Set(p.text.match(/u\d@a\d\.test/g))].map((email) => `${p.where} ${email}`)).sort()
    const everyone = (prefix: (i: number) => string) => accounts.flatMap((_, i) => [0, 1, 2].map((k) => `${prefix(i)} u${k}@a${i}.test`)).sort()
    expect(announced(slack.map((p) => ({ where: p.channel, text: p.body })))).toEqual(everyone((i) => `${CHANNEL}${i}`))
    expect(announced(chat.map((p) => ({ where: p.conversation, text: p.text })))).toEqual(everyone((i) => `${ROOM}-${i}`))
    expect((await deliveries()).every((d) => d.delivered && d.note === null)).toBe(true)
  })
})
