/**
 * Socket Mode (`SLACK_APP_TOKEN`) through the real Slack edge: the WebSocket is a local stand-in
 * speaking Slack's protocol (test/support/slack-socket-server.ts: `hello`, envelopes, acks by
 * `envelope_id`, `disconnect`, dropped links), the Web API and response_urls are nock, the core
 * runs on a real database. No signing secret, no public URL.
 */
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSlackEdge, type SlackEdge } from '../../adapters/slack/router.ts'
import { createSlackSocket, type SlackSocket } from '../../adapters/slack/socket.ts'
import type { SlackConfig } from '../../adapters/slack/config.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { signInstallLink } from '../../src/installations/install-link.ts'
import type { Logger } from '../../src/ports/logger.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { startSlackSocketStandIn, type SlackSocketStandIn, type SocketLink } from '../support/slack-socket-server.ts'
import { DISTRIBUTION_CONFIG, installThroughSlack, type SlackSideInstall } from './oauth-support.ts'
import { ADMIN_EMAIL, ALICE, API_ORIGIN, API_URL, BOT_TOKEN, CHANNEL, HOOKS, TEAM, capturePostMessages, fixture, mockPostMessage, mockResponseUrl, mockUsersInfo, slashCommand, snapshotCounts, useSlackRouteTests, type SeenCall } from './support.ts'

const APP_TOKEN = 'xapp-1-A0STANDIN-1-socketmodetest'
const SOCKET_CONFIG: SlackConfig = { signingSecret: null, botToken: BOT_TOKEN, apiUrl: API_URL, appToken: APP_TOKEN }
const COMMAND_URL = fixture<Record<string, string>>('slash-command.json').response_url as string
const ACTION_URL = fixture<{ response_url: string }>('block-actions-button.json').response_url

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let logger: ReturnType<typeof watchedLogger>
let standIn: SlackSocketStandIn
const edges: SlackEdge[] = []
const sockets: SlackSocket[] = []
let trigger = 0

useSlackRouteTests({ onDatabase: (d) => (db = d) })

beforeEach(async () => {
  logger = watchedLogger()
  deps = makeDeps(db.knex, { logger })
  seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: 'Acme' })
  const linked = await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the test workspace')
  standIn = await startSlackSocketStandIn({ appToken: APP_TOKEN })
  standIn.interceptConnectionsOpen(API_ORIGIN)
})

afterEach(async () => {
  for (const e of edges.splice(0)) {
    await e.stop()
    await e.router.idle()
  }
  for (const s of sockets.splice(0)) await s.stop()
  await standIn.close()
})

/** A logger that keeps every line and tells who waits for one: what the socket did, as an event. */
function watchedLogger(): Logger & { lines: string[]; logged(text: string): Promise<void> } {
  const lines: string[] = []
  const waiters: { text: string; resolve: () => void }[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (obj: object | string, msg?: string) => {
      const line = JSON.stringify({ ...bindings, ...(typeof obj === 'string' ? { msg: obj } : obj), ...(msg ? { msg } : {}) })
      lines.push(line)
      for (const w of waiters.filter((x) => line.includes(x.text))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
    return { info: write, warn: write, error: write, debug: write, child: (b) => make({ ...bindings, ...b }) }
  }
  return Object.assign(make({}), {
    lines,
    logged: (text: string) => new Promise<void>((resolve) => waiters.push({ text, resolve })),
  })
}

/** A Slack edge in Socket Mode, as `inviteops serve` builds it, not started yet. */
function socketEdge(): SlackEdge {
  const edge = createSlackEdge(deps, SOCKET_CONFIG, { clientOptions: { retryConfig: { retries: 0 } } })
  edges.push(edge)
  return edge
}

/** The socket alone, for the connection's own behaviour (shorter waits than a server's). */
function bareSocket(opts: { helloTimeoutMs?: number } = {}): SlackSocket {
  const socket = createSlackSocket({ appToken: APP_TOKEN, apiUrl: API_URL, logger, clientOptions: { retryConfig: { retries: 0 } }, retryMinMs: 50, ...opts })
  sockets.push(socket)
  return socket
}

async function readiness(checks: { name: string; check(): Promise<{ ok: boolean; reason?: string; detail?: string }> }[]) {
  const check = checks.find((c) => c.name === 'slack_socket')
  if (!check) throw new Error('no slack_socket readiness check')
  return check.check()
}

/**
 * An events_api envelope nobody listens to, acknowledged by Bolt on its own: once its ack is
 * back, the client has read everything sent before it on the link (the `hello` included).
 */
async function settled(link: SocketLink): Promise<void> {
  await link.deliver('events_api', { token: 'x', team_id: TEAM, api_app_id: 'A0STANDIN', type: 'event_callback', event_id: `Ev${++trigger}`, event_time: 1732615200, event: { type: 'app_home_opened', user: ALICE, channel: 'D0APPHOME', tab: 'home' } })
}

/** `/invite <text>` as Slack sends it over Socket Mode. */
function command(text: string, overrides: Record<string, string> = {}): Record<string, string> {
  return slashCommand(text, { trigger_id: `socket-trigger-${++trigger}`, ...overrides })
}

/** users.info for Alice, answering only to the bot token. */
function usersInfo(): nock.Scope {
  const member = fixture<{ ok: true; user: Record<string, unknown> }>('users-info-member.json')
  return nock(API_ORIGIN)
    .post('/api/users.info', (b: Record<string, string>) => b.user === ALICE)
    .matchHeader('authorization', `Bearer ${BOT_TOKEN}`)
    .reply(200, { ...member, user: { ...member.user, id: ALICE } })
}

describe('connecting', () => {
  it('opens the socket with the app token; /readyz is 503 until hello, 200 after', async () => {
    standIn.holdHello(true)
    const edge = socketEdge()
    const started = edge.start()
    const link = await standIn.nextLink()
    expect(await readiness(edge.readiness)).toMatchObject({ ok: false, reason: 'slack_socket_connecting' })
    link.hello()
    await started
    await settled(link)
    expect(await readiness(edge.readiness)).toEqual({ ok: true })
    expect(standIn.opens).toBe(1)
  })

  it('a wrong app token: start still returns, /readyz says closed, the log says what to check', async () => {
    const socket = createSlackSocket({ appToken: 'xapp-1-wrong', apiUrl: API_URL, logger, clientOptions: { retryConfig: { retries: 0 } }, retryMinMs: 60_000 })
    sockets.push(socket)
    const refused = logger.logged('Slack refused to open a Socket Mode connection')
    await socket.start()
    await refused
    expect(await socket.readiness.check()).toMatchObject({ ok: false, reason: 'slack_socket_closed', detail: expect.stringContaining('invalid_auth') })
    expect(logger.lines.join('\n')).toContain('check SLACK_APP_TOKEN')
    expect(standIn.opens).toBe(0)
  })

  it('a first connection that fails is retried until it opens', async () => {
    standIn.failOpens(1, { status: 503 })
    standIn.refuseUpgrades(1)
    const socket = bareSocket()
    const failed = logger.logged('could not open the Socket Mode connection')
    const open = logger.logged('Socket Mode connection open again')
    await socket.start()
    await failed
    expect(await socket.readiness.check()).toMatchObject({ ok: false, detail: expect.stringContaining('503') })
    await open
    expect(await socket.readiness.check()).toEqual({ ok: true })
    expect(standIn.opens).toBe(2) // the 503, then a URL whose upgrade was refused, then this one
    expect(standIn.links).toHaveLength(1)
    expect(logger.lines.filter((l) => l.includes('could not open the Socket Mode connection'))).toHaveLength(2)
  })

  it("Slack's pings are answered and leave the link open", async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    await link.ping()
    await link.ping()
    await settled(link)
    expect(link.open).toBe(true)
    expect(await readiness(edge.readiness)).toEqual({ ok: true })
    expect(standIn.opens).toBe(1)
  })

  it('no hello within the deadline: that link is closed and a new one opened', async () => {
    standIn.holdHello(true)
    const socket = bareSocket({ helloTimeoutMs: 200 })
    const started = socket.start()
    const silent = await standIn.nextLink()
    await silent.closed
    standIn.holdHello(false)
    await started
    const next = await standIn.nextLink()
    expect(next.id).not.toBe(silent.id)
    expect(logger.lines.join('\n')).toContain('did not say hello within 200 ms')
  })
})

describe('requests over the socket', () => {
  it('a slash command is acked by envelope_id at once and answered through response_url with the bot token', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    const replies: Record<string, unknown>[] = []
    const posted: Record<string, unknown>[] = []
    usersInfo()
    mockResponseUrl(COMMAND_URL, replies)
    mockPostMessage(posted)
    const env = { envelopeId: 'b1d5c2c0-socket-command', acceptsResponsePayload: true }
    const ack = await link.deliver('slash_commands', command('add carol@acme.test --name "Carol Jones"'), env)
    expect(ack).toEqual({ envelope_id: 'b1d5c2c0-socket-command', payload: {} })
    await edge.router.idle()
    expect(posted[0]?.text).toBe(`<@${ALICE}> invited carol@acme.test (Carol Jones; Members), valid until 3 Dec`)
    expect(await db.knex('users').where({ email: 'carol@acme.test' }).first()).toBeDefined()

    const ack2 = await link.deliver('slash_commands', command('show carol@acme.test'), { acceptsResponsePayload: true })
    expect(ack2.payload).toEqual({})
    await edge.router.idle()
    expect(JSON.stringify(replies[0])).toContain('carol@acme.test')
    expect(replies[0]?.response_type).toBe('ephemeral')
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a command other than ours is refused in the ack itself', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    const ack = await link.deliver('slash_commands', command('list', { command: '/weather' }), { acceptsResponsePayload: true })
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/weather') })
  })

  it('a button click (interactive, block_actions) is acked empty and acts', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    usersInfo()
    const listed: { blocks: { block_id?: string; accessory?: { options?: { text: { text: string }; value: string }[] }; text?: { text: string } }[] }[] = []
    mockResponseUrl(COMMAND_URL, listed)
    mockPostMessage([])
    await link.deliver('slash_commands', command('add dave@acme.test --name "Dave Smith"'), { acceptsResponsePayload: true })
    await edge.router.idle()
    await link.deliver('slash_commands', command('list'), { acceptsResponsePayload: true })
    await edge.router.idle()
    const row = listed[0]?.blocks.find((b) => b.text?.text.includes('dave@acme.test') && b.accessory?.options)
    const copy = row?.accessory?.options?.find((o) => o.text.text === 'Copy invitation link')
    if (!row || !copy) throw new Error(`no list row with a copy option: ${JSON.stringify(listed[0])}`)

    const click = structuredClone(fixture<{ actions: Record<string, unknown>[] }>('block-actions-overflow.json'))
    click.actions[0] = { ...click.actions[0], block_id: row.block_id, selected_option: { text: { type: 'plain_text', text: copy.text.text, emoji: true }, value: copy.value }, action_ts: '1732615290.000100' }
    const updates: Record<string, unknown>[] = []
    mockResponseUrl(fixture<{ response_url: string }>('block-actions-overflow.json').response_url, updates)
    const ack = await link.deliver('interactive', click, { acceptsResponsePayload: false })
    expect(ack).toEqual({ envelope_id: ack.envelope_id, payload: {} })
    await edge.router.idle()
    expect(updates[0]?.response_type).toBe('ephemeral')
    expect(JSON.stringify(updates[0])).toMatch(/invitations\/[A-Za-z0-9_-]{20,}/)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a refused edit form (view_submission): the ack carries response_action errors, nothing changes', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    usersInfo()
    mockPostMessage([])
    await link.deliver('slash_commands', command('add hank@acme.test --name "Hank Hill" --group Members'), { acceptsResponsePayload: true })
    await edge.router.idle()
    const hank = await db.knex('users').where({ email: 'hank@acme.test' }).first<{ id: string }>('id')
    const submission = structuredClone(fixture<{ view: { private_metadata: string; state: { values: Record<string, Record<string, { selected_options: unknown[] }>> } } }>('view-submission-edit.json'))
    submission.view.private_metadata = JSON.stringify({ userId: hank!.id, channelId: CHANNEL, responseUrl: ACTION_URL, list: null })
    submission.view.state.values.groups!.groups!.selected_options = []
    const before = await snapshotCounts(deps)
    const ack = await link.deliver('interactive', submission, { acceptsResponsePayload: true })
    expect(ack.payload).toMatchObject({ response_action: 'errors', errors: { groups: expect.stringContaining('at least one group') } })
    await edge.router.idle()
    expect(await snapshotCounts(deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
  })

  it('malformed messages are dropped without harm; the link keeps working', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    link.sendRaw('not json at all')
    link.sendRaw(JSON.stringify({ type: 'events_api', envelope_id: 'junk-1' }))
    link.sendRaw(JSON.stringify({ type: 'events_api', envelope_id: 'junk-2', payload: null }))
    link.sendRaw(JSON.stringify({ type: 'brand_new_type', envelope_id: 'junk-3', payload: { x: 1 } }))
    const counts = await snapshotCounts(deps)
    const incomplete = await link.deliver('slash_commands', { command: '/invite', text: 'list' }, { acceptsResponsePayload: true })
    expect(incomplete.payload).toMatchObject({ text: expect.stringContaining('incomplete') })
    await settled(link)
    expect(await readiness(edge.readiness)).toEqual({ ok: true })
    expect(await snapshotCounts(deps)).toEqual(counts)
    expect(link.open).toBe(true)
    expect(logger.lines.filter((l) => l.includes('could not be read; dropped'))).toHaveLength(2)
  })
})

describe('distribution over Socket Mode', () => {
  it('install pages over HTTP; each workspace answered over the socket with its own token; app_uninstalled over the socket disables one', async () => {
    const edge = createSlackEdge(deps, { ...DISTRIBUTION_CONFIG, signingSecret: null, appToken: APP_TOKEN }, { clientOptions: { retryConfig: { retries: 0 } } })
    edges.push(edge)
    const served = await serveRouter(db.knex, edge.router)
    try {
      await edge.start()
      const link = await standIn.nextLink()
      const globex = await seedAccount(deps, { name: 'Globex', adminEmail: 'admin@globex.test' })
      const linkFor = (accountId: string) => signInstallLink(deps.config.inviteSecret, { accountId, expiresAt: new Date(deps.clock.now().getTime() + 7 * DAY) })
      const ACME: SlackSideInstall = { teamId: 'T0ACMESOCK', teamName: 'Acme Slack', botToken: 'xoxb-acme-socket-1111', installerId: 'U0ACMEADMN' }
      const GLOBEX: SlackSideInstall = { teamId: 'T0GLOBEXSK', teamName: 'Globex Slack', botToken: 'xoxb-globex-socket-2222', installerId: 'U0GLOBEXAD' }
      const installed = [
        await installThroughSlack(served.base, ACME, { link: linkFor(seed.account.id), installerEmail: ADMIN_EMAIL }),
        await installThroughSlack(served.base, GLOBEX, { link: linkFor(globex.account.id), installerEmail: 'admin@globex.test' }),
      ]
      expect(installed.map((i) => i.page.status)).toEqual([200, 200])

      mockUsersInfo(ACME.installerId, { team_id: ACME.teamId }, { email: ADMIN_EMAIL }, { token: ACME.botToken })
      mockUsersInfo(GLOBEX.installerId, { team_id: GLOBEX.teamId }, { email: 'admin@globex.test' }, { token: GLOBEX.botToken })
      const posts: SeenCall[] = []
      capturePostMessages(posts, 2)
      const add = (team: SlackSideInstall, text: string) =>
        link.deliver('slash_commands', command(text, { team_id: team.teamId!, user_id: team.installerId, channel_id: `C0${team.teamId!.slice(2, 8)}`, response_url: `${HOOKS}/commands/${team.teamId!}/1/socket` }), { acceptsResponsePayload: true })
      await add(ACME, 'add bob@acme.test --name "Bob Smith"')
      await add(GLOBEX, 'add ivy@globex.test --name "Ivy Jones"')
      await edge.router.idle()
      // The two run after their acks, side by side: each post is matched by its channel, not by order.
      const tokenByChannel = Object.fromEntries(posts.map((p) => [p.body.channel, p.authorization]))
      expect(tokenByChannel).toEqual({ [`C0${ACME.teamId!.slice(2, 8)}`]: `Bearer ${ACME.botToken}`, [`C0${GLOBEX.teamId!.slice(2, 8)}`]: `Bearer ${GLOBEX.botToken}` })
      expect(await db.knex('users').whereIn('email', ['bob@acme.test', 'ivy@globex.test']).orderBy('email').select('email', 'account_id')).toEqual([
        { email: 'bob@acme.test', account_id: seed.account.id },
        { email: 'ivy@globex.test', account_id: globex.account.id },
      ])

      // Acme removes the app: the event arrives over the socket too, and the next command there
      // is told how to install again, in the ack, with nothing called at Slack.
      await link.deliver('events_api', {
        token: 'unused',
        team_id: ACME.teamId,
        api_app_id: 'A0INVITEOPS',
        type: 'event_callback',
        event_id: 'Ev0SOCKETUNINSTALL',
        event_time: Math.floor(deps.clock.now().getTime() / 1000) + 60,
        event: { type: 'app_uninstalled' },
        authorizations: [{ enterprise_id: null, team_id: ACME.teamId, user_id: 'U0INVITEBOT', is_bot: true, is_enterprise_install: false }],
      })
      await edge.router.idle()
      const refused = await add(ACME, 'list')
      expect(refused.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('InviteOps was removed from this Slack workspace') })
      expect(nock.pendingMocks()).toEqual([])
    } finally {
      await served.close()
    }
  })
})

describe('replicas', () => {
  it('two servers each hold a socket; an envelope delivered to both runs once', async () => {
    const a = socketEdge()
    const b = socketEdge()
    await a.start()
    const linkA = await standIn.nextLink()
    await b.start()
    const linkB = await standIn.nextLink()
    expect(standIn.links).toHaveLength(2)
    const replies: Record<string, unknown>[] = []
    const posted: Record<string, unknown>[] = []
    usersInfo()
    usersInfo() // offered to the second replica, which must not need it
    mockPostMessage(posted)
    mockPostMessage(posted) // likewise
    mockResponseUrl(COMMAND_URL, replies, 2)
    const payload = command('add erin@acme.test --name "Erin Doe"')
    const [ackA, ackB] = await Promise.all([
      linkA.deliver('slash_commands', payload, { envelopeId: 'same-envelope', acceptsResponsePayload: true }),
      linkB.deliver('slash_commands', payload, { envelopeId: 'same-envelope', acceptsResponsePayload: true }),
    ])
    expect([ackA.envelope_id, ackB.envelope_id]).toEqual(['same-envelope', 'same-envelope'])
    await Promise.all([a.router.idle(), b.router.idle()])
    expect(posted).toHaveLength(1)
    expect(replies).toHaveLength(0)
    const [invitations] = await db.knex('invitations').count<{ n: string }[]>({ n: '*' })
    expect(Number(invitations?.n)).toBe(1)
    expect(logger.lines.join('\n')).toContain('already handled by another replica')
  })
})

describe('reconnecting', () => {
  for (const [how, end] of [
    ['a disconnect message (refresh_requested)', (l: SocketLink) => l.disconnect('refresh_requested')],
    ['a disconnect message (warning)', (l: SocketLink) => l.disconnect('warning')],
    ['a close frame', (l: SocketLink) => l.close(1001)],
    ['a dropped connection', (l: SocketLink) => l.drop()],
  ] as const) {
    it(`after ${how}: a new apps.connections.open, a new link, /readyz 200 again, commands work`, async () => {
      const edge = socketEdge()
      await edge.start()
      const first = await standIn.nextLink()
      await settled(first)
      end(first)
      await first.closed
      const second = await standIn.nextLink()
      expect(standIn.opens).toBe(2)
      await settled(second)
      expect(await readiness(edge.readiness)).toEqual({ ok: true })
      const replies: Record<string, unknown>[] = []
      usersInfo()
      mockResponseUrl(COMMAND_URL, replies)
      await second.deliver('slash_commands', command('groups'), { acceptsResponsePayload: true })
      await edge.router.idle()
      expect(replies).toHaveLength(1)
    })
  }

  it('Slack refusing the token at a reconnect is logged and retried, never an unhandled rejection', async () => {
    const socket = bareSocket()
    await socket.start()
    const first = await standIn.nextLink()
    standIn.failOpens(1, { error: 'invalid_auth' })
    first.drop()
    const second = await standIn.nextLink()
    expect(standIn.opens).toBe(2)
    expect(second.open).toBe(true)
    expect(logger.lines.join('\n')).toContain('"error":"An API error occurred: invalid_auth"')
  })

  it('while closed, /readyz says so with the reason', async () => {
    const socket = createSlackSocket({ appToken: APP_TOKEN, apiUrl: API_URL, logger, clientOptions: { retryConfig: { retries: 0 } }, retryMinMs: 60_000 })
    sockets.push(socket)
    await socket.start()
    const first = await standIn.nextLink()
    standIn.failOpens(1, { error: 'ratelimited' })
    const failed = logger.logged('could not open the Socket Mode connection')
    first.drop()
    await failed
    expect(await socket.readiness.check()).toMatchObject({ ok: false, reason: 'slack_socket_closed', detail: expect.stringContaining('ratelimited') })
  })
})

describe('stopping', () => {
  it('closes the socket with a close frame and opens no other', async () => {
    const edge = socketEdge()
    await edge.start()
    const link = await standIn.nextLink()
    await settled(link)
    await edge.stop()
    await link.closed
    expect(await readiness(edge.readiness)).toMatchObject({ ok: false, reason: 'slack_socket_closed' })
    expect(standIn.opens).toBe(1)
    expect(standIn.links).toHaveLength(0)
  })

  it('a stop while an attempt is under way leaves no connection behind', async () => {
    standIn.holdHello(true)
    const socket = bareSocket()
    const started = socket.start()
    const link = await standIn.nextLink()
    await socket.stop()
    await started
    await link.closed
    expect(standIn.links).toHaveLength(0)
  })
})
