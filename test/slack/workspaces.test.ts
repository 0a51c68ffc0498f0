/**
 * Distribution mode ("Add to Slack") at run time, through the real signed route: two workspaces
 * installed with their own bot tokens and linked to two accounts. Every command, click and notice
 * of a workspace must carry that workspace's token (asserted on the `Authorization` header nock
 * sees); a workspace that is not installed, or installed but not linked, is told what to do and
 * nothing else is called.
 */
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeRowAction } from '../../adapters/slack/actions.ts'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import { createNoticesJob } from '../../src/notices/notices-job.ts'
import { DAY, inviteUser } from '../support/factories.ts'
import {
  ACME_TOKEN,
  ADMIN_EMAIL,
  ALICE,
  API_URL,
  BOB,
  CHANNEL,
  CHANNEL2,
  DISTRIBUTION_CONFIG,
  GLOBEX_ADMIN_EMAIL,
  GLOBEX_TOKEN,
  OAUTH,
  TEAM,
  TEAM2,
  capturePostMessages,
  clickAnsweredAlone,
  fixture,
  formBody,
  mockResponseUrl,
  mockUsersInfo,
  payloadBody,
  postSigned,
  slackInstallation,
  slashCommand,
  snapshotCounts,
  startDistributionHarness,
  useSlackRouteTests,
  type DistributionHarness,
  type SeenCall,
} from './support.ts'

const ACME_URL = 'https://hooks.slack.com/commands/T0001INVOPS/1111/acme'
const GLOBEX_URL = 'https://hooks.slack.com/commands/T0002GLOBEX/2222/globex'
const ACTION_URL = 'https://hooks.slack.com/actions/T0002GLOBEX/3333/click'
const INSTALL_URL = 'http://invite.test/slack/install'

let h: DistributionHarness
let trigger = 0
let actionTs = 1732616000

// The shared harness is one workspace mode; this file starts its own, in distribution mode.
let dbRef: Parameters<typeof startDistributionHarness>[0]
useSlackRouteTests({ onDatabase: (db) => (dbRef = db) })
beforeEach(async () => {
  h = await startDistributionHarness(dbRef)
})
afterEach(async () => {
  await h.close()
})

/** Requests nock could not match: a call with the wrong token, or one that should not happen at all. */
let unmatched: string[] = []
const onNoMatch = (req: { method?: string; path?: string; host?: string; hostname?: string; options?: { path?: string; host?: string; hostname?: string } }) => {
  const host = req.options?.hostname ?? req.options?.host ?? req.hostname ?? req.host ?? ''
  // Our own server on loopback is reached for real; anything else unmatched is a call nobody expected.
  if (!/^(127\.0\.0\.1|localhost)(:|$)/.test(host)) unmatched.push(`${req.method ?? ''} ${host} ${req.path ?? req.options?.path ?? ''}`)
}
beforeEach(() => {
  unmatched = []
  nock.emitter.on('no match', onNoMatch)
})
afterEach(() => {
  nock.emitter.removeListener('no match', onNoMatch)
  nock.cleanAll()
})

/** `/invite <text>` from `team` as `user`; waits for the work the ack started. */
async function command(text: string, team: string, user: string, responseUrl: string, overrides: Record<string, string> = {}) {
  const channel = team === TEAM2 ? CHANNEL2 : CHANNEL
  const res = await postSigned(h.base, formBody(slashCommand(text, { team_id: team, user_id: user, channel_id: channel, response_url: responseUrl, trigger_id: `trigger.${++trigger}`, ...overrides })))
  await h.router.idle()
  return res
}

/** users.info for `user` of `team`, answered only when called with `token`. */
function member(user: string, team: string, email: string, token: string): nock.Scope {
  return mockUsersInfo(user, { team_id: team }, { email }, { token })
}

describe('two workspaces installed', () => {
  it("each command is answered with its own workspace's token: users.info and chat.postMessage carry it, and notices here stores the workspace", async () => {
    const posts: SeenCall[] = []
    const acmeInfo = member(ALICE, TEAM, ADMIN_EMAIL, ACME_TOKEN)
    const globexInfo = member(BOB, TEAM2, GLOBEX_ADMIN_EMAIL, GLOBEX_TOKEN)
    capturePostMessages(posts, 2)
    await command('notices here', TEAM, ALICE, ACME_URL)
    await command('notices here', TEAM2, BOB, GLOBEX_URL)
    expect(acmeInfo.isDone()).toBe(true)
    expect(globexInfo.isDone()).toBe(true)
    expect(posts.map((p) => [p.body.channel, p.authorization])).toEqual([
      [CHANNEL, `Bearer ${ACME_TOKEN}`],
      [CHANNEL2, `Bearer ${GLOBEX_TOKEN}`],
    ])
    expect(unmatched).toEqual([])
    const stored = await h.deps.db('notice_destinations').orderBy('conversation_id').select('account_id', 'conversation_id', 'reference')
    expect(stored).toEqual([
      { account_id: h.globex.account.id, conversation_id: CHANNEL2, reference: { teamId: TEAM2, enterpriseId: null } },
      { account_id: h.seed.account.id, conversation_id: CHANNEL, reference: { teamId: TEAM, enterpriseId: null } },
    ])
  })

  it("a click is answered with its own workspace's token, and acts in that workspace's account", async () => {
    const { user } = await inviteUser(h.deps, h.globex, 'ivy@globex.test')
    h.deps.clock.advance(8 * DAY)
    const payload = structuredClone(fixture<{ user: { id: string; team_id: string }; team: { id: string }; channel: { id: string }; container: { channel_id: string }; response_url: string; actions: Record<string, unknown>[] }>('block-actions-button.json'))
    payload.user = { ...payload.user, id: BOB, team_id: TEAM2 }
    payload.team = { id: TEAM2 }
    payload.channel = { id: CHANNEL2 }
    payload.container = { ...payload.container, channel_id: CHANNEL2 }
    payload.response_url = ACTION_URL
    payload.actions[0] = { ...payload.actions[0], block_id: 'inviteops|reply|notice', action_id: 'inviteops.do.regenerate', value: encodeRowAction({ action: 'regenerate', userId: user.id, invitationId: user.invitation!.id }), action_ts: `${actionTs++}.000100` }

    const info = member(BOB, TEAM2, GLOBEX_ADMIN_EMAIL, GLOBEX_TOKEN)
    const posts: SeenCall[] = []
    capturePostMessages(posts, 1, { ok: true, channel: CHANNEL2, ts: '1732616000.000100' })
    const updates: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates)
    const res = await postSigned(h.base, payloadBody(payload))
    await h.router.idle()
    expect(res.status).toBe(200)
    expect(info.isDone()).toBe(true)
    expect(posts).toHaveLength(1)
    expect(posts[0]).toMatchObject({ authorization: `Bearer ${GLOBEX_TOKEN}`, body: { channel: CHANNEL2 } })
    expect(posts[0]?.body.text).toContain('ivy@globex.test')
    expect(updates[0]).toMatchObject({ replace_original: true })
    expect(unmatched).toEqual([])
    const invitations = await h.deps.db('invitations').where({ user_id: user.id }).count<{ n: string }[]>({ n: '*' })
    expect(Number(invitations[0]?.n)).toBe(2)
  })

  it("notices for two accounts go out with each workspace's token: by the destination's workspace, else the account's one linked workspace", async () => {
    // Acme's destination names its workspace (as `/invite notices here` stores it); Globex's was
    // set by the operator without one, so the account's one linked workspace is used.
    await connectChat(h.deps.db, { platform: 'slack', externalId: TEAM, accountId: h.seed.account.id, channelId: CHANNEL, reference: { teamId: TEAM } })
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    await inviteUser(h.deps, h.globex, 'otto@globex.test')
    h.deps.clock.advance(8 * DAY)
    const posts: SeenCall[] = []
    capturePostMessages(posts, 2)
    const job = createNoticesJob(h.deps, [createSlackNotifier(DISTRIBUTION_CONFIG, { deps: h.deps, conversationGapMs: 0 })])
    const round = await job.runOnce()
    expect(round).toMatchObject({ expired: 2, posted: 2, delivered: 2 })
    const byChannel = Object.fromEntries(posts.map((p) => [p.body.channel, p]))
    expect(byChannel[CHANNEL]?.authorization).toBe(`Bearer ${ACME_TOKEN}`)
    expect(byChannel[CHANNEL]?.body.text).toContain('dana@acme.test')
    expect(byChannel[CHANNEL2]?.authorization).toBe(`Bearer ${GLOBEX_TOKEN}`)
    expect(byChannel[CHANNEL2]?.body.text).toContain('otto@globex.test')
    expect(unmatched).toEqual([])
  })
})

describe('a workspace that cannot be answered', () => {
  it('never installed: the command is answered in its ack with how to install, and nothing else is called', async () => {
    const before = await snapshotCounts(h.deps)
    const res = await command('list', 'T0009NOTHERE', ALICE, 'https://hooks.slack.com/commands/T0009NOTHERE/1/x')
    expect(res.status).toBe(200)
    const ack = JSON.parse(res.text) as { response_type: string; text: string }
    expect(ack.response_type).toBe('ephemeral')
    expect(ack.text).toContain('InviteOps is not installed in this Slack workspace')
    expect(ack.text).toContain('ask your InviteOps operator for an install link')
    expect(ack.text).toContain(INSTALL_URL)
    expect(unmatched).toEqual([])
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('never installed: a click is answered through its response_url with the same words, nothing else called', async () => {
    const payload = structuredClone(fixture<{ user: { id: string; team_id: string }; team: { id: string }; response_url: string; actions: { action_ts: string }[] }>('block-actions-button.json'))
    payload.user.team_id = 'T0009NOTHERE'
    payload.team = { id: 'T0009NOTHERE' }
    payload.response_url = 'https://hooks.slack.com/actions/T0009NOTHERE/1/y'
    payload.actions[0]!.action_ts = `${actionTs++}.000100`
    expect(await clickAnsweredAlone(h, payload)).toContain('InviteOps is not installed in this Slack workspace')
    expect(unmatched).toEqual([])
  })

  it('installed but not linked: told to ask the operator for an install link (not `slack connect`), no users.info call', async () => {
    await saveSlackInstallation(h.deps, slackInstallation('T0003LONELY', 'xoxb-3333-lonely'))
    const replies: Record<string, unknown>[] = []
    const url = 'https://hooks.slack.com/commands/T0003LONELY/1/z'
    mockResponseUrl(url, replies)
    const before = await snapshotCounts(h.deps)
    await command('list', 'T0003LONELY', ALICE, url)
    expect(replies).toHaveLength(1)
    const text = String(replies[0]?.text)
    expect(text).toContain('installed but is not linked to an InviteOps account yet')
    expect(text).toContain('inviteops slack install-link --account')
    expect(text).not.toContain('slack connect')
    expect(unmatched).toEqual([])
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('the installation lookup fails (database down): the command is told something went wrong, in its ack', async () => {
    const { default: knexFactory } = await import('knex')
    const closed = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: { min: 0, max: 1 } })
    await closed.destroy()
    const { createSlackRouter } = await import('../../adapters/slack/router.ts')
    const { serveRouter } = await import('../support/http.ts')
    const router = createSlackRouter({ ...h.deps, db: closed }, DISTRIBUTION_CONFIG, { clientOptions: { retryConfig: { retries: 0 } } })
    const served = await serveRouter(h.deps.db, router)
    try {
      const res = await postSigned(served.base, formBody(slashCommand('list', { trigger_id: `trigger.${++trigger}` })))
      expect(res.status).toBe(200)
      expect((JSON.parse(res.text) as { text: string }).text).toContain('Something went wrong on our side')
      await router.idle()
      expect(unmatched).toEqual([])
    } finally {
      await served.close()
    }
  })
})

describe('an Enterprise Grid organisation installed org-wide', () => {
  it("a workspace of the organisation is answered with the organisation's token and linked through the organisation's id", async () => {
    const ORG = 'E0001GRID'
    const GRID_TEAM = 'T0005GRID'
    const ORG_TOKEN = 'xoxb-5555-grid-org'
    await saveSlackInstallation(h.deps, slackInstallation(GRID_TEAM, ORG_TOKEN, { teamId: null, enterpriseId: ORG, isEnterpriseInstall: true, enterpriseName: 'Grid Org' }))
    const linked = await connectChat(h.deps.db, { platform: 'slack', externalId: ORG, accountId: h.globex.account.id, channelId: null })
    expect(linked.ok).toBe(true)
    const info = member('U0005GRID', GRID_TEAM, GLOBEX_ADMIN_EMAIL, ORG_TOKEN)
    const replies: Record<string, unknown>[] = []
    const url = 'https://hooks.slack.com/commands/T0005GRID/1/grid'
    mockResponseUrl(url, replies)
    await command('groups', GRID_TEAM, 'U0005GRID', url, { enterprise_id: ORG, is_enterprise_install: 'true', channel_id: 'C0005GRID' })
    expect(info.isDone()).toBe(true)
    expect(replies).toHaveLength(1)
    expect(String(replies[0]?.text)).not.toContain('not linked')
    expect(JSON.stringify(replies[0])).toContain('Engineering')
    expect(unmatched).toEqual([])
  })
})

describe('the gate', () => {
  it('a click whose is_enterprise_install is not a boolean is refused 400 before any installation is looked up', async () => {
    const payload = structuredClone(fixture<Record<string, unknown>>('block-actions-button.json'))
    payload.is_enterprise_install = { toString: 'x' }
    const res = await postSigned(h.base, payloadBody(payload))
    expect(res.status).toBe(400)
    expect(res.text).toContain('is_enterprise_install')
    const command = await postSigned(h.base, formBody(slashCommand('list', { is_enterprise_install: 'yes' })))
    expect(command.status).toBe(400)
    expect(unmatched).toEqual([])
  })
})

describe('settings', () => {
  it('the notifier refuses to start in distribution mode without the database to find installations', () => {
    expect(() => createSlackNotifier({ signingSecret: null, botToken: null, apiUrl: API_URL, oauth: OAUTH })).toThrow(/needs deps/)
  })
})
