/**
 * Uninstall and revocation through the real signed route (distribution mode): `app_uninstalled`
 * and `tokens_revoked` events disable the workspace's installation at once; later requests from
 * that workspace are told how to reinstall; notices for it are held, not lost, and go out with the
 * new token once the workspace installs the app again. In one workspace mode the same events only
 * tell the operator what to do.
 */
import nock from 'nock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSlackNotifier } from '../../adapters/slack/notices.ts'
import { createSlackRouter } from '../../adapters/slack/router.ts'
import { findSlackInstallation, saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import { createNoticesJob } from '../../src/notices/notices-job.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import {
  ACME_TOKEN,
  ADMIN_EMAIL,
  ALICE,
  API_ORIGIN,
  API_URL,
  BOT_TOKEN,
  CHANNEL,
  DISTRIBUTION_CONFIG,
  SIGNING_SECRET,
  TEAM,
  TEAM2,
  capturePostMessages,
  clickAnsweredAlone,
  fixture,
  formBody,
  levelLogger,
  mockResponseUrl,
  mockUsersInfo,
  postSigned,
  slackInstallation,
  slashCommand,
  startDistributionHarness,
  startHarness,
  useSlackRouteTests,
  type DistributionHarness,
  type SeenCall,
} from './support.ts'

let db: TestDatabase
let h: DistributionHarness
let logger: ReturnType<typeof levelLogger>
let trigger = 0
let eventNo = 0

useSlackRouteTests({ onDatabase: (x) => (db = x) })
beforeEach(async () => {
  logger = levelLogger()
  h = await startDistributionHarness(db, { deps: makeDeps(db.knex, { logger }) })
})
afterEach(async () => {
  await h.close()
  nock.cleanAll()
})

/** An Events API delivery as Slack sends it (JSON, signed), about `team`; by default it happened a minute after the test's clock. */
function eventBody(event: Record<string, unknown>, opts: { team?: string; eventId?: string; at?: Date } = {}): string {
  const team = opts.team ?? TEAM
  return JSON.stringify({
    token: 'verification-token-unused',
    team_id: team,
    api_app_id: 'A123456',
    event,
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev0TEST${++eventNo}`,
    event_time: Math.floor((opts.at ?? new Date(h.deps.clock.now().getTime() + 60_000)).getTime() / 1000),
    authorizations: [{ enterprise_id: null, team_id: team, user_id: 'U0BOT0001', is_bot: true, is_enterprise_install: false }],
  })
}

async function sendEvent(base: string, body: string): Promise<{ status: number; text: string }> {
  const res = await postSigned(base, body, { contentType: 'application/json' })
  return res
}

async function status(teamId: string): Promise<string | null> {
  return (await findSlackInstallation(h.deps, { teamId, enterpriseId: null }))?.status ?? null
}

/** `/invite list` from TEAM as Alice; the HTTP answer (the ack). */
async function list(base = h.base) {
  return postSigned(base, formBody(slashCommand('list', { trigger_id: `trigger.${++trigger}` })))
}

describe('app_uninstalled', () => {
  it('disables the installation at once (acked at once); a later command is told how to reinstall, in the ack, and nothing is called', async () => {
    const res = await sendEvent(h.base, eventBody({ type: 'app_uninstalled' }))
    expect(res.status).toBe(200)
    await h.router.idle()
    expect(await status(TEAM)).toBe('uninstalled')
    expect(await status(TEAM2)).toBe('active')

    const answer = await list()
    await h.router.idle()
    const ack = JSON.parse(answer.text) as { response_type: string; text: string }
    expect(ack.response_type).toBe('ephemeral')
    expect(ack.text).toContain('InviteOps was removed from this Slack workspace')
    expect(ack.text).toContain('install link')
    expect(ack.text).toContain('http://invite.test/slack/install')
    expect(nock.pendingMocks()).toEqual([])
    // The row is kept, its tokens wiped: nothing of the old token remains to answer with.
    const row = await h.deps.db('slack_installations').where({ team_id: TEAM }).first<{ tokens: unknown }>()
    expect(row?.tokens).toBeNull()
  })

  it('a click from the uninstalled workspace is answered through its response_url with how to reinstall', async () => {
    await sendEvent(h.base, eventBody({ type: 'app_uninstalled' }))
    await h.router.idle()
    const payload = structuredClone(fixture<{ response_url: string; actions: { action_ts: string }[] }>('block-actions-button.json'))
    payload.actions[0]!.action_ts = '1732617000.000100'
    expect(await clickAnsweredAlone(h, payload)).toContain('InviteOps was removed from this Slack workspace')
  })

  it('delivered twice with the same event_id: runs once (a reinstall in between is not undone by the copy)', async () => {
    const body = eventBody({ type: 'app_uninstalled' }, { eventId: 'Ev0SAMEONE' })
    await sendEvent(h.base, body)
    await h.router.idle()
    expect(await status(TEAM)).toBe('uninstalled')
    h.deps.clock.advance(5 * 60_000)
    await saveSlackInstallation(h.deps, slackInstallation(TEAM, 'xoxb-1111-acme-reinstalled'))
    const again = await sendEvent(h.base, body)
    expect(again.status).toBe(200)
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
  })

  it('a first delivery whose work fails (the database away) is not remembered: Slack\'s redelivery of the same event_id disables the installation', async () => {
    const body = eventBody({ type: 'app_uninstalled' }, { eventId: 'Ev0OUTAGE' })
    await db.knex.raw('ALTER TABLE slack_installations RENAME TO slack_installations_away')
    try {
      expect((await sendEvent(h.base, body)).status).toBe(200)
      await h.router.idle()
    } finally {
      await db.knex.raw('ALTER TABLE slack_installations_away RENAME TO slack_installations')
    }
    expect(logger.lines.some((l) => l.level === 'error' && l.line.includes('slack work failed'))).toBe(true)
    expect(await status(TEAM)).toBe('active')
    expect((await sendEvent(h.base, body)).status).toBe(200)
    await h.router.idle()
    expect(await status(TEAM)).toBe('uninstalled')
  })

  it('processed after a quick reinstall (late, under another event_id): the new install is kept; one that happened after it is applied', async () => {
    const uninstalledAt = new Date(h.deps.clock.now().getTime() + 60_000)
    h.deps.clock.advance(2 * 60_000)
    await saveSlackInstallation(h.deps, slackInstallation(TEAM, 'xoxb-1111-acme-quick-reinstall'))
    await sendEvent(h.base, eventBody({ type: 'app_uninstalled' }, { at: uninstalledAt }))
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
    expect(Number((await h.deps.db('audit_log').where({ action: 'slack.uninstalled' }).count<{ n: string }[]>({ n: '*' }))[0]?.n)).toBe(0)
    expect(logger.lines.some((l) => l.line.includes('installed again after the event'))).toBe(true)

    await sendEvent(h.base, eventBody({ type: 'app_uninstalled' }))
    await h.router.idle()
    expect(await status(TEAM)).toBe('uninstalled')
  })

  it('notices meanwhile are held (not closed, not posted), then posted with the new token once the workspace installs again', async () => {
    await sendEvent(h.base, eventBody({ type: 'app_uninstalled' }))
    await h.router.idle()
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const job = createNoticesJob(h.deps, [createSlackNotifier(DISTRIBUTION_CONFIG, { deps: h.deps, conversationGapMs: 0 })], { maxAttempts: 1 })

    const first = await job.runOnce()
    expect(first).toMatchObject({ expired: 1, posted: 0, held: 1, refused: 0 })
    // Held even past the attempts after which a notice refused "for now" is given up.
    h.deps.clock.advance(2 * 60_000)
    expect(await job.runOnce()).toMatchObject({ posted: 0, held: 1, refused: 0 })
    const pending = await h.deps.db('notice_deliveries').where({ platform: 'slack' }).select('delivered_at', 'note')
    expect(pending).toEqual([{ delivered_at: null, note: null }])
    expect(nock.pendingMocks()).toEqual([])

    const NEW_TOKEN = 'xoxb-1111-acme-after-reinstall'
    await saveSlackInstallation(h.deps, slackInstallation(TEAM, NEW_TOKEN))
    const posts: SeenCall[] = []
    capturePostMessages(posts)
    // No clock advance: the reinstall released the held notice at once.
    expect(await job.runOnce()).toMatchObject({ posted: 1, delivered: 1 })
    expect(posts).toHaveLength(1)
    expect(posts[0]).toMatchObject({ authorization: `Bearer ${NEW_TOKEN}`, body: { channel: CHANNEL } })
    expect(posts[0]?.body.text).toContain('dana@acme.test')
  })

  it('a token Slack refuses before the event arrived (token_revoked) holds the notice rather than giving it up', async () => {
    await inviteUser(h.deps, h.seed, 'dana@acme.test')
    h.deps.clock.advance(8 * DAY)
    const posts: SeenCall[] = []
    capturePostMessages(posts, 1, { ok: false, error: 'token_revoked' })
    const job = createNoticesJob(h.deps, [createSlackNotifier(DISTRIBUTION_CONFIG, { deps: h.deps, conversationGapMs: 0 })], { maxAttempts: 1 })
    expect(await job.runOnce()).toMatchObject({ posted: 0, held: 1, refused: 0 })
    expect(posts[0]?.authorization).toBe(`Bearer ${ACME_TOKEN}`)
    expect(await h.deps.db('notice_deliveries').where({ platform: 'slack' }).select('delivered_at', 'note')).toEqual([{ delivered_at: null, note: null }])
    // The refusal marks the installation revoked: later notices are held without calling Slack.
    expect(await status(TEAM)).toBe('revoked')
  })
})

describe('a token Slack refuses on a request (the event never came)', () => {
  /** `users.info` for Alice with ACME_TOKEN, answered with Slack's `error`. */
  function refuseUsersInfo(error: string): nock.Scope {
    return nock(API_ORIGIN, { reqheaders: { authorization: `Bearer ${ACME_TOKEN}` } })
      .post('/api/users.info')
      .reply(200, { ok: false, error })
  }

  it.each(['invalid_auth', 'token_revoked', 'account_inactive'])('answered %s: the installation is marked revoked (audited), and the next command is told how to reinstall, with nothing called', async (error) => {
    const replies: Record<string, unknown>[] = []
    mockResponseUrl(fixture<{ response_url: string }>('slash-command.json').response_url, replies)
    const refusedCall = refuseUsersInfo(error)
    await list()
    await h.router.idle()
    expect(refusedCall.isDone()).toBe(true)
    expect(await status(TEAM)).toBe('revoked')
    expect(await status(TEAM2)).toBe('active')
    const audit = await h.deps.db('audit_log').where({ action: 'slack.tokens_revoked' }).select('detail')
    expect(audit).toHaveLength(1)
    expect(logger.lines.some((l) => l.level === 'warn' && l.line.includes(error) && l.line.includes('marked revoked'))).toBe(true)

    const answer = await list()
    await h.router.idle()
    expect((JSON.parse(answer.text) as { text: string }).text).toContain('access to this Slack workspace was revoked')
    expect(nock.pendingMocks()).toEqual([])
  })

  it('answered token_expired: revoked when there is no refresh token; kept when there is one (the next request refreshes)', async () => {
    mockResponseUrl(fixture<{ response_url: string }>('slash-command.json').response_url, [], 2)
    await saveSlackInstallation(h.deps, slackInstallation(TEAM, ACME_TOKEN, { botRefreshToken: 'xoxe-1-acme-refresh', botTokenExpiresAt: new Date(h.deps.clock.now().getTime() + 6 * 60 * 60_000) }))
    refuseUsersInfo('token_expired')
    await list()
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')

    await saveSlackInstallation(h.deps, slackInstallation(TEAM, ACME_TOKEN))
    refuseUsersInfo('token_expired')
    await list()
    await h.router.idle()
    expect(await status(TEAM)).toBe('revoked')
  })

  it('a refusal of a token the installation no longer holds (reinstalled meanwhile) changes nothing', async () => {
    mockResponseUrl(fixture<{ response_url: string }>('slash-command.json').response_url, [])
    // The request reads the old token, then the workspace reinstalls before Slack answers.
    nock(API_ORIGIN, { reqheaders: { authorization: `Bearer ${ACME_TOKEN}` } })
      .post('/api/users.info')
      .reply(200, async () => {
        h.deps.clock.advance(60_000)
        await saveSlackInstallation(h.deps, slackInstallation(TEAM, 'xoxb-1111-acme-reinstalled-meanwhile'))
        return { ok: false, error: 'invalid_auth' }
      })
    await list()
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
  })
})

describe('tokens_revoked', () => {
  it('with the bot token revoked: the installation is disabled as revoked; a later command is told so', async () => {
    const res = await sendEvent(h.base, eventBody({ type: 'tokens_revoked', tokens: { oauth: [], bot: ['U0BOT0001'] } }))
    expect(res.status).toBe(200)
    await h.router.idle()
    expect(await status(TEAM)).toBe('revoked')
    const answer = await list()
    await h.router.idle()
    expect((JSON.parse(answer.text) as { text: string }).text).toContain('access to this Slack workspace was revoked')
  })

  it('with only user tokens revoked (InviteOps stores none): nothing changes, the workspace is still answered', async () => {
    await sendEvent(h.base, eventBody({ type: 'tokens_revoked', tokens: { oauth: ['U2147483697'] } }))
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
    expect(logger.lines.some((l) => l.level === 'info' && l.line.includes('user tokens revoked'))).toBe(true)
    const replies: Record<string, unknown>[] = []
    const info = mockUsersInfo(ALICE, {}, { email: ADMIN_EMAIL }, { token: ACME_TOKEN })
    mockResponseUrl(fixture<{ response_url: string }>('slash-command.json').response_url, replies)
    await list()
    await h.router.idle()
    expect(info.isDone()).toBe(true)
    expect(JSON.stringify(replies[0])).toContain(ADMIN_EMAIL)
  })

  it('an event of another workspace disables only that one', async () => {
    await sendEvent(h.base, eventBody({ type: 'tokens_revoked', tokens: { bot: ['U0BOT0002'] } }, { team: TEAM2 }))
    await h.router.idle()
    expect(await status(TEAM2)).toBe('revoked')
    expect(await status(TEAM)).toBe('active')
  })
})

describe('an org-wide install', () => {
  it("app_uninstalled for the organisation disables the organisation's installation, not its workspaces' own", async () => {
    const ORG = 'E0001GRID'
    await saveSlackInstallation(h.deps, slackInstallation('T0005GRID', 'xoxb-5555-grid-org', { teamId: null, enterpriseId: ORG, isEnterpriseInstall: true }))
    const body = JSON.parse(eventBody({ type: 'app_uninstalled' })) as Record<string, unknown>
    body.team_id = 'T0005GRID'
    body.enterprise_id = ORG
    body.authorizations = [{ enterprise_id: ORG, team_id: null, user_id: 'U0BOTGRID', is_bot: true, is_enterprise_install: true }]
    expect((await sendEvent(h.base, JSON.stringify(body))).status).toBe(200)
    await h.router.idle()
    expect((await findSlackInstallation(h.deps, { teamId: null, enterpriseId: ORG, isEnterpriseInstall: true }))?.status).toBe('uninstalled')
    expect(await status(TEAM)).toBe('active')
  })
})

describe('events through the gate', () => {
  it('a malformed event body is refused 400 and changes nothing', async () => {
    for (const body of [
      JSON.stringify({ type: 'event_callback', team_id: TEAM, event: { type: 'app_uninstalled' } }), // no event_id
      JSON.stringify({ type: 'event_callback', team_id: 'constructor', event_id: 'Ev0X', event: { type: 'app_uninstalled' } }),
      JSON.stringify({ type: 'event_callback', team_id: TEAM, event_id: 'Ev0Y', event: {} }),
      JSON.stringify({ type: 'event_callback', team_id: TEAM, event_id: 'Ev0Z', event: { type: 'app_uninstalled' }, authorizations: [{ team_id: '__proto__' }] }),
    ]) {
      const res = await sendEvent(h.base, body)
      expect(res.status, body).toBe(400)
      expect(res.text).toContain('nothing was done')
    }
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
  })

  it('an unsigned or forged event is refused 401 and changes nothing', async () => {
    const res = await postSigned(h.base, eventBody({ type: 'app_uninstalled' }), { contentType: 'application/json', signature: 'v0=' + '0'.repeat(64) })
    expect(res.status).toBe(401)
    await h.router.idle()
    expect(await status(TEAM)).toBe('active')
  })

  it('url_verification passes the gate and is answered with its challenge', async () => {
    const res = await sendEvent(h.base, JSON.stringify({ token: 't', challenge: 'abc123challenge', type: 'url_verification' }))
    expect(res.status).toBe(200)
    expect(res.text).toContain('abc123challenge')
  })
})

describe('one workspace mode', () => {
  it('app_uninstalled and tokens_revoked are logged at warn with what to do, and change nothing', async () => {
    const single = levelLogger()
    const deps = makeDeps(db.knex, { logger: single })
    const router = createSlackRouter(deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { clientOptions: { retryConfig: { retries: 0 } } })
    const served = await serveRouter(db.knex, router)
    try {
      for (const event of [{ type: 'app_uninstalled' }, { type: 'tokens_revoked', tokens: { bot: ['U0BOT0001'] } }]) {
        const res = await sendEvent(served.base, eventBody(event))
        expect(res.status).toBe(200)
      }
      await router.idle()
      const warnings = single.lines.filter((l) => l.level === 'warn' && l.line.includes('SLACK_BOT_TOKEN'))
      expect(warnings).toHaveLength(2)
      expect(warnings[0]?.line).toContain('Reinstall the app')
      // The stored installations of this database are not this mode's business.
      expect(await status(TEAM)).toBe('active')
    } finally {
      await served.close()
    }
  })

  it('an unlinked workspace is still told the operator\'s `slack connect` command, as before', async () => {
    const one = await startHarness(db, { link: false })
    try {
      const replies: Record<string, unknown>[] = []
      mockResponseUrl(fixture<{ response_url: string }>('slash-command.json').response_url, replies)
      await postSigned(one.base, formBody(slashCommand('list', { team_id: 'T0008SINGLE', trigger_id: `trigger.${++trigger}` })))
      await one.router.idle()
      expect(String(replies[0]?.text)).toContain('inviteops slack connect --team T0008SINGLE')
      expect(String(replies[0]?.text)).not.toContain('install-link')
    } finally {
      await one.close()
    }
  })
})
