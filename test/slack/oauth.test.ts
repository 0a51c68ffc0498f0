/**
 * "Add to Slack" through the real routes: `/slack/install` (with install links) and
 * `/slack/oauth_redirect`, the real core on a real database, Slack's OAuth and Web API played by
 * nock on a test SLACK_API_URL (every call's form and Authorization header asserted).
 */
import { createHmac } from 'node:crypto'
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { SLACK_BOT_SCOPES } from '../../adapters/slack/config.ts'
import { createSlackEdge } from '../../adapters/slack/router.ts'
import { SCOPE_WORDS } from '../../adapters/slack/oauth-pages.ts'
import { findSlackInstallation } from '../../src/installations/slack-installations.ts'
import { signInstallLink } from '../../src/installations/install-link.ts'
import { DAY, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useRouteTests } from '../support/hooks.ts'
import { serveRouter } from '../support/http.ts'
import { API_ORIGIN, HOOKS, capturePostMessages, formBody, mockUsersInfo, postSigned, slashCommand, type SeenCall } from './support.ts'
import { CLIENT_ID, CLIENT_SECRET, DISTRIBUTION_CONFIG, STATE_COOKIE, installThroughSlack, mockAuthTest, mockInstallerInfo, mockOAuthAccess, openInstallPage, returnFromSlack, serveInstallRouter, type SlackSideInstall } from './oauth-support.ts'

interface InstallHarness {
  deps: TestDeps
  seed: SeededAccount
  base: string
  close(): Promise<void>
}

let h: InstallHarness

useRouteTests<InstallHarness>(
  async (db) => {
    const deps = makeDeps(db.knex)
    const seed = await seedAccount(deps, { name: 'Acme Corp', adminEmail: 'admin@acme.test' })
    const { base, close } = await serveInstallRouter(deps)
    return { deps, seed, base, close }
  },
  { onHarness: (x) => (h = x) },
)

const ACME: SlackSideInstall = { teamId: 'T0ACME0001', teamName: 'Acme Slack', botToken: 'xoxb-acme-1111-secret', installerId: 'U0ACMEADMIN' }

const linkFor = (accountId: string, days = 7) => signInstallLink(h.deps.config.inviteSecret, { accountId, expiresAt: new Date(h.deps.clock.now().getTime() + days * DAY) })

const connections = () => h.deps.db('chat_connections').where({ platform: 'slack' }).orderBy('external_id').select('external_id', 'account_id')
const installAudit = () => h.deps.db('audit_log').where('action', 'like', 'slack.install%').orderBy('id').select('action', 'ok', 'result_code', 'account_id')
const installationRows = () => h.deps.db('slack_installations').count<{ n: string }[]>({ n: '*' }).then(([r]) => Number(r?.n ?? 0))

describe('GET /slack/install', () => {
  it('shows what the app will do and an "Add to Slack" button starting OAuth v2 with the bot scopes, the redirect URI and a state also set as a cookie', async () => {
    const page = await openInstallPage(h.base)
    expect(page.status).toBe(200)
    expect(page.html).toContain('Add InviteOps to your Slack workspace')
    for (const scope of SLACK_BOT_SCOPES) expect(page.html).toContain(SCOPE_WORDS[scope].replace(/'/g, '&#39;'))
    expect(page.html).toContain('install link')
    const url = page.authorizeUrl!
    expect(`${url.origin}${url.pathname}`).toBe('https://slack.com/oauth/v2/authorize')
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID)
    expect(url.searchParams.get('scope')).toBe(SLACK_BOT_SCOPES.join(','))
    expect(url.searchParams.get('redirect_uri')).toBe('http://invite.test/slack/oauth_redirect')
    expect(url.searchParams.get('user_scope')).toBeNull()
    expect(url.searchParams.get('state')).toBeTruthy()
    expect(page.stateCookie).toBe(url.searchParams.get('state'))
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly/)
    expect(page.headers.get('referrer-policy')).toBe('no-referrer')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page.headers.get('cache-control')).toBe('no-store')
    const css = await fetch(`${h.base}/slack/assets/install.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toMatch(/text\/css/)
  })

  it('with a valid install link: names the account and when the link expires', async () => {
    const page = await openInstallPage(h.base, linkFor(h.seed.account.id))
    expect(page.status).toBe(200)
    expect(page.html).toContain('to the account <strong>Acme Corp</strong>')
    expect(page.html).toContain('3 December 2026')
    expect(page.authorizeUrl).not.toBeNull()
  })

  it.each<[string, () => string | string[], number, string]>([
    ['expired', () => signInstallLink(h.deps.config.inviteSecret, { accountId: h.seed.account.id, expiresAt: new Date(h.deps.clock.now().getTime() - 1000) }), 400, 'This install link has expired'],
    ['tampered (signature)', () => flipLast(linkFor(h.seed.account.id)), 400, 'its signature does not match'],
    ['tampered (expiry moved)', () => moveExpiry(linkFor(h.seed.account.id)), 400, 'This install link does not work'],
    ['signed with another secret', () => signInstallLink(Buffer.alloc(32, 9), { accountId: h.seed.account.id, expiresAt: new Date(h.deps.clock.now().getTime() + DAY) }), 400, 'its signature does not match'],
    ['malformed', () => 'not-a-link', 400, 'This install link does not work'],
    ['given twice', () => [linkFor(h.seed.account.id), linkFor(h.seed.account.id)], 400, 'This install link does not work'],
    ['for an account that no longer exists', () => linkFor('00000000-0000-4000-8000-000000000001'), 404, "This install link's account no longer exists"],
  ])('a link that is %s: a page saying why, no button to Slack, no state', async (_label, make, status, words) => {
    const page = await openInstallPage(h.base, make())
    expect(page.status).toBe(status)
    expect(page.html).toContain(words)
    expect(page.html).toContain('inviteops slack install-link')
    expect(page.authorizeUrl).toBeNull()
    expect(page.stateCookie).toBeNull()
  })
})

describe('GET /slack/oauth_redirect: the whole dance', () => {
  it('install link + an Active administrator: oauth.v2.access with the app credentials and code, users.info with the new token, the workspace stored and linked, audited', async () => {
    const { page, access, authTest, usersInfo, start } = await installThroughSlack(h.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test', code: 'the-code-42' })
    expect(page.status).toBe(200)
    expect(page.html).toContain('Acme Slack')
    expect(page.html).toContain('it is now linked to <strong>Acme Corp</strong>')
    expect(page.html).toContain('/invite help')
    // The state is spent: its cookie is deleted.
    expect(page.setCookies.some((c) => c.startsWith(`${STATE_COOKIE}=deleted`) && /Expires=Thu, 01 Jan 1970/.test(c))).toBe(true)

    expect(access).toEqual([{ body: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code: 'the-code-42', redirect_uri: 'http://invite.test/slack/oauth_redirect' }, authorization: undefined }])
    expect(authTest.map((c) => c.authorization)).toEqual([`Bearer ${ACME.botToken}`])
    expect(usersInfo).toEqual([{ body: { user: ACME.installerId }, authorization: `Bearer ${ACME.botToken}` }])
    expect(nock.isDone()).toBe(true)
    expect(start.authorizeUrl?.searchParams.get('state')).toBe(start.stateCookie)

    const found = await findSlackInstallation(h.deps, { teamId: ACME.teamId, enterpriseId: null })
    expect(found).toMatchObject({
      status: 'active',
      installation: { teamId: ACME.teamId, teamName: 'Acme Slack', botToken: ACME.botToken, botUserId: 'U0INVITEBOT', botId: 'B0INVITEBOT', botScopes: [...SLACK_BOT_SCOPES], installerUserId: ACME.installerId, appId: 'A0INVITEOPS', isEnterpriseInstall: false, botRefreshToken: null, botTokenExpiresAt: null },
    })
    expect(await connections()).toEqual([{ external_id: ACME.teamId, account_id: h.seed.account.id }])
    expect(await installAudit()).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'slack.install.linked', ok: true, account_id: h.seed.account.id })]))
  })

  it('token rotation on: the refresh token and the expiry are stored with the installation', async () => {
    const rotating = { ...ACME, botToken: 'xoxe.xoxb-1-rotating-bot', rotation: { refreshToken: 'xoxe-1-refresh-acme', expiresIn: 43_200 } }
    const before = Date.now()
    const { page } = await installThroughSlack(h.base, rotating, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })
    expect(page.status).toBe(200)
    const found = await findSlackInstallation(h.deps, { teamId: ACME.teamId, enterpriseId: null })
    if (found?.status !== 'active') throw new Error('not stored')
    expect(found.installation).toMatchObject({ botToken: rotating.botToken, botRefreshToken: 'xoxe-1-refresh-acme' })
    // @slack/oauth computes the expiry from the real clock, in whole seconds.
    const expiresAt = found.installation.botTokenExpiresAt!.getTime()
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 43_200_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 43_200_000)
  })

  it('install link + someone who is not an administrator of the account: installed, refused with why, nothing linked, audited', async () => {
    const { page } = await installThroughSlack(h.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'mallory@acme.test' })
    expect(page.status).toBe(403)
    expect(page.html).toContain('not</strong> linked to <strong>Acme Corp</strong>')
    expect(page.html).toContain('not an Active administrator of Acme Corp')
    expect(await connections()).toEqual([])
    expect(await installationRows()).toBe(1)
    expect(await installAudit()).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'slack.install.refused', ok: false, result_code: 'slack.install.not_admin', account_id: h.seed.account.id })]))
  })

  it.each([
    ['a guest', { is_restricted: true }],
    ['a member whose email is not confirmed', { is_email_confirmed: false }],
    ['a member of another workspace', { team_id: 'T0ELSEWHERE', is_stranger: true }],
  ])('an administrator\'s email on %s: Slack does not vouch for it, so nothing is linked', async (_label, user) => {
    const { page } = await installThroughSlack(h.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test', installerUser: user })
    expect(page.status).toBe(403)
    expect(await connections()).toEqual([])
  })

  it('the link expires while the installer is at Slack: installed, not linked, the page says so', async () => {
    const link = signInstallLink(h.deps.config.inviteSecret, { accountId: h.seed.account.id, expiresAt: new Date(h.deps.clock.now().getTime() + 60_000) })
    const start = await openInstallPage(h.base, link)
    expect(start.status).toBe(200)
    h.deps.clock.advance(120_000)
    mockOAuthAccess(ACME, [])
    mockAuthTest(ACME, [])
    mockInstallerInfo(ACME, [], { email: 'admin@acme.test' })
    const page = await returnFromSlack(h.base, { code: 'c', state: start.authorizeUrl!.searchParams.get('state')! }, start.stateCookie)
    expect(page.status).toBe(400)
    expect(page.html).toContain('the install link expired before you came back from Slack')
    expect(await connections()).toEqual([])
    expect(await installationRows()).toBe(1)
  })

  it('no install link: installed, and told to ask for a link; nothing linked', async () => {
    const { page } = await installThroughSlack(h.base, ACME, { installerEmail: 'admin@acme.test' })
    expect(page.status).toBe(200)
    expect(page.html).toContain('not linked to an InviteOps account yet')
    expect(page.html).toContain('Ask whoever runs InviteOps for you for an install link for your account')
    expect(await connections()).toEqual([])
    expect(await installationRows()).toBe(1)
  })

  it('installed again without a link (after an uninstall, say): already linked to its account, the new token stored', async () => {
    expect((await installThroughSlack(h.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })).page.status).toBe(200)
    const again = await installThroughSlack(h.base, { ...ACME, botToken: 'xoxb-acme-2222-newer' }, { installerEmail: 'someone@acme.test' })
    expect(again.page.status).toBe(200)
    expect(again.page.html).toContain('already linked to <strong>Acme Corp</strong>')
    expect(await findSlackInstallation(h.deps, { teamId: ACME.teamId, enterpriseId: null })).toMatchObject({ status: 'active', installation: { botToken: 'xoxb-acme-2222-newer' } })
    expect(await connections()).toEqual([{ external_id: ACME.teamId, account_id: h.seed.account.id }])
  })

  it('a workspace already linked to another account is not moved, whoever installs', async () => {
    const other = await seedAccount(h.deps, { name: 'Other Co', adminEmail: 'admin@acme.test' })
    const first = await installThroughSlack(h.base, ACME, { link: linkFor(other.account.id), installerEmail: 'admin@acme.test' })
    expect(first.page.status).toBe(200)
    const second = await installThroughSlack(h.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })
    expect(second.page.status).toBe(409)
    expect(second.page.html).toContain('already linked to another InviteOps account')
    expect(await connections()).toEqual([{ external_id: ACME.teamId, account_id: other.account.id }])
    const again = await installThroughSlack(h.base, ACME, { link: linkFor(other.account.id), installerEmail: 'admin@acme.test' })
    expect(again.page.status).toBe(200)
    expect(again.page.html).toContain('already linked to <strong>Other Co</strong>')
  })

  it('an org-wide Enterprise Grid install is stored for the organisation and linked by its enterprise id', async () => {
    const org: SlackSideInstall = { teamId: null, enterprise: { id: 'E0ACMEGRID', name: 'Acme Grid' }, isEnterpriseInstall: true, botToken: 'xoxb-grid-secret', installerId: 'U0GRIDADMIN' }
    const { page, usersInfo } = await installThroughSlack(h.base, org, {
      link: linkFor(h.seed.account.id),
      installerEmail: 'admin@acme.test',
      installerUser: { team_id: 'T0GRIDHOME', enterprise_user: { enterprise_id: 'E0ACMEGRID', teams: ['T0GRIDHOME'] } },
    })
    expect(page.status).toBe(200)
    expect(page.html).toContain('Acme Grid')
    expect(usersInfo[0]?.authorization).toBe('Bearer xoxb-grid-secret')
    const found = await findSlackInstallation(h.deps, { teamId: null, enterpriseId: 'E0ACMEGRID', isEnterpriseInstall: true })
    expect(found).toMatchObject({ status: 'active', installation: { isEnterpriseInstall: true, enterpriseId: 'E0ACMEGRID', enterpriseName: 'Acme Grid', teamId: null, botToken: 'xoxb-grid-secret' } })
    expect(await connections()).toEqual([{ external_id: 'E0ACMEGRID', account_id: h.seed.account.id }])
  })

  it('an org-wide install by someone outside that organisation links nothing', async () => {
    const org: SlackSideInstall = { teamId: null, enterprise: { id: 'E0ACMEGRID', name: 'Acme Grid' }, isEnterpriseInstall: true, botToken: 'xoxb-grid-secret', installerId: 'U0GRIDADMIN' }
    const { page } = await installThroughSlack(h.base, org, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test', installerUser: { team_id: 'T0OTHERHOME', enterprise_user: { enterprise_id: 'E0OTHERORG' } } })
    expect(page.status).toBe(403)
    expect(await connections()).toEqual([])
  })

  it('workspace and account names are escaped on the pages', async () => {
    await h.deps.db('accounts').where({ id: h.seed.account.id }).update({ name: '<b>Acme</b> & "Co"' })
    const start = await openInstallPage(h.base, linkFor(h.seed.account.id))
    expect(start.html).toContain('&lt;b&gt;Acme&lt;/b&gt; &amp; &quot;Co&quot;')
    const { page } = await installThroughSlack(h.base, { ...ACME, teamName: '<script>alert(1)</script>' }, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })
    expect(page.html).not.toContain('<script>')
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(page.html).not.toContain('<b>Acme</b>')
  })
})

describe('two workspaces installed through the dance, on the Slack edge the server mounts', () => {
  it("each is linked to its own account, and each workspace's /invite is answered with its own token", async () => {
    const edge = createSlackEdge(h.deps, DISTRIBUTION_CONFIG, { clientOptions: { retryConfig: { retries: 0 } } })
    const served = await serveRouter(h.deps.db, edge.router)
    try {
      const globex = await seedAccount(h.deps, { name: 'Globex', adminEmail: 'admin@globex.test' })
      const GLOBEX: SlackSideInstall = { teamId: 'T0GLOBEX01', teamName: 'Globex Slack', botToken: 'xoxb-globex-2222-secret', installerId: 'U0GLOBEXADM' }
      const acme = await installThroughSlack(served.base, ACME, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })
      const other = await installThroughSlack(served.base, GLOBEX, { link: linkFor(globex.account.id), installerEmail: 'admin@globex.test' })
      expect([acme.page.status, other.page.status]).toEqual([200, 200])
      expect(other.usersInfo[0]?.authorization).toBe(`Bearer ${GLOBEX.botToken}`)
      expect(await connections()).toEqual([
        { external_id: ACME.teamId, account_id: h.seed.account.id },
        { external_id: GLOBEX.teamId, account_id: globex.account.id },
      ])

      // Each workspace's admin types /invite list, then /invite add: users.info answers only the
      // workspace's own token, and the confirmation is posted with it.
      const acmeInfo = mockUsersInfo(ACME.installerId, { team_id: ACME.teamId }, { email: 'admin@acme.test' }, { token: ACME.botToken })
      const globexInfo = mockUsersInfo(GLOBEX.installerId, { team_id: GLOBEX.teamId }, { email: 'admin@globex.test' }, { token: GLOBEX.botToken })
      const replies: string[] = []
      nock(HOOKS)
        .persist()
        .post(/\/commands\//, (body: unknown) => {
          replies.push(JSON.stringify(body))
          return true
        })
        .reply(200, 'ok')
      const posts: SeenCall[] = []
      capturePostMessages(posts, 2)
      let trigger = 0
      const run = async (team: string, user: string, text: string) => {
        const res = await postSigned(served.base, formBody(slashCommand(text, { team_id: team, user_id: user, channel_id: team === ACME.teamId ? 'C0ACMEOPS1' : 'C0GLOBEXOPS', response_url: `${HOOKS}/commands/${team}/1/x${++trigger}`, trigger_id: `trigger.oauth.${trigger}` })))
        await edge.router.idle()
        return res.status
      }
      expect(await run(ACME.teamId!, ACME.installerId, 'list')).toBe(200)
      expect(await run(GLOBEX.teamId!, GLOBEX.installerId, 'list')).toBe(200)
      expect(acmeInfo.isDone()).toBe(true)
      expect(globexInfo.isDone()).toBe(true)
      // Each list is its own account's: Acme's administrator there, Globex's in the other.
      expect(replies).toHaveLength(2)
      expect(replies[0]).toContain('admin@acme.test')
      expect(replies[0]).not.toContain('admin@globex.test')
      expect(replies[1]).toContain('admin@globex.test')
      expect(replies[1]).not.toContain('admin@acme.test')
      expect(await run(ACME.teamId!, ACME.installerId, 'add bob@acme.test --name "Bob Smith"')).toBe(200)
      expect(await run(GLOBEX.teamId!, GLOBEX.installerId, 'add ivy@globex.test --name "Ivy Jones"')).toBe(200)
      expect(posts.map((p) => [p.body.channel, p.authorization])).toEqual([
        ['C0ACMEOPS1', `Bearer ${ACME.botToken}`],
        ['C0GLOBEXOPS', `Bearer ${GLOBEX.botToken}`],
      ])
      const invited = await h.deps.db('users').whereIn('email', ['bob@acme.test', 'ivy@globex.test']).orderBy('email').select('email', 'account_id')
      expect(invited).toEqual([
        { email: 'bob@acme.test', account_id: h.seed.account.id },
        { email: 'ivy@globex.test', account_id: globex.account.id },
      ])
    } finally {
      await served.close()
    }
  })
})

describe('GET /slack/oauth_redirect: refused before anything is stored', () => {
  const stateOf = async () => {
    const start = await openInstallPage(h.base, linkFor(h.seed.account.id))
    return { state: start.authorizeUrl!.searchParams.get('state')!, cookie: start.stateCookie }
  }

  it.each([
    ['no state cookie (another browser)', async () => ({ ...(await stateOf()), cookie: null })],
    ['a cookie for another state', async () => ({ state: (await stateOf()).state, cookie: (await stateOf()).cookie })],
    ['a state signed with another secret', async () => forgedState()],
    ['no state at all', async () => ({ state: '', cookie: (await stateOf()).cookie })],
  ] as const)('%s: 400, nothing exchanged, stored or linked', async (_label, make) => {
    const { state, cookie } = await make()
    const access: unknown[] = []
    mockOAuthAccess(ACME, access as never[])
    const page = await returnFromSlack(h.base, { code: 'c', ...(state ? { state } : {}) }, cookie)
    expect(page.status).toBe(400)
    expect(page.html).toContain('not started in this browser')
    expect(access).toEqual([])
    expect(await installationRows()).toBe(0)
    expect(await connections()).toEqual([])
  })

  it('Slack says the installer cancelled (error=access_denied): a page, 403, nothing stored', async () => {
    const { state, cookie } = await stateOf()
    const page = await returnFromSlack(h.base, { error: 'access_denied', state }, cookie)
    expect(page.status).toBe(403)
    expect(page.html).toContain('Installation cancelled')
    expect(await installationRows()).toBe(0)
  })

  it('another error from Slack is named, 400', async () => {
    const { state, cookie } = await stateOf()
    const page = await returnFromSlack(h.base, { error: 'invalid_scope', state }, cookie)
    expect(page.status).toBe(400)
    expect(page.html).toContain('<code>invalid_scope</code>')
  })

  it.each([
    ['the code was already used', { ok: false, error: 'invalid_code' }, 400, 'Slack no longer accepts this installation'],
    ['the app credentials are wrong', { ok: false, error: 'bad_client_secret' }, 500, 'Slack refused this server'],
  ] as const)('oauth.v2.access: %s', async (_label, answer, status, words) => {
    const { state, cookie } = await stateOf()
    nock(API_ORIGIN).post('/api/oauth.v2.access').reply(200, answer)
    const page = await returnFromSlack(h.base, { code: 'c', state }, cookie)
    expect(page.status).toBe(status)
    expect(page.html).toContain(words)
    expect(await installationRows()).toBe(0)
  })

  it('Slack unreachable: 502, nothing stored, no stack trace', async () => {
    const { state, cookie } = await stateOf()
    nock(API_ORIGIN).post('/api/oauth.v2.access').replyWithError('connect ECONNREFUSED')
    const page = await returnFromSlack(h.base, { code: 'c', state }, cookie)
    expect(page.status).toBe(502)
    expect(page.html).toContain('Slack did not answer')
    expect(page.html).not.toMatch(/at .*\.(ts|js):\d+/)
    expect(await installationRows()).toBe(0)
  })

  it.each([
    'code=c&state=a.b.c',
    'code=c&code=d&state=x&state=y',
    'error=%3Cscript%3E&state=x',
    'error=access_denied&error=other',
    'state=x',
    '',
    'code=' + 'x'.repeat(5000),
  ])('junk on the way back (%s): a 4xx page, never a crash, nothing stored', async (query) => {
    const { cookie } = await stateOf()
    const res = await fetch(`${h.base}/slack/oauth_redirect?${query}`, { headers: { cookie: `${STATE_COOKIE}=${cookie}` } })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    const html = await res.text()
    expect(html).not.toContain('<script>')
    expect(html).not.toMatch(/at .*\.(ts|js):\d+/)
    expect(await installationRows()).toBe(0)
  })

  it('an install that granted no bot token (user scopes only) is refused, nothing stored', async () => {
    const { page } = await installThroughSlack(h.base, { ...ACME, userTokenOnly: true }, { link: linkFor(h.seed.account.id), installerEmail: 'admin@acme.test' })
    expect(page.status).toBe(400)
    expect(page.html).toContain('did not give the app its bot permissions')
    expect(await installationRows()).toBe(0)
    expect(await connections()).toEqual([])
  })

  it('users.info on the installer fails: installed, not linked, told to open the link again', async () => {
    const { state, cookie } = await stateOf()
    mockOAuthAccess(ACME, [])
    mockAuthTest(ACME, [])
    nock(API_ORIGIN).post('/api/users.info').reply(500, 'down')
    const page = await returnFromSlack(h.base, { code: 'c', state }, cookie)
    expect(page.status).toBe(502)
    expect(page.html).toContain('Slack did not tell us who you are')
    expect(await installationRows()).toBe(1)
    expect(await connections()).toEqual([])
  })
})

/** The last character of the signature changed: the link no longer verifies. */
function flipLast(link: string): string {
  const parts = link.split('.')
  const sig = parts.pop()!
  const swapped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11)
  return [...parts, swapped].join('.')
}

/** The expiry part moved a year on, the signature kept: the link no longer verifies. */
function moveExpiry(link: string): string {
  const parts = link.split('.')
  parts[2] = (parseInt(parts[2]!, 36) + 365 * 86_400).toString(36)
  return parts.join('.')
}

/** A state @slack/oauth would accept but for its signature (an HS256 JWT under another secret), and the matching cookie. */
function forgedState(): { state: string; cookie: string } {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ installOptions: { scopes: [...SLACK_BOT_SCOPES], redirectUri: 'http://invite.test/slack/oauth_redirect' }, now: new Date().toJSON(), random: 1 })}`
  const state = `${signed}.${createHmac('sha256', 'another-state-secret-0123456789abcdef').update(signed).digest('base64url')}`
  return { state, cookie: state }
}
