/**
 * `/invite …` through the real route: signed slash command fixtures, the real core on a real
 * database, Slack's Web API and response_url played by nock (asserted with isDone()).
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { createSlackRouter } from '../../adapters/slack/router.ts'
import { DAY, inviteUser } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import {
  ALICE,
  API_URL,
  BOT_TOKEN,
  SIGNING_SECRET,
  CHANNEL,
  TEAM,
  fixture,
  formBody,
  mockPostMessage,
  mockResponseUrl,
  mockUsersInfo,
  postSigned,
  slashCommand,
  snapshotCounts,
  useSlackRouteTests,
  type Harness,
} from './support.ts'

const RESPONSE_URL = fixture<Record<string, string>>('slash-command.json').response_url as string

let h: Harness

useSlackRouteTests({ onHarness: (x) => (h = x) })

async function outboxCount(): Promise<number> {
  const [row] = await h.deps.db('email_outbox').count<{ n: string }[]>({ n: '*' })
  return Number(row?.n)
}

/** Runs one slash command and waits for the work the ack started. */
async function run(text: string, overrides: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const res = await postSigned(h.base, formBody(slashCommand(text, overrides)), { headers })
  await h.router.idle()
  return res
}

describe('/invite notices', () => {
  let trigger = 0
  /** Each command its own trigger_id (the same one twice is a redelivery, run once). */
  const notices = (text: string, overrides: Record<string, string> = {}) => run(text, { trigger_id: `13345224609.738474920.notices${++trigger}`, ...overrides })
  const destinations = () => h.deps.db('notice_destinations').where({ account_id: h.seed.account.id }).select('platform', 'conversation_id', 'conversation_name', 'set_by')

  it('here makes this channel the Slack destination (confirmed there, audited); off stops it; without a word says where they go', async () => {
    const posted: Record<string, unknown>[] = []
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockPostMessage(posted)
    await notices('notices here', { channel_name: 'ops' })
    expect(posted[0]?.channel).toBe(CHANNEL)
    expect(posted[0]?.text).toContain(`<@${ALICE}> made <#${CHANNEL}> the channel for InviteOps notices`)
    const row = await h.deps.db('notice_destinations').where({ account_id: h.seed.account.id }).first<{ platform: string; conversation_id: string; conversation_name: string | null; reference: unknown; set_by: string }>()
    expect(row).toMatchObject({ platform: 'slack', conversation_id: CHANNEL, conversation_name: 'ops', reference: { teamId: TEAM, enterpriseId: null }, set_by: 'admin@acme.test' })

    mockUsersInfo(ALICE)
    mockResponseUrl(RESPONSE_URL, replies)
    await notices('notices')
    expect(String(replies[0]?.text)).toContain(`Slack: <#${CHANNEL}>`)
    expect(replies[0]?.response_type).toBe('ephemeral')

    mockUsersInfo(ALICE)
    mockPostMessage(posted)
    await notices('notices off')
    expect(posted[1]?.text).toContain('turned InviteOps notices off in Slack')
    expect(await destinations()).toEqual([])
    const audited = await h.deps.db('audit_log').where({ account_id: h.seed.account.id }).where('action', 'like', 'notices.%').select('action', 'ok')
    expect(audited).toEqual(expect.arrayContaining([{ action: 'notices.destination.set', ok: true }, { action: 'notices.destination.show', ok: true }, { action: 'notices.destination.clear', ok: true }]))
  })

  it('here in a channel the app is not in: confirmed through response_url, the administrator is told privately to add the app, the destination is kept', async () => {
    for (const error of ['not_in_channel', 'channel_not_found']) {
      const replies: Record<string, unknown>[] = []
      mockUsersInfo(ALICE)
      mockPostMessage([], { ok: false, error })
      mockResponseUrl(RESPONSE_URL, replies, 2)
      await notices('notices here', { channel_name: 'ops' })
      expect(replies[0]).toMatchObject({ response_type: 'in_channel' })
      expect(String(replies[0]?.text)).toContain('the channel for InviteOps notices')
      expect(replies[1]).toMatchObject({ response_type: 'ephemeral' })
      expect(String(replies[1]?.text)).toContain('not in this channel, so its notices cannot arrive here yet')
      // Not `/invite @InviteOps`: where InviteOps owns `/invite`, Slack would run our own command.
      expect(String(replies[1]?.text)).toContain('mention @InviteOps in this channel (Slack offers to add it)')
      expect(String(replies[1]?.text)).not.toContain('/invite')
      expect(await destinations()).toEqual([{ platform: 'slack', conversation_id: CHANNEL, conversation_name: 'ops', set_by: 'admin@acme.test' }])
    }
  })

  it('here where Slack refuses the post for another reason says nothing about adding the app', async () => {
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockPostMessage([], { ok: false, error: 'is_archived' })
    mockResponseUrl(RESPONSE_URL, replies, 2) // room for a second answer, which must not come
    await notices('notices here')
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ response_type: 'in_channel' })
  })

  it('a non-administrator is refused privately and nothing changes; a bad word is a usage message', async () => {
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE, {}, { email: 'mallory@acme.test' })
    mockResponseUrl(RESPONSE_URL, replies, 2)
    const before = await destinations()
    await notices('notices here', { channel_id: 'C0ELSEWHERE' })
    expect(String(replies[0]?.text)).toContain('Only an active administrator')
    expect(await destinations()).toEqual(before)
    mockUsersInfo(ALICE)
    await notices('notices everywhere')
    expect(JSON.stringify(replies[1])).toContain('/invite notices [here|off]')
    expect(await destinations()).toEqual(before)
  })
})

describe("dates in the reader's time zone", () => {
  it("a card shows dates and times in the member's own zone (users.info tz), naming it", async () => {
    // 26 Nov 23:30 UTC is already 27 Nov in Tokyo.
    h.deps.clock.set(new Date('2026-11-26T23:30:00Z'))
    await inviteUser(h.deps, h.seed, 'carol@acme.test')
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE, { tz: 'Asia/Tokyo' })
    mockResponseUrl(RESPONSE_URL, replies)
    await run('show carol@acme.test')
    expect(JSON.stringify(replies[0]?.blocks)).toContain('27 Nov, 08:30 Asia/Tokyo')
  })
})

describe('/invite regenerate', () => {
  it('acknowledges at once, regenerates, confirms in the channel, emails once', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Builder' })
    h.deps.clock.advance(8 * DAY) // the link expired a day ago
    const posted: Record<string, unknown>[] = []
    const users = mockUsersInfo(ALICE)
    const chat = mockPostMessage(posted)
    const before = await outboxCount()

    const res = await run('regenerate <mailto:bob@acme.test|bob@acme.test>')
    expect(res.status).toBe(200)
    expect(res.text).toBe('') // an empty ack: the answer comes through response_url / the channel

    expect(users.isDone()).toBe(true)
    expect(chat.isDone()).toBe(true)
    expect(posted[0]?.channel).toBe(CHANNEL)
    expect(posted[0]?.text).toBe(`<@${ALICE}> sent a new invitation to bob@acme.test, valid until 11 Dec`)
    expect(await outboxCount()).toBe(before + 1)
  })

  it('a Slack retry (X-Slack-Retry-Num) or a duplicate delivery does not run the command twice', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posted: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockPostMessage(posted)
    await run('regenerate bob@acme.test')
    const after = await snapshotCounts(h.deps)

    // Same trigger_id, as Slack would retry it; then the same body again without the header.
    const retry = await run('regenerate bob@acme.test', {}, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })
    const duplicate = await run('regenerate bob@acme.test')
    expect(retry.status).toBe(200)
    expect(duplicate.status).toBe(200)
    expect(await snapshotCounts(h.deps)).toEqual(after)
    expect(posted).toHaveLength(1)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a redelivery that reaches another replica does not run twice (resend: one email)', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    // A second replica: its own router and HTTP server, the same database.
    const router = createSlackRouter(h.deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { clientOptions: { retryConfig: { retries: 0 } } })
    const other = await serveRouter(h.deps.db, router)
    try {
      const body = formBody(slashCommand('resend bob@acme.test', { trigger_id: 'trigger-replicas' }))
      const posted: Record<string, unknown>[] = []
      // Slack is ready to answer both replicas: the second one must not even ask.
      mockUsersInfo(ALICE)
      mockUsersInfo(ALICE)
      mockPostMessage(posted)
      mockPostMessage(posted)
      const before = await outboxCount()
      expect((await postSigned(h.base, body)).status).toBe(200)
      await h.router.idle()
      expect((await postSigned(other.base, body)).status).toBe(200)
      await router.idle()
      expect(await outboxCount()).toBe(before + 1)
      expect(posted).toHaveLength(1)
      expect(nock.pendingMocks().filter((m) => m.includes('users.info'))).toHaveLength(1)
      const invitation = await h.deps.db('invitations').where({ state: 'pending' }).first<{ sent_count: number }>('sent_count')
      expect(invitation?.sent_count).toBe(2)
    } finally {
      await other.close()
    }
  })

  it('on a valid invitation says until when it is valid and to use resend (ephemeral, nothing changes)', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    const hook = mockResponseUrl(RESPONSE_URL, replies)
    const before = await outboxCount()
    await run('regenerate bob@acme.test')
    expect(hook.isDone()).toBe(true)
    expect(replies[0]?.response_type).toBe('ephemeral')
    expect(String(replies[0]?.text)).toContain('still valid until 3 Dec')
    expect(String(replies[0]?.text)).toContain('/invite resend bob@acme.test')
    expect(await outboxCount()).toBe(before)
  })
})

describe('command text is decoded once, at the edge', () => {
  it('a <mailto:…|…> someone typed (Slack sends it as &lt;…&gt;) is text, not a link: refused, nothing changes', async () => {
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    const hook = mockResponseUrl(RESPONSE_URL, replies)
    const before = await snapshotCounts(h.deps)
    await run('add &lt;mailto:a@x.test|b@y.test&gt; --name "A B"')
    expect(hook.isDone()).toBe(true)
    expect(replies[0]?.response_type).toBe('ephemeral')
    expect(JSON.stringify(replies[0])).toContain('must be a single address')
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(await h.deps.db('users').whereIn('email', ['a@x.test', 'b@y.test'])).toEqual([])
  })
})

describe('every command of the grammar', () => {
  it('help and malformed input answer privately with usage', async () => {
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(RESPONSE_URL, replies, 3)
    await run('help', { trigger_id: 'trigger-help' })
    await run('frobnicate everything', { trigger_id: 'trigger-unknown' })
    await run('add not-an-email', { trigger_id: 'trigger-bad-email' })
    expect(replies).toHaveLength(3)
    for (const r of replies) expect(r.response_type).toBe('ephemeral')
    expect(JSON.stringify(replies[0])).toContain('/invite regenerate')
    expect(JSON.stringify(replies[1])).toContain('Usage')
    expect(JSON.stringify(replies[2])).toContain('Usage')
    expect(nock.isDone()).toBe(true)
  })

  it('add, resend, link, edit, show, groups, audit, list, remove', async () => {
    const replies: Record<string, unknown>[] = []
    const posted: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(RESPONSE_URL, replies, 6)
    for (let i = 0; i < 3; i++) mockPostMessage(posted)
    let trigger = 0
    const step = (text: string) => run(text, { trigger_id: `trigger-${++trigger}` })

    await step('add carol@acme.test --name "Carol Jones" --group Engineering')
    expect(posted.at(-1)?.text).toBe(`<@${ALICE}> invited carol@acme.test (Carol Jones; Engineering), valid until 3 Dec`)

    await step('resend carol@acme.test')
    expect(posted.at(-1)?.text).toBe(`<@${ALICE}> resent the invitation to carol@acme.test, valid until 3 Dec`)

    await step('link carol@acme.test')
    const link = replies.at(-1)
    expect(link?.response_type).toBe('ephemeral')
    expect(JSON.stringify(link)).toMatch(/http:\/\/invite\.test\/invitations\/[A-Za-z0-9_-]{20,}/)
    // The link never went to the channel.
    expect(JSON.stringify(posted)).not.toContain('/invitations/')

    await step('edit carol@acme.test --group Members --group Engineering')
    expect(posted.at(-1)?.text).toBe(`<@${ALICE}> changed the groups of carol@acme.test to Engineering, Members`)

    await step('show carol@acme.test')
    expect(JSON.stringify(replies.at(-1))).toContain('Invited · expires in 7 days')

    await step('groups')
    expect(JSON.stringify(replies.at(-1))).toContain('Engineering')

    await step('audit carol@acme.test')
    expect(JSON.stringify(replies.at(-1))).toContain('admin@acme.test')

    await step('list')
    const list = replies.at(-1) as { blocks: { type: string; accessory?: { type: string } }[] }
    expect(list.blocks.some((b) => b.accessory?.type === 'overflow')).toBe(true)

    await step('remove carol@acme.test')
    const prompt = replies.at(-1)
    expect(JSON.stringify(prompt)).toContain('"confirm"')
    expect(prompt?.response_type).toBe('ephemeral')
    // Asking is not removing.
    const carol = await h.deps.db('users').where({ email: 'carol@acme.test' }).first<{ status: string }>('status')
    expect(carol?.status).toBe('invited')

    expect(replies.every((r) => r.response_type === 'ephemeral')).toBe(true)
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('who may act', () => {
  it('an unlinked workspace is told how to link it', async () => {
    const replies: Record<string, unknown>[] = []
    const hook = mockResponseUrl(RESPONSE_URL, replies)
    const before = await snapshotCounts(h.deps)
    await run('list', { team_id: 'T0UNLINKED' })
    expect(hook.isDone()).toBe(true)
    expect(String(replies[0]?.text)).toContain('inviteops slack connect --team T0UNLINKED --account')
    expect(await snapshotCounts(h.deps)).toEqual({ ...before })
  })

  it('a member who is not an administrator is refused, audited, and nothing changes', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const replies: Record<string, unknown>[] = []
    mockUsersInfo('U0MALLORY', {}, { email: 'mallory@acme.test' })
    mockResponseUrl(RESPONSE_URL, replies)
    const before = await snapshotCounts(h.deps)
    await run('regenerate bob@acme.test', { user_id: 'U0MALLORY', user_name: 'mallory' })
    expect(String(replies[0]?.text)).toContain('Only an active administrator')
    const after = await snapshotCounts(h.deps)
    expect(after).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    const audit = await h.deps.db('audit_log').orderBy('id', 'desc').first<{ actor_platform: string; actor_platform_id: string; actor_email: string; ok: boolean; result_code: string }>()
    expect(audit).toMatchObject({ actor_platform: 'slack', actor_platform_id: 'U0MALLORY', actor_email: 'mallory@acme.test', ok: false, result_code: 'auth.not_admin' })
  })

  it.each([
    ['a guest', { is_restricted: true }, {}, 'Guests'],
    ['a single-channel guest', { is_ultra_restricted: true }, {}, 'Guests'],
    ['a deactivated member', { deleted: true }, {}, 'deactivated'],
    ['a bot', { is_bot: true }, {}, 'Bots'],
    ['a stranger from another workspace', { is_stranger: true }, {}, 'Only members'],
    ['a member of another team', { team_id: 'T0OTHER' }, {}, 'Only members'],
    ['a member without an email', {}, { email: undefined }, 'cannot see the email'],
    ['an unconfirmed email', { is_email_confirmed: false }, {}, 'not confirmed'],
  ])('%s with an admin email is refused and audited', async (_name, user, profile, words) => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    h.deps.clock.advance(8 * DAY)
    const replies: Record<string, unknown>[] = []
    // Even with the admin's email on the profile, Slack does not vouch for this person.
    mockUsersInfo(ALICE, user, profile)
    mockResponseUrl(RESPONSE_URL, replies)
    const before = await snapshotCounts(h.deps)
    await run('regenerate bob@acme.test')
    expect(String(replies[0]?.text)).toContain(words)
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    const audit = await h.deps.db('audit_log').orderBy('id', 'desc').first<{ actor_email: string | null; result_code: string }>()
    expect(audit).toMatchObject({ actor_email: null, result_code: 'auth.not_admin' })
  })
})

describe('malformed slash commands', () => {
  it('a body missing user_id gets a clear 400 and changes nothing', async () => {
    const fields = slashCommand('list')
    delete fields.user_id
    const before = await snapshotCounts(h.deps)
    const res = await postSigned(h.base, formBody(fields))
    expect(res.status).toBe(400)
    expect(res.text).toContain('user_id')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('another slash command pointed at us is answered, not run', async () => {
    const res = await run('list', { command: '/invites' })
    expect(res.status).toBe(200)
    expect(res.text).toContain('only answers `/invite`')
  })

  it('10 kB of text is refused with usage, not a stack trace', async () => {
    const replies: Record<string, unknown>[] = []
    mockUsersInfo(ALICE)
    mockResponseUrl(RESPONSE_URL, replies)
    const res = await run(`add ${'x'.repeat(3900)}`)
    expect(res.status).toBe(200)
    expect(replies[0]?.response_type).toBe('ephemeral')
    expect(JSON.stringify(replies[0])).not.toMatch(/at .*\.ts:\d+/)
  })
})

describe('outages', () => {
  it('a database outage after the ack is logged and the administrator told; the ack was already 200', async () => {
    const { default: knexFactory } = await import('knex')
    const { createSlackRouter } = await import('../../adapters/slack/router.ts')
    const { createHttpApp } = await import('../../src/server/http.ts')
    const { silentLogger } = await import('../../src/ports/logger.ts')
    const errors: unknown[] = []
    const logger = { ...silentLogger, error: (o: unknown) => void errors.push(o), child: () => logger }
    // knex's own console log is silenced: the refused connection is the point of the test.
    const quiet = () => {}
    const down = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', acquireConnectionTimeout: 2000, pool: { min: 0, max: 1 }, log: { warn: quiet, error: quiet, deprecate: quiet, debug: quiet } })
    const router = createSlackRouter({ ...h.deps, db: down, logger }, { signingSecret: 'test-signing-secret-0123456789abcdef', botToken: 'xoxb-x', apiUrl: 'https://slack-api.test/api/' }, { clientOptions: { retryConfig: { retries: 0 } } })
    const { app } = createHttpApp({ db: down, logger: silentLogger, mounts: [{ path: '/', router }] })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(RESPONSE_URL, replies)
    try {
      const res = await postSigned(`http://127.0.0.1:${(server.address() as { port: number }).port}`, formBody(slashCommand('list')))
      expect(res.status).toBe(200)
      await router.idle()
      expect(errors).toHaveLength(1)
      expect(String(replies[0]?.text)).toContain('Something went wrong on our side')
      expect(replies[0]?.response_type).toBe('ephemeral')
    } finally {
      await new Promise((r) => server.close(r))
      await down.destroy()
    }
  })
})

void TEAM
