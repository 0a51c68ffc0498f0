/**
 * Typed commands (`@InviteOps …` in a channel, plain text in a personal chat) through the real
 * route: recorded-shape activities posted to /api/messages, the real core on a real database,
 * the Bot Connector played by nock (asserted with isDone()).
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { commandText } from '../../adapters/teams/interactions.ts'
import { createTeamsRouter } from '../../adapters/teams/router.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { createHttpApp } from '../../src/server/http.ts'
import { DAY, inviteUser } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import {
  ALICE,
  BOT,
  CHANNEL_CONVERSATION,
  PERSONAL_CONVERSATION,
  PRIVATE_CONVERSATION,
  TEAM_ID,
  TENANT,
  cardOf,
  cardText,
  channelText,
  mockMember,
  mockMemberNotFound,
  mockPrivateChat,
  mockReplies,
  personalText,
  post,
  row,
  snapshotCounts,
  submits,
  useTeamsRouteTests,
  type Activity,
  type Harness,
  type Sent,
  UNAUTHENTICATED,
} from './support.ts'

let h: Harness

useTeamsRouteTests({ onHarness: (x) => (h = x) })

async function outboxCount(): Promise<number> {
  const [r] = await h.deps.db('email_outbox').count<{ n: string }[]>({ n: '*' })
  return Number(r?.n)
}

async function userRow(email: string): Promise<{ status: string } | undefined> {
  return h.deps.db('users').where({ email }).first<{ status: string } | undefined>('status')
}

/** Posts one channel message as Alice (member lookup and one reply mocked); returns the reply. */
async function say(text: string, activity: Activity = channelText(text)): Promise<Sent> {
  const sent: Sent[] = []
  const member = mockMember(TEAM_ID)
  const reply = mockReplies(sent, CHANNEL_CONVERSATION)
  const res = await post(h.base, activity)
  expect(res.status).toBe(200)
  expect(member.isDone()).toBe(true)
  expect(reply.isDone()).toBe(true)
  return sent[0]!
}

describe('commandText', () => {
  it.each([
    ['<at>InviteOps</at> regenerate bob@acme.test', 'regenerate bob@acme.test'],
    ['<at>InviteOps</at>&nbsp;list expired', 'list expired'],
    ['/invite list', 'list'],
    ['invite   help', 'help'],
    ['Invite', ''],
    ['invitees', 'invitees'],
    ['add bob@acme.test --name &quot;Bob Builder&quot;', 'add bob@acme.test --name "Bob Builder"'],
    ['<at>Invite Ops</at> <at>Someone</at> groups', 'groups'],
    // Slack's form of an address, pasted: its address. Decoded once: a typed `&lt;` stays text.
    ['<at>InviteOps</at> new <mailto:carol@acme.test|carol@acme.test>', 'new carol@acme.test'],
    ['resend &amp;lt;mailto:a@x.test&amp;gt;', 'resend &lt;mailto:a@x.test&gt;'],
  ])('%s → %s', (raw, expected) => {
    expect(commandText(raw)).toBe(expected)
  })
})

describe('every command of the grammar, in a channel', () => {
  it('help, an unknown command and a bad address answer with usage; nothing changes', async () => {
    const before = await snapshotCounts(h.deps)
    const help = await say('help')
    expect(help.body.textFormat).toBe('markdown')
    expect(help.body.text).toContain('/invite regenerate <email>')
    const unknown = await say('frobnicate everything')
    expect(unknown.body.text).toContain('Usage')
    const bad = await say('add not-an-email')
    expect(bad.body.text).toContain('Usage')
    expect(bad.body.text).not.toMatch(/at .*\.ts:\d+/)
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('add, resend, regenerate, edit, show, groups, audit, list, remove — each checked in the database', async () => {
    const added = await say('add carol@acme.test --name "Carol Jones" --group Engineering')
    expect(added.body.text).toBe('**Alice Admin** invited carol@acme.test (Carol Jones; Engineering), valid until 3 Dec')
    expect(await userRow('carol@acme.test')).toEqual({ status: 'invited' })
    expect(await outboxCount()).toBe(1)

    const resent = await say('resend carol@acme.test')
    expect(resent.body.text).toBe('**Alice Admin** resent the invitation to carol@acme.test, valid until 3 Dec')
    expect(await outboxCount()).toBe(2)

    const edited = await say('edit carol@acme.test --group Members --group Engineering')
    expect(edited.body.text).toBe('**Alice Admin** changed the groups of carol@acme.test to Engineering, Members')
    const groups = await h.deps
      .db('user_groups')
      .join('groups', 'groups.id', 'user_groups.group_id')
      .join('users', 'users.id', 'user_groups.user_id')
      .where('users.email', 'carol@acme.test')
      .orderBy('groups.name')
      .pluck<string[]>('groups.name')
    expect(groups).toEqual(['Engineering', 'Members'])

    const shown = await say('show carol@acme.test')
    const card = cardOf(shown)
    expect(card.version).toBe('1.5')
    expect(cardText(card)).toContain('Invited · expires in 7 days')
    expect(submits(card).map((a) => a.title)).toEqual(['Resend invitation', 'Copy invitation link', 'Edit groups', 'Remove user…'])

    const groupList = await say('groups')
    expect(groupList.body.text).toContain('**Engineering**')

    const audit = await say('audit carol@acme.test')
    expect(audit.body.text).toContain('admin@acme.test')
    expect(audit.body.text).toContain('invitation.add carol@acme.test')

    const list = cardOf(await say('list'))
    expect(cardText(row(list, 'carol@acme.test'))).toContain('Invited · expires in 7 days')

    // regenerate on a valid link is refused with the right action named; nothing changes.
    const before = await outboxCount()
    const early = await say('regenerate carol@acme.test')
    expect(early.body.text).toContain('still valid until 3 Dec')
    expect(early.body.text).toContain('/invite resend carol@acme.test')
    expect(await outboxCount()).toBe(before)

    h.deps.clock.advance(8 * DAY)
    const regenerated = await say('new <mailto:carol@acme.test|carol@acme.test>')
    expect(regenerated.body.text).toBe('**Alice Admin** sent a new invitation to carol@acme.test, valid until 11 Dec')
    expect(await outboxCount()).toBe(before + 1)
    const states = await h.deps.db('invitations').orderBy('created_at').pluck<string[]>('state')
    expect(states).toEqual(['replaced', 'pending'])

    // remove asks with a second card; asking is not removing.
    const prompt = cardOf(await say('remove carol@acme.test'))
    expect(submits(prompt).map((a) => a.title)).toEqual(['Remove', 'Cancel'])
    expect(submits(prompt)[0]?.data).toMatchObject({ inviteops: 'remove.confirmed', origin: { kind: 'reply' } })
    expect(await userRow('carol@acme.test')).toEqual({ status: 'invited' })

    // Every step was audited as the Teams identity.
    const actors = await h.deps.db('audit_log').where({ actor_platform: 'teams' }).distinct<{ actor_platform_id: string; actor_email: string }[]>('actor_platform_id', 'actor_email')
    expect(actors).toEqual([{ actor_platform_id: ALICE.aadObjectId, actor_email: 'admin@acme.test' }])
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('/invite notices', () => {
  it('here stores this channel and its conversation reference (for posting unprompted); off stops it; without a word says where they go', async () => {
    const set = await say('notices here')
    expect(set.body.text).toContain('**Alice Admin** made')
    const stored = await h.deps.db('notice_destinations').where({ account_id: h.seed.account.id, platform: 'teams' }).first<{ conversation_id: string; reference: Record<string, unknown>; set_by: string }>()
    // The channel itself, not the thread the command was typed in.
    const channelId = CHANNEL_CONVERSATION.replace(/;messageid=\d+$/, '')
    expect(stored?.conversation_id).toBe(channelId)
    expect(stored?.set_by).toBe('admin@acme.test')
    expect(stored?.reference).toMatchObject({ channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/amer/', conversation: { id: channelId }, bot: { id: BOT.id } })

    const shown = await say('notices')
    expect(shown.body.text).toContain('Microsoft Teams')

    const off = await say('notices off')
    expect(off.body.text).toContain('turned InviteOps notices off in Teams')
    expect(await h.deps.db('notice_destinations').where({ account_id: h.seed.account.id, platform: 'teams' }).first()).toBeUndefined()
    const audited = await h.deps.db('audit_log').where('action', 'like', 'notices.%').select('action', 'ok')
    expect(audited).toEqual(expect.arrayContaining([{ action: 'notices.destination.set', ok: true }, { action: 'notices.destination.show', ok: true }, { action: 'notices.destination.clear', ok: true }]))
  })

  it('a non-administrator is refused and nothing is stored', async () => {
    const sent: Sent[] = []
    mockMember(TEAM_ID, { email: 'mallory@acme.test' })
    mockReplies(sent, CHANNEL_CONVERSATION)
    await post(h.base, channelText('notices here'))
    expect(sent[0]?.body.text).toContain('Only an active administrator')
    expect(await h.deps.db('notice_destinations').where({ platform: 'teams' }).first()).toBeUndefined()
  })
})

describe("dates in the reader's time zone", () => {
  it("a card shows dates and times in the zone the sender's Teams client gives (clientInfo), naming it", async () => {
    // 26 Nov 23:30 UTC is already 27 Nov in Tokyo.
    h.deps.clock.set(new Date('2026-11-26T23:30:00Z'))
    await inviteUser(h.deps, h.seed, 'carol@acme.test')
    const inTokyo = channelText('show carol@acme.test')
    inTokyo.entities = [{ type: 'clientInfo', locale: 'ja-JP', timezone: 'Asia/Tokyo' }]
    const card = cardOf(await say('show carol@acme.test', inTokyo))
    expect(cardText(card)).toContain('27 Nov, 08:30 Asia/Tokyo')
    const inUtc = channelText('show carol@acme.test')
    inUtc.entities = [{ type: 'clientInfo', timezone: 'Not/A_Zone' }]
    delete inUtc.localTimezone
    expect(cardText(cardOf(await say('show carol@acme.test', inUtc)))).toContain('26 Nov, 23:30 UTC')
  })
})

describe('link: never where others can read it', () => {
  it('asked in a channel: the link goes to a new 1:1 chat, the channel is told without it', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const created: unknown[] = []
    const privately: Sent[] = []
    const chat = mockPrivateChat(created, privately)
    const inChannel = await say('link bob@acme.test')

    expect(chat.isDone()).toBe(true)
    expect(created[0]).toMatchObject({ isGroup: false, bot: { id: BOT.id }, members: [{ id: ALICE.id }], tenantId: TENANT, channelData: { tenant: { id: TENANT } } })
    expect(privately[0]?.path).toBe(PRIVATE_CONVERSATION)
    expect(privately[0]?.body.text).toMatch(/http:\/\/invite\.test\/invitations\/[A-Za-z0-9_-]{20,}/)
    expect(inChannel.body.text).toContain('private chat')
    expect(JSON.stringify(inChannel.body)).not.toContain('/invitations/')
    // No email is sent by copying a link.
    expect(await outboxCount()).toBe(1)
  })

  it('asked in a personal chat: answered there', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const sent: Sent[] = []
    const member = mockMember(PERSONAL_CONVERSATION)
    const reply = mockReplies(sent, PERSONAL_CONVERSATION)
    const res = await post(h.base, personalText('link bob@acme.test'))
    expect(res.status).toBe(200)
    expect(member.isDone()).toBe(true)
    expect(reply.isDone()).toBe(true)
    expect(sent[0]?.body.text).toMatch(/http:\/\/invite\.test\/invitations\/[A-Za-z0-9_-]{20,}/)
  })
})

describe('who may act', () => {
  it('an unlinked tenant is told how to link it; nothing changes and no member is looked up', async () => {
    const other = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
    const activity = channelText('list', { channelData: { tenant: { id: other }, team: { id: TEAM_ID } }, conversation: { id: CHANNEL_CONVERSATION, conversationType: 'channel', tenantId: other } })
    const sent: Sent[] = []
    const reply = mockReplies(sent, CHANNEL_CONVERSATION)
    const before = await snapshotCounts(h.deps)
    await post(h.base, activity)
    expect(reply.isDone()).toBe(true)
    expect(sent[0]?.body.text).toContain(`npx inviteops teams connect --tenant ${other} --account <name>`)
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('a member who is not an administrator is refused, audited, and nothing changes', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const sent: Sent[] = []
    const mallory = { id: '29:mallory', name: 'Mallory', aadObjectId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' }
    mockMember(TEAM_ID, { ...mallory, email: 'mallory@acme.test' }, mallory.id)
    mockReplies(sent, CHANNEL_CONVERSATION)
    const before = await snapshotCounts(h.deps)
    await post(h.base, channelText('regenerate bob@acme.test', { from: mallory }))
    expect(sent[0]?.body.text).toContain('Only an active administrator')
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    const audit = await h.deps.db('audit_log').orderBy('at', 'desc').first<{ actor_platform: string; actor_platform_id: string; actor_email: string; ok: boolean; result_code: string }>()
    expect(audit).toMatchObject({ actor_platform: 'teams', actor_platform_id: mallory.aadObjectId, actor_email: 'mallory@acme.test', ok: false, result_code: 'auth.not_admin' })
    expect(nock.pendingMocks()).toEqual([])
  })

  it.each([
    ['a failed member lookup', null, 'could not check who you are'],
    ['a guest with the admin email', { userRole: 'guest' }, 'Guests'],
    ['a member of another tenant', { tenantId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }, 'Only members of the organisation'],
    ['a member whose lookup names no tenant', { tenantId: undefined }, 'Only members of the organisation'],
    ['a member without an email', { email: null, userPrincipalName: 'bob_x.com#EXT#@acme.onmicrosoft.com' }, 'does not show me an email'],
  ])('%s: refused with a clear message, audited with no email, nothing changes', async (_name, member, words) => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const sent: Sent[] = []
    const lookup = member === null ? mockMemberNotFound(TEAM_ID) : mockMember(TEAM_ID, member)
    mockReplies(sent, CHANNEL_CONVERSATION)
    const before = await snapshotCounts(h.deps)
    await post(h.base, channelText('regenerate bob@acme.test'))
    expect(lookup.isDone()).toBe(true)
    expect(sent[0]?.body.text).toContain(words)
    expect(sent[0]?.body.text).toContain('Only an active administrator')
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    const audit = await h.deps.db('audit_log').orderBy('at', 'desc').first<{ actor_email: string | null; result_code: string }>()
    expect(audit).toMatchObject({ actor_email: null, result_code: 'auth.not_admin' })
  })
})

describe('delivery', () => {
  it('the same activity delivered twice runs once', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const activity = channelText('regenerate bob@acme.test')
    const first = await say('regenerate bob@acme.test', activity)
    expect(first.body.text).toContain('sent a new invitation')
    const after = await snapshotCounts(h.deps)

    // The same id again: acknowledged, no member lookup, no reply, no change.
    const res = await post(h.base, activity)
    expect(res.status).toBe(200)
    expect(await snapshotCounts(h.deps)).toEqual(after)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('the same activity reaching another replica runs once (resend: one email)', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    // A second replica: its own router and HTTP server, the same database.
    const other = await serveRouter(h.deps.db, createTeamsRouter(h.deps, UNAUTHENTICATED))
    try {
      const activity = channelText('resend bob@acme.test')
      const first = await say('resend bob@acme.test', activity)
      expect(first.body.text).toContain('resent the invitation')
      const after = await snapshotCounts(h.deps)
      // The copy reaches the other replica: no member lookup, no reply, no second email.
      const res = await post(other.base, activity)
      expect(res.status).toBe(200)
      await other.close()
      expect(await snapshotCounts(h.deps)).toEqual(after)
      expect(nock.pendingMocks()).toEqual([])
    } finally {
      await other.close().catch(() => {})
    }
  })

  it('malformed JSON gets 400 and nothing runs', async () => {
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, '{"type":"message","text":"<at>InviteOps</at> list",')
    expect(res.status).toBe(400)
    expect(res.text).toContain('not valid JSON')
    expect(res.text).not.toMatch(/at .*:\d+:\d+/)
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('a body over the limit gets 413; a JSON array or an activity without a type gets 400', async () => {
    const big = await post(h.base, { ...channelText('help'), text: 'x'.repeat(300_000) })
    expect(big.status).toBe(413)
    expect((await post(h.base, '[1,2,3]')).status).toBe(400)
    expect((await post(h.base, { id: '1', text: 'list' })).status).toBe(400)
    expect((await post(h.base, { type: '', id: '1' })).status).toBe(400)
  })

  it('an activity missing what we need (no from) is acknowledged and does nothing', async () => {
    const broken: Record<string, unknown> = { ...channelText('list') }
    delete broken.from
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, broken)
    expect(res.status).toBeLessThan(500)
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a conversationUpdate (the bot added to a team) is acknowledged and does nothing', async () => {
    const res = await post(h.base, { ...channelText(''), type: 'conversationUpdate', membersAdded: [{ id: BOT.id }] })
    expect(res.status).toBe(200)
  })
})

describe('outages', () => {
  it('a database outage is logged and the user told once, without a stack trace', async () => {
    const { default: knexFactory } = await import('knex')
    const errors: unknown[] = []
    const logger = { ...silentLogger, error: (o: unknown) => void errors.push(o), child: () => logger }
    const quiet = () => {}
    const down = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', acquireConnectionTimeout: 2000, pool: { min: 0, max: 1 }, log: { warn: quiet, error: quiet, deprecate: quiet, debug: quiet } })
    const router = createTeamsRouter({ ...h.deps, db: down, logger }, UNAUTHENTICATED)
    const { app } = createHttpApp({ db: down, logger: silentLogger, mounts: [{ path: '/', router }] })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const sent: Sent[] = []
    const reply = mockReplies(sent, CHANNEL_CONVERSATION)
    try {
      const res = await post(`http://127.0.0.1:${(server.address() as { port: number }).port}`, channelText('list'))
      expect(res.status).toBe(200)
      await router.idle()
      expect(reply.isDone()).toBe(true)
      expect(errors).toHaveLength(1)
      expect(sent).toHaveLength(1)
      expect(sent[0]?.body.text).toContain('Something went wrong on our side')
      expect(sent[0]?.body.text).not.toMatch(/at .*:\d+:\d+/)
    } finally {
      await new Promise((r) => server.close(r))
      await down.destroy()
    }
  })
})
