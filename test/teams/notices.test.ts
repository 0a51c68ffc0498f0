/**
 * Teams notices (docs/notices.md) end to end: invitations expire on the injected clock, the core's
 * notices job sweeps them and posts through the Teams notifier to the conversation the account
 * chose (the Bot Connector played by nock), and the buttons of the posted card are clicked as
 * Teams sends them: an `adaptiveCard/action` invoke POSTed to /api/messages. Every card posted or
 * given back is checked against Microsoft's Adaptive Card schema. The database is checked after
 * each step. The same scenarios as Slack's (test/slack/notices.test.ts).
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { storeNoticeDestination } from '../../src/notices/notice-destinations.ts'
import { createNoticesJob, type NoticesJobOptions } from '../../src/notices/notices-job.ts'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { createTeamsNotifier, describePostError, isServiceUrlAllowed, TEAMS_CONVERSATION_GAP_MS } from '../../adapters/teams/notices.ts'
import { assertValidAdaptiveCard } from '../support/adaptive-card-schema.ts'
import { DAY, arrangeAnswersBounceAndExpiry, inviteUser, seedAccount, type SeededAccount } from '../support/factories.ts'
import { API_ORIGIN as SLACK_API_ORIGIN, API_URL as SLACK_API_URL, BOT_TOKEN as SLACK_BOT_TOKEN, CHANNEL as SLACK_CHANNEL, SIGNING_SECRET as SLACK_SIGNING_SECRET } from '../slack/support.ts'
import { ALICE, BOT, CHANNEL_CONVERSATION, SERVICE_ORIGIN, TEAM_ID, UNAUTHENTICATED, button, channelText, fixture, mockMember, mockReplies, post, row, snapshotCounts, submits, useTeamsRouteTests, type Activity, type Card, type CardElement, type Harness, type Sent } from './support.ts'

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

/** The channel notices go to (a Teams channel's id: the conversation id without `;messageid=`). */
const CHANNEL_ID = '19:d6a9f0b5c2e84b1f9e3c7a1d2b4f6e8a@thread.tacv2'

/** What botbuilder's `TurnContext.getConversationReference` gives for `/invite notices here` typed in a channel thread. */
const REFERENCE = {
  activityId: '1795687200123',
  user: { id: ALICE.id, name: ALICE.name, aadObjectId: ALICE.aadObjectId },
  bot: { id: BOT.id, name: BOT.name },
  conversation: { isGroup: true, conversationType: 'channel', tenantId: 'b2c7e1f4-3a5d-4e8f-9c0a-1d2e3f4a5b6c', id: `${CHANNEL_ID};messageid=1795687200123` },
  channelId: 'msteams',
  locale: 'en-US',
  serviceUrl: 'https://smba.trafficmanager.net/amer/',
}

interface PostedActivity {
  type: string
  text?: string
  replyToId?: string
  attachments?: { contentType: string; content: Card & { fallbackText?: string } }[]
}

/** An invoke's answer, as the route sends it back to Teams. */
interface InvokeAnswer {
  statusCode: number
  type: string
  value: unknown
}

function decodedPath(uri: string): string {
  return decodeURIComponent(uri.split('?')[0] ?? '')
}

/** Makes `conversationId` the Teams notice destination of `seed`'s account, as `/invite notices here` does. */
async function setTeamsDestination(seed: SeededAccount, reference: unknown = REFERENCE, conversationId = CHANNEL_ID): Promise<void> {
  await h.deps.db.transaction((trx) =>
    storeNoticeDestination(trx, { accountId: seed.account.id, platform: 'teams', conversationId, conversationName: 'General', reference, setBy: seed.admin.email, now: h.deps.clock.now() }),
  )
}

const OTHER_CHANNEL = '19:0therchannel@thread.tacv2'

/** One account per channel (the first is the harness's), each with its channel as Teams destination and one invitation that has expired. */
async function expiredInChannels(channels: readonly string[]): Promise<void> {
  for (const [i, channel] of channels.entries()) {
    const seed = i === 0 ? h.seed : await seedAccount(h.deps, { name: `Other ${i}`, adminEmail: `admin${i}@other.test` })
    await setTeamsDestination(seed, { ...REFERENCE, conversation: { ...REFERENCE.conversation, id: channel } }, channel)
    await inviteUser(h.deps, seed, `gone${i}@acme.test`)
  }
  h.deps.clock.advance(8 * DAY)
}

/** The connector holding the next post until the test lets it go: `seen` once it arrived, `release` answers it. */
function holdNextPost(posted: string[] = []): { seen: Promise<void>; release: () => void; scope: nock.Scope } {
  let arrived!: () => void
  const seen = new Promise<void>((resolve) => (arrived = resolve))
  let answer: (() => void) | null = null
  const scope = nock(SERVICE_ORIGIN)
    .post((uri) => decodedPath(uri).endsWith('/activities'))
    .reply(function (uri, _body, callback) {
      posted.push(conversationOf(uri))
      answer = () => callback(null, [200, { id: '1' }])
      arrived()
    })
  return { seen, scope, release: () => answer?.() }
}

/** The conversation a connector path posts to. */
function conversationOf(uri: string): string {
  return decodedPath(uri).replace(/^\/amer\/v3\/conversations\//, '').replace(/\/activities$/, '')
}

/** The notices job with Teams' notifier only (no spacing unless a test asks for it). */
function job(opts: NoticesJobOptions & { gapMs?: number } = {}) {
  const { gapMs, ...jobOptions } = opts
  return createNoticesJob(h.deps, [createTeamsNotifier(UNAUTHENTICATED, { logger: h.deps.logger, conversationGapMs: gapMs ?? 0 })], jobOptions)
}

let nextNoticeId = 1795687300001

/** New posts in the channel (`POST …/conversations/{channel}/activities`, no reply-to id), each card validated. */
function capturePosts(sink: PostedActivity[], times = 1, conversationId = CHANNEL_ID): nock.Scope {
  return nock(SERVICE_ORIGIN)
    .post(
      (uri) => decodedPath(uri) === `/amer/v3/conversations/${conversationId}/activities`,
      (body: PostedActivity) => {
        for (const a of body.attachments ?? []) assertValidAdaptiveCard(a.content)
        sink.push(body)
        return true
      },
    )
    .times(times)
    .reply(200, () => ({ id: String(nextNoticeId++) }))
}

function cardOf(activity: PostedActivity | undefined): Card & { fallbackText?: string } {
  const card = activity?.attachments?.[0]?.content
  if (!card) throw new Error(`no card in ${JSON.stringify(activity).slice(0, 300)}`)
  return card
}

/** Every button of a card, or of one of its rows. */
function executes(where: { items?: CardElement[]; actions?: CardElement[]; body?: CardElement[] }): CardElement[] {
  return submits({ type: 'AdaptiveCard', version: '1.5', body: [...(where.body ?? []), ...(where.items ?? [])], actions: where.actions ?? [] })
}

/** A click on `button` of the card posted as `cardId`, as Teams sends it: an adaptiveCard/action invoke. */
function invoke(button: CardElement, cardId: string, overrides: Partial<Activity> = {}): Activity {
  const base = fixture('invoke-card-action.json')
  return {
    ...base,
    id: `f:${crypto.randomUUID()}`,
    replyToId: cardId,
    value: { action: { type: 'Action.Execute', title: button.title, verb: button.verb, data: button.data }, trigger: 'manual' },
    ...overrides,
  }
}

/** `PUT …/activities/{cardId}`: the card updated in place for everyone, validated. */
function captureUpdate(sink: PostedActivity[], cardId: string): nock.Scope {
  return nock(SERVICE_ORIGIN)
    .put(
      (uri) => decodedPath(uri).startsWith(`/amer/v3/conversations/${CHANNEL_ID}`) && decodedPath(uri).endsWith(`/activities/${cardId}`),
      (body: PostedActivity) => {
        for (const a of body.attachments ?? []) assertValidAdaptiveCard(a.content)
        sink.push(body)
        return true
      },
    )
    .reply(200, { id: cardId })
}

/** Posts the click, waits for the work after the answer (the update for everyone), returns the answer. */
async function click(activity: Activity): Promise<InvokeAnswer> {
  const res = await post(h.base, activity)
  expect(res.status).toBe(200)
  await h.router.idle()
  const answer = JSON.parse(res.text) as InvokeAnswer
  if (answer.type === 'application/vnd.microsoft.card.adaptive') assertValidAdaptiveCard(answer.value)
  return answer
}

async function deliveries(): Promise<{ platform: string; delivered_at: Date | null; note: string | null }[]> {
  return h.deps.db('notice_deliveries').orderBy(['event_id', 'platform']).select('platform', 'delivered_at', 'note')
}

describe('an expired invitation', () => {
  it('gets one card in the chosen channel, a new post (not a reply in the thread), with Send new invitation and Remove; a later round posts nothing again', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test', { firstName: 'Dana', lastName: '*[Scully](https://evil.example)*' })
    await inviteUser(h.deps, h.seed, 'fresh@acme.test')
    h.deps.clock.advance(7 * DAY - 1000)
    await inviteUser(h.deps, h.seed, 'later@acme.test') // still valid for 7 days
    h.deps.clock.advance(2000)

    const posts: PostedActivity[] = []
    const scope = capturePosts(posts, 1)
    const notices = job()
    expect(await notices.runOnce()).toMatchObject({ expired: 2, posted: 1, delivered: 2 })
    expect(scope.isDone()).toBe(true)

    const card = cardOf(posts[0])
    expect(posts[0]?.replyToId).toBeUndefined()
    expect(card.version).toBe('1.5') // Teams renders Action.Execute only on 1.5 cards
    expect(card.fallbackText).toBe('2 invitations have expired.')
    const text = JSON.stringify(card)
    expect(text).toContain('\\\\*\\\\[Scully\\\\]\\\\(https') // markdown escaped: never a link or bold from a name
    expect(text).toContain('fresh@acme.test')
    expect(text).not.toContain('later@acme.test')
    expect(text).not.toMatch(/\/invitations\/[A-Za-z0-9_-]{20,}/) // never a link secret
    const buttons = executes(card)
    expect(buttons.map((b) => b.title)).toEqual(['Send new invitation', 'Remove user…', 'Send new invitation', 'Remove user…'])
    for (const b of buttons) {
      expect(b.type).toBe('Action.Execute')
      expect(b.verb).toBe('inviteops')
      expect(b.data).toMatchObject({ inviteops: 'row', origin: { kind: 'notice', notice: 'expired' } })
    }
    const users = await h.deps.db('users').whereIn('email', ['dana@acme.test', 'fresh@acme.test']).pluck<string[]>('id')
    expect(((buttons[0]?.data as { origin: { userIds: string[] } }).origin.userIds ?? []).sort()).toEqual(users.sort())

    expect(await notices.runOnce()).toMatchObject({ expired: 0, posted: 0, delivered: 0 })
    expect((await deliveries()).every((d) => d.delivered_at !== null)).toBe(true)
  })

  it('`/invite notices here` typed in a channel thread is where the next notice goes: a new post in that channel', async () => {
    const replies: Sent[] = []
    mockMember(TEAM_ID)
    mockReplies(replies, CHANNEL_CONVERSATION)
    expect((await post(h.base, channelText('notices here'))).status).toBe(200)
    expect(replies[0]?.body.text).toMatch(/notices/)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posts: PostedActivity[] = []
    const scope = capturePosts(posts)
    expect(await job().runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(scope.isDone()).toBe(true)
    expect(cardOf(posts[0]).fallbackText).toBe('The invitation of dana@acme.test has expired.')
  })

  it('dates are in the account’s time zone', async () => {
    await setTeamsDestination(h.seed)
    await h.deps.db('accounts').where({ id: h.seed.account.id }).update({ time_zone: 'Pacific/Auckland' })
    h.deps.clock.advance(2 * 3_600_000)
    await inviteUser(h.deps, h.seed, 'dana@acme.test') // 26 Nov, 12:00 UTC = 27 Nov, 01:00 in Auckland
    h.deps.clock.advance(8 * DAY) // expired 3 Dec, 12:00 UTC = 4 Dec, 01:00 in Auckland
    const posts: PostedActivity[] = []
    capturePosts(posts)
    await job().runOnce()
    expect(JSON.stringify(cardOf(posts[0]))).toContain('Invited 27 Nov by admin@acme.test · expired 4 Dec')
  })
})

describe('grouping and pacing', () => {
  it('many expiries at once are one card: ten rows with buttons and a count of the rest', async () => {
    await setTeamsDestination(h.seed)
    for (let i = 0; i < 13; i++) await inviteUser(h.deps, h.seed, `user${String(i).padStart(2, '0')}@acme.test`)
    h.deps.clock.advance(8 * DAY)
    const posts: PostedActivity[] = []
    capturePosts(posts)
    expect(await job().runOnce()).toMatchObject({ expired: 13, posted: 1, delivered: 13 })
    const card = cardOf(posts[0])
    expect(card.fallbackText).toBe('13 invitations have expired.')
    expect(card.body.filter((el) => String(el.id ?? '').startsWith('row-'))).toHaveLength(10)
    expect(executes(card)).toHaveLength(20)
    expect(JSON.stringify(card)).toContain('…and 3 more. `/invite list expired`')
    expect(JSON.stringify(card).length).toBeLessThan(28_000) // Teams' message size limit
  })

  it('requests for a new invitation are one card with the same buttons', async () => {
    await setTeamsDestination(h.seed)
    const { user: dana } = await inviteUser(h.deps, h.seed, 'dana@acme.test', { firstName: 'Dana', lastName: 'Scully' })
    h.deps.clock.advance(8 * DAY)
    await h.deps.db('invitations').update({ expiry_noticed_at: h.deps.clock.now() }) // the expiry itself was announced earlier
    const invitation = await h.deps.db('invitations').where({ user_id: dana.id }).first<{ id: string; expires_at: Date }>('id', 'expires_at')
    await h.deps.db('account_events').insert({
      account_id: h.seed.account.id,
      type: 'invitation.new_requested',
      payload: JSON.stringify({ userId: dana.id, email: 'dana@acme.test', firstName: 'Dana', lastName: 'Scully', invitationId: invitation?.id, invitedByEmail: 'admin@acme.test', expiredAt: invitation?.expires_at.toISOString() }),
      created_at: h.deps.clock.now(),
    })
    const posts: PostedActivity[] = []
    capturePosts(posts)
    expect(await job().runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    const card = cardOf(posts[0])
    expect(card.fallbackText).toBe('dana@acme.test asked for a new invitation.')
    expect(executes(card).map((b) => [b.title, (b.data as { origin: { notice: string } }).origin.notice])).toEqual([
      ['Send new invitation', 'requested'],
      ['Remove user…', 'requested'],
    ])
  })

  it('accepted, declined and bounced are one activity card; posts to one channel are spaced by the notifier’s gap', async () => {
    await setTeamsDestination(h.seed)
    await arrangeAnswersBounceAndExpiry(h.deps, h.seed, 'Permanent: <General> **x**')

    const waits: number[] = []
    const posts: PostedActivity[] = []
    capturePosts(posts, 2)
    const round = await job({ gapMs: TEAMS_CONVERSATION_GAP_MS, monotonicMs: () => 0, sleep: async (ms) => void waits.push(ms) }).runOnce()
    expect(round).toMatchObject({ expired: 1, posted: 2, delivered: 4 })
    expect(waits).toEqual([TEAMS_CONVERSATION_GAP_MS]) // the second post to the channel waited; the first did not
    const activity = posts.map(cardOf).find((c) => c.fallbackText === '3 invitation updates')
    const text = JSON.stringify(activity)
    expect(text).toContain('**ann@acme.test** accepted the invitation and joined')
    expect(text).toContain('**dan@acme.test** declined the invitation')
    expect(text).toContain('bounced (Permanent: <General> \\\\*\\\\*x\\\\*\\\\*)')
    expect(executes(activity!)).toHaveLength(0)
  })
})

describe('the daily digest', () => {
  it('lists invitations expiring within 24 hours once a day, each with Resend invitation', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    await inviteUser(h.deps, h.seed, 'kim@acme.test', { firstName: 'Kim', lastName: 'Later' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000) // 2 Dec, 22:00 UTC: both links end 3 Dec, 10:00 UTC
    const posts: PostedActivity[] = []
    capturePosts(posts)
    const notices = job()
    expect(await notices.runOnce()).toMatchObject({ expired: 0, posted: 1, delivered: 1 })
    const card = cardOf(posts[0])
    expect(card.fallbackText).toBe('2 invitations expire within 24 hours.')
    expect(JSON.stringify(card)).toContain('Expires 3 Dec, 10:00 UTC')
    expect(executes(card).map((b) => [b.title, (b.data as { origin: { notice: string } }).origin.notice])).toEqual([
      ['Resend invitation', 'expiring_soon'],
      ['Resend invitation', 'expiring_soon'],
    ])
    expect(await notices.runOnce()).toMatchObject({ posted: 0 }) // once a day, not once a round
  })
})

describe('when Teams or the setup says no', () => {
  it('a rate limit (429) puts the notices back until Retry-After; they are posted after it', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const limited = nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri) === `/amer/v3/conversations/${CHANNEL_ID}/activities`)
      .reply(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'Retry-After': '30' })
    const notices = job()
    expect(await notices.runOnce()).toMatchObject({ expired: 1, posted: 0, retried: 1 })
    expect(limited.isDone()).toBe(true) // one call: the connector client does not retry on its own
    expect(await notices.runOnce()).toMatchObject({ posted: 0, retried: 0 }) // not before Retry-After
    h.deps.clock.advance(31_000)
    const posts: PostedActivity[] = []
    capturePosts(posts)
    expect(await notices.runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(cardOf(posts[0]).fallbackText).toBe('The invitation of dana@acme.test has expired.')
  })

  it('a notice Teams keeps refusing "for now" (5xx) is given up after maxAttempts, with a note', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const failing = nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri) === `/amer/v3/conversations/${CHANNEL_ID}/activities`)
      .times(2)
      .reply(502, { error: { code: 'ServiceError', message: 'upstream trouble' } })
    const notices = job({ maxAttempts: 2 })
    expect(await notices.runOnce()).toMatchObject({ posted: 0, retried: 1, refused: 0 })
    h.deps.clock.advance(61_000) // the default retry delay
    expect(await notices.runOnce()).toMatchObject({ posted: 0, retried: 0, refused: 1 })
    expect(failing.isDone()).toBe(true)
    expect((await deliveries())[0]?.note).toMatch(/^teams: gave up after 2 attempts \(http_502/)
  })

  it('a bot removed from the team (403) closes the notices with a note saying what to do, instead of retrying forever', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri) === `/amer/v3/conversations/${CHANNEL_ID}/activities`)
      .reply(403, { error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' } })
    expect(await job().runOnce()).toMatchObject({ posted: 0, refused: 1 })
    expect((await deliveries())[0]?.note).toMatch(/^teams: http_403: the bot is no longer in that conversation; add InviteOps to the team again, then send `\/invite notices here`/)
  })

  it('an unusable stored reference (http to a remote host) posts nothing and closes the notices with a note', async () => {
    await setTeamsDestination(h.seed, { ...REFERENCE, serviceUrl: 'http://evil.example/' })
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    expect(await job().runOnce()).toMatchObject({ posted: 0, refused: 1 })
    expect((await deliveries())[0]?.note).toContain('send `/invite notices here` in the channel again')
  })

  it('a connector that does not answer within the deadline is "later", not a failure of the round', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri) === `/amer/v3/conversations/${CHANNEL_ID}/activities`)
      .delay(2_000)
      .reply(200, { id: '1' })
    const notices = createNoticesJob(h.deps, [createTeamsNotifier(UNAUTHENTICATED, { logger: h.deps.logger, conversationGapMs: 0, connectorMs: 100 })])
    expect(await notices.runOnce()).toMatchObject({ posted: 0, retried: 1 })
    expect((await deliveries())[0]).toMatchObject({ delivered_at: null })
  })

  it('an account without a Teams destination gets no Teams delivery; one chosen later does not replay the old notices', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    expect(await job().runOnce()).toMatchObject({ expired: 1, fannedOut: 0, posted: 0 })
    expect(await deliveries()).toEqual([])
    await setTeamsDestination(h.seed)
    expect(await job().runOnce()).toMatchObject({ fannedOut: 0, posted: 0 }) // nock would refuse a post
  })

  it('a destination turned off after the notices were fanned out: they are closed unposted, with a note', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    // The round of another process (no Teams notifier) swept and fanned out; then `/invite notices off`.
    expect(await createNoticesJob(h.deps, []).runOnce()).toMatchObject({ expired: 1, fannedOut: 1 })
    await h.deps.db('notice_destinations').where({ account_id: h.seed.account.id, platform: 'teams' }).del()
    expect(await job().runOnce()).toMatchObject({ posted: 0, withoutDestination: 1 })
    expect(await deliveries()).toEqual([expect.objectContaining({ platform: 'teams', note: 'no notice destination' })])
  })

  it('Retry-After is held between a second and an hour; a date already past means a second', () => {
    const now = Date.parse('2026-12-04T10:00:00Z')
    const after = (value: string) => describePostError({ statusCode: 429, response: { headers: new Map([['retry-after', value]]) } }, now)
    expect(after('0')).toMatchObject({ transient: true, retryAfterMs: 1000 })
    expect(after('Fri, 04 Dec 2026 09:00:00 GMT')).toMatchObject({ transient: true, retryAfterMs: 1000 })
    expect(after('86400')).toMatchObject({ transient: true, retryAfterMs: 60 * 60_000 })
    expect(after('Sat, 05 Dec 2026 10:00:00 GMT')).toMatchObject({ transient: true, retryAfterMs: 60 * 60_000 })
    expect(after('30')).toMatchObject({ transient: true, retryAfterMs: 30_000 })
  })

  it.each(['https://evil.example/', 'https://smba.trafficmanager.net.evil.example/amer/', 'https://botframework.com.evil.example/', 'https://smba.trafficmanager.net@evil.example/'])(
    'a stored reference to a host that is no Bot Framework service (%s) is refused for good: no request, the bot token stays home',
    async (serviceUrl) => {
      await setTeamsDestination(h.seed, { ...REFERENCE, serviceUrl })
      await inviteUser(h.deps, h.seed, 'dana@acme.test')
      h.deps.clock.advance(8 * DAY)
      // No interceptor, and the network is closed: a request would be a transient "no answer", not a refusal.
      expect(await job().runOnce()).toMatchObject({ posted: 0, refused: 1, retried: 0 })
      expect((await deliveries())[0]?.note).toContain('send `/invite notices here` in the channel again')
    },
  )

  it('the Bot Framework service hosts of every cloud are allowed; http only to loopback, and only without credentials', () => {
    for (const url of ['https://smba.trafficmanager.net/amer/', 'https://smba.infra.gcc.teams.microsoft.com/teams', 'https://smba.infra.gov.teams.microsoft.us/teams', 'https://smba.infra.dod.teams.microsoft.us/teams', 'https://webchat.botframework.com/', 'https://api.botframework.azure.cn/']) {
      expect([url, isServiceUrlAllowed(new URL(url), false)]).toEqual([url, true])
    }
    expect(isServiceUrlAllowed(new URL('http://smba.trafficmanager.net/amer/'), false)).toBe(false)
    expect(isServiceUrlAllowed(new URL('https://user:pw@smba.trafficmanager.net/'), false)).toBe(false)
    expect(isServiceUrlAllowed(new URL('http://localhost:3978/'), false)).toBe(false)
    expect(isServiceUrlAllowed(new URL('http://localhost:3978/'), true)).toBe(true)
    expect(isServiceUrlAllowed(new URL('http://example.test/'), true)).toBe(false)
  })

  it('Retry-After as an HTTP date, and errors without a status, are read too', () => {
    const now = Date.parse('2026-12-04T10:00:00Z')
    const headers = new Map([['retry-after', 'Fri, 04 Dec 2026 10:00:45 GMT']])
    expect(describePostError({ statusCode: 429, response: { headers } }, now)).toMatchObject({ transient: true, retryAfterMs: 45_000 })
    expect(describePostError({ statusCode: 429, response: { headers: {} } }, now)).toMatchObject({ transient: true, retryAfterMs: null })
    expect(describePostError(new Error('socket hang up'), now)).toMatchObject({ transient: true, retryAfterMs: null })
    expect(describePostError({ statusCode: 400, code: 'BadArgument' }, now)).toMatchObject({ transient: false, error: 'http_400 (BadArgument)' })
    expect(describePostError({ statusCode: 401 }, now)).toMatchObject({ transient: true, error: expect.stringContaining('MICROSOFT_APP_PASSWORD') })
    expect(describePostError({ statusCode: 404, code: 'ConversationNotFound' }, now)).toMatchObject({ transient: false, error: expect.stringContaining('/invite notices here') })
  })
})

describe('two replicas, shutdown, two platforms', () => {
  it('two replicas running at once post each notice once', async () => {
    await expiredInChannels([CHANNEL_ID, OTHER_CHANNEL])
    const here: PostedActivity[] = []
    const there: PostedActivity[] = []
    const a = capturePosts(here, 1)
    const b = capturePosts(there, 1, OTHER_CHANNEL)
    const [ra, rb] = await Promise.all([job().runOnce(), job().runOnce()])
    expect(ra.posted + rb.posted).toBe(2)
    expect(a.isDone() && b.isDone()).toBe(true) // one post each; a second would find no interceptor
    expect(here).toHaveLength(1)
    expect(there).toHaveLength(1)
    expect((await deliveries()).every((d) => d.delivered_at !== null)).toBe(true)
  })

  it('a round slower than its lease posts nothing more once another replica has claimed the notices', async () => {
    const channels = ['19:slow@thread.tacv2', '19:next@thread.tacv2', '19:last@thread.tacv2']
    await expiredInChannels(channels)

    // The connector holds the first post (replica A's) until the test lets it go.
    const posted: string[] = []
    const first = holdNextPost(posted)
    nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri).endsWith('/activities'))
      .times(3)
      .reply(function (uri) {
        posted.push(conversationOf(uri))
        return [200, { id: '2' }]
      })

    const leaseMs = 5 * 60_000
    // A long connector deadline: the held post must wait for the test, not for the clock of a slow machine.
    const replica = () => createNoticesJob(h.deps, [createTeamsNotifier(UNAUTHENTICATED, { logger: h.deps.logger, conversationGapMs: 0, connectorMs: 120_000 })], { leaseMs })
    const a = replica()
    const b = replica()
    const roundA = a.runOnce()
    await first.seen
    h.deps.clock.advance(leaseMs + 1) // A's post is slow: its claim on the other two runs out
    expect(await b.runOnce()).toMatchObject({ posted: 3, delivered: 3 })
    first.release()
    // A's post in flight could not be called back; the two it had not started are not posted by A.
    expect(await roundA).toMatchObject({ posted: 1, delivered: 0, lost: 2 })
    // Each channel got its notice from B; only the one A had in flight got a second copy.
    const [inFlight] = posted
    expect(posted.sort()).toEqual([...channels, inFlight].sort())
    expect((await deliveries()).every((d) => d.delivered_at !== null)).toBe(true)
  })

  it('an account with a Slack channel and a Teams channel gets each notice on both, once each; Teams being down delays only Teams', async () => {
    await setTeamsDestination(h.seed)
    await h.deps.db.transaction((trx) =>
      storeNoticeDestination(trx, { accountId: h.seed.account.id, platform: 'slack', conversationId: SLACK_CHANNEL, conversationName: null, reference: null, setBy: h.seed.admin.email, now: h.deps.clock.now() }),
    )
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const both = () =>
      createNoticesJob(h.deps, [
        createSlackNotifier({ signingSecret: SLACK_SIGNING_SECRET, botToken: SLACK_BOT_TOKEN, apiUrl: SLACK_API_URL }, { conversationGapMs: 0 }),
        createTeamsNotifier(UNAUTHENTICATED, { logger: h.deps.logger, conversationGapMs: 0 }),
      ])
    const slackPosts: Record<string, string>[] = []
    const slack = nock(SLACK_API_ORIGIN)
      .post('/api/chat.postMessage', (b: Record<string, string>) => (slackPosts.push(b), true))
      .reply(200, { ok: true, channel: SLACK_CHANNEL, ts: '1732615300.000100' })
    nock(SERVICE_ORIGIN)
      .post((uri) => decodedPath(uri) === `/amer/v3/conversations/${CHANNEL_ID}/activities`)
      .reply(503, { error: { code: 'ServiceUnavailable', message: 'try later' } })
    expect(await both().runOnce()).toMatchObject({ expired: 1, fannedOut: 2, posted: 1, delivered: 1, retried: 1 })
    expect(slack.isDone()).toBe(true)
    expect(slackPosts.map((p) => [p.channel, p.text])).toEqual([[SLACK_CHANNEL, 'The invitation of dana@acme.test has expired.']])

    h.deps.clock.advance(61_000) // Teams is back after the retry delay; Slack has nothing more to post
    const teamsPosts: PostedActivity[] = []
    capturePosts(teamsPosts)
    expect(await both().runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(cardOf(teamsPosts[0]).fallbackText).toBe('The invitation of dana@acme.test has expired.')
    expect((await deliveries()).map((d) => [d.platform, d.delivered_at !== null])).toEqual([
      ['slack', true],
      ['teams', true],
    ])
  })

  it('stop: the round in flight ends after the post it is making and hands the rest back', async () => {
    await expiredInChannels([CHANNEL_ID, OTHER_CHANNEL])
    const first = holdNextPost()
    const notices = job({ intervalMs: 60_000 })
    notices.start()
    await first.seen
    const stopped = notices.stop()
    first.release()
    await stopped
    expect(first.scope.isDone()).toBe(true) // one post, no second (nock would refuse it)
    const rows = await deliveries()
    expect(rows.filter((d) => d.delivered_at !== null)).toHaveLength(1)
    const open = await h.deps.db('notice_deliveries').whereNull('delivered_at').select('*')
    expect(open).toHaveLength(1)
  })
})

/** Posts one expiry notice for each of `emails` (one card) and returns the card and the id Teams gave it. */
async function postedNotice(emails: string[]): Promise<{ card: Card; cardId: string }> {
  await setTeamsDestination(h.seed)
  for (const email of emails) await inviteUser(h.deps, h.seed, email, { firstName: email.split('@')[0] ?? 'X', lastName: 'Test' })
  h.deps.clock.advance(8 * DAY)
  const posts: PostedActivity[] = []
  const cardId = String(nextNoticeId)
  capturePosts(posts)
  await job().runOnce()
  return { card: cardOf(posts[0]), cardId }
}

function answerCard(answer: InvokeAnswer): Card {
  expect(answer.type).toBe('application/vnd.microsoft.card.adaptive')
  return answer.value as Card
}

async function invitationStates(email: string): Promise<string[]> {
  return h.deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', email).orderBy('invitations.created_at').pluck<string[]>('invitations.state')
}

describe('clicks on a notice card (adaptiveCard/action)', () => {
  it('Send new invitation regenerates, answers with the updated card and updates it in place for everyone: only that row loses its buttons', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test', 'eve@acme.test'])
    mockMember(TEAM_ID)
    const updates: PostedActivity[] = []
    const update = captureUpdate(updates, cardId)
    const answer = await click(invoke(button(row(card, 'dana@acme.test'), 'Send new invitation'), cardId))
    const now = answerCard(answer)
    expect(update.isDone()).toBe(true)
    expect(updates[0]?.attachments?.[0]?.content).toEqual(now) // everyone sees what the clicker sees
    expect(JSON.stringify(row(now, 'dana@acme.test'))).toMatch(/New invitation sent to dana@acme\.test/)
    expect(executes(row(now, 'dana@acme.test'))).toHaveLength(0)
    expect(executes(row(now, 'eve@acme.test')).map((b) => b.title)).toEqual(['Send new invitation', 'Remove user…'])
    expect(await invitationStates('dana@acme.test')).toEqual(['replaced', 'pending'])
  })

  it('a stale card (someone acted first) is told what happened meanwhile; nothing is done twice, the attempt is audited', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    const send = button(card, 'Send new invitation')
    mockMember(TEAM_ID)
    captureUpdate([], cardId)
    await click(invoke(send, cardId))
    const before = await snapshotCounts(h.deps)

    mockMember(TEAM_ID)
    const updates: PostedActivity[] = []
    captureUpdate(updates, cardId)
    const now = answerCard(await click(invoke(send, cardId))) // the same button on a copy that was not refreshed
    expect(JSON.stringify(row(now, 'dana@acme.test'))).toMatch(/already/i)
    expect(executes(now)).toHaveLength(0)
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 })
    expect(after.audit_log).toBe((before.audit_log ?? 0) + 1)
    expect(await invitationStates('dana@acme.test')).toEqual(['replaced', 'pending'])
  })

  it('Remove asks first (the clicker gets the question), then removes and updates the card for everyone', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    mockMember(TEAM_ID)
    const shared = captureUpdate([], cardId)
    const prompt = answerCard(await click(invoke(button(card, 'Remove user…'), cardId)))
    expect(JSON.stringify(prompt)).toContain('dana@acme.test')
    expect(shared.isDone()).toBe(false) // the question is the clicker's; the shared card keeps its buttons
    expect((await h.deps.db('users').where({ email: 'dana@acme.test' }).first<{ status: string }>('status'))?.status).toBe('invited')
    nock.cleanAll()

    mockMember(TEAM_ID)
    const updates: PostedActivity[] = []
    const update = captureUpdate(updates, cardId)
    const removed = answerCard(await click(invoke(button(prompt, 'Remove'), cardId)))
    expect(update.isDone()).toBe(true)
    expect(JSON.stringify(row(removed, 'dana@acme.test'))).toMatch(/removed/i)
    expect(executes(removed)).toHaveLength(0)
    expect((await h.deps.db('users').where({ email: 'dana@acme.test' }).first<{ status: string }>('status'))?.status).toBe('removed')
  })

  it('a click by someone who is not an administrator changes nothing, is audited, and is answered to them alone: the card stays', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    const before = await snapshotCounts(h.deps)
    const bob = { id: '29:bob-not-an-admin', name: 'Bob Member', aadObjectId: '7e2c4d2f-2c8b-4b4f-8d2f-3a4b5c6d7e8f' }
    mockMember(TEAM_ID, { id: bob.id, name: bob.name, aadObjectId: bob.aadObjectId, email: 'bob@acme.test', userPrincipalName: 'bob@acme.onmicrosoft.com' }, bob.id)
    const update = captureUpdate([], cardId)
    const answer = await click(invoke(button(card, 'Send new invitation'), cardId, { from: bob }))
    expect(answer.type).toBe('application/vnd.microsoft.activity.message')
    expect(String(answer.value)).toMatch(/administrator/i)
    expect(update.isDone()).toBe(false) // the shared card was not touched
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 })
    const [audit] = await h.deps.db('audit_log').orderBy('at', 'desc').limit(1).select('result_code', 'ok')
    expect(audit).toMatchObject({ result_code: 'auth.not_admin', ok: false })
  })

  it('Resend invitation on the daily digest resends and updates the card', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000)
    const posts: PostedActivity[] = []
    const cardId = String(nextNoticeId)
    capturePosts(posts)
    await job().runOnce()
    mockMember(TEAM_ID)
    const update = captureUpdate([], cardId)
    const now = answerCard(await click(invoke(button(cardOf(posts[0]), 'Resend invitation'), cardId)))
    expect(update.isDone()).toBe(true)
    expect(JSON.stringify(row(now, 'sam@acme.test'))).toMatch(/resent to sam@acme\.test/i)
    expect(executes(now)).toHaveLength(0) // no longer expiring within 24 hours
    const sam = await h.deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'sam@acme.test').first<{ sent_count: number }>('i.sent_count')
    expect(sam?.sent_count).toBe(2)
  })

  it('two clicks on the same Resend invitation send one email; the second is told who resent it meanwhile', async () => {
    await setTeamsDestination(h.seed)
    await inviteUser(h.deps, h.seed, 'sam@acme.test', { firstName: 'Sam', lastName: 'Soon' })
    h.deps.clock.advance(6 * DAY + 12 * 3_600_000)
    const posts: PostedActivity[] = []
    const cardId = String(nextNoticeId)
    capturePosts(posts)
    await job().runOnce()
    const resend = button(cardOf(posts[0]), 'Resend invitation')
    mockMember(TEAM_ID)
    captureUpdate([], cardId)
    await click(invoke(resend, cardId))
    const before = await snapshotCounts(h.deps)

    // The same button on a copy of the digest that was not refreshed.
    h.deps.clock.advance(60_000)
    mockMember(TEAM_ID)
    const updates: PostedActivity[] = []
    captureUpdate(updates, cardId)
    const now = answerCard(await click(invoke(resend, cardId)))
    expect(JSON.stringify(row(now, 'sam@acme.test'))).toMatch(/already sent again by admin@acme\.test/)
    expect(updates[0]?.attachments?.[0]?.content).toEqual(now)
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 }) // no second email
    expect(after.audit_log).toBe((before.audit_log ?? 0) + 1)
    const sam = await h.deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where('u.email', 'sam@acme.test').first<{ sent_count: number }>('i.sent_count')
    expect(sam?.sent_count).toBe(2)
  })

  it('a card updated after a click keeps the account’s time zone, whatever the clicker’s', async () => {
    await h.deps.db('accounts').where({ id: h.seed.account.id }).update({ time_zone: 'Europe/Berlin' })
    h.deps.clock.advance(8 * 3_600_000) // invited 26 Nov, 18:00 UTC: 19:00 in Berlin, 27 Nov in Tokyo
    const { card, cardId } = await postedNotice(['dana@acme.test', 'eve@acme.test']) // expired 3 Dec in Berlin, 4 Dec in Tokyo
    expect(JSON.stringify(row(card, 'eve@acme.test'))).toContain('Invited 26 Nov by admin@acme.test · expired 3 Dec')
    mockMember(TEAM_ID)
    const updates: PostedActivity[] = []
    captureUpdate(updates, cardId)
    const tokyo = { entities: [{ locale: 'ja-JP', country: 'JP', platform: 'Web', timezone: 'Asia/Tokyo', type: 'clientInfo' }], localTimezone: 'Asia/Tokyo' }
    const now = answerCard(await click(invoke(button(row(card, 'dana@acme.test'), 'Send new invitation'), cardId, tokyo as Partial<Activity>)))
    expect(updates[0]?.attachments?.[0]?.content).toEqual(now)
    expect(JSON.stringify(row(now, 'eve@acme.test'))).toContain('Invited 26 Nov by admin@acme.test · expired 3 Dec')
    expect(JSON.stringify(now)).not.toMatch(/Tokyo|27 Nov|4 Dec|12 Dec/)
  })

  it('the clicker’s answer does not wait for the update for everyone (a slow PUT)', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    mockMember(TEAM_ID)
    let putSeen!: () => void
    const seen = new Promise<void>((resolve) => (putSeen = resolve))
    let answerPut!: () => void
    nock(SERVICE_ORIGIN)
      .put((uri) => decodedPath(uri).endsWith(`/activities/${cardId}`))
      .reply(function (_uri, _body, callback) {
        answerPut = () => callback(null, [200, { id: cardId }])
        putSeen()
      })
    // The answer arrives while the connector still holds the PUT (held until the test lets it go).
    const res = await post(h.base, invoke(button(card, 'Send new invitation'), cardId))
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' })
    await seen
    answerPut()
    await h.router.idle()
    expect(await invitationStates('dana@acme.test')).toEqual(['replaced', 'pending'])
  })

  it('a click whose origin names another account’s user acts on its own row only, and never shows that user', async () => {
    const other = await seedAccount(h.deps, { name: 'Other', adminEmail: 'admin@other.test' })
    const { user: stranger } = await inviteUser(h.deps, other, 'secret@other.test')
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    const send = button(card, 'Send new invitation')
    const data = send.data as { origin: { userIds: string[] } }
    const forged = { ...send, data: { ...data, origin: { ...data.origin, userIds: [...data.origin.userIds, stranger.id] } } }
    mockMember(TEAM_ID)
    captureUpdate([], cardId)
    const now = answerCard(await click(invoke(forged, cardId)))
    expect(JSON.stringify(now)).not.toContain('secret@other.test')
    expect(JSON.stringify(row(now, 'dana@acme.test'))).toMatch(/New invitation sent to dana@acme\.test/)
    expect(await invitationStates('secret@other.test')).toEqual(['pending'])
  })

  it('an unknown verb is refused without running anything; a redelivered click is not run twice', async () => {
    const { card, cardId } = await postedNotice(['dana@acme.test'])
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, invoke({ ...button(card, 'Send new invitation'), verb: 'something-else' }, cardId))
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' })
    for (const data of [undefined, null, 'list', ['row']]) {
      // Not a click of ours: refused, never run as a typed command (no member lookup, no reply).
      const bad = await post(h.base, invoke(button(card, 'Send new invitation'), cardId, { value: { action: { type: 'Action.Execute', verb: 'inviteops', data } } }))
      expect(JSON.parse(bad.text)).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' })
    }
    expect(await snapshotCounts(h.deps)).toEqual(before)

    mockMember(TEAM_ID)
    captureUpdate([], cardId)
    const once = invoke(button(card, 'Send new invitation'), cardId)
    await click(once)
    const again = await click(once) // Teams retrying the same invoke
    expect(again).toMatchObject({ type: 'application/vnd.microsoft.activity.message' })
    expect(await invitationStates('dana@acme.test')).toEqual(['replaced', 'pending'])
  })
})
