/**
 * Harness for the "Add to Slack" tests: the install router in the real HTTP app, a browser that
 * keeps the state cookie between `/slack/install` and `/slack/oauth_redirect`, and Slack's side of
 * the OAuth dance (`oauth.v2.access`, `auth.test`, `users.info`) played by nock on a test
 * SLACK_API_URL, each call's request captured so the test can say what was sent, with which token.
 */
import nock from 'nock'
import type { Router } from 'express'
import { createSlackInstallRouter } from '../../adapters/slack/oauth.ts'
import type { SlackConfig } from '../../adapters/slack/config.ts'
import type { Deps } from '../../src/deps.ts'
import { serveRouter } from '../support/http.ts'
import { API_ORIGIN, API_URL, SIGNING_SECRET, fixture } from './support.ts'

export const CLIENT_ID = '1234567890.9876543210'
export const CLIENT_SECRET = 'test-client-secret-abcdef'
export const STATE_SECRET = 'test-state-secret-0123456789abcdef0123'
export const STATE_COOKIE = 'slack-app-oauth-state'

/** Distribution mode over HTTP, Slack's Web API on the test host. */
export const DISTRIBUTION_CONFIG: SlackConfig = {
  signingSecret: SIGNING_SECRET,
  botToken: null,
  apiUrl: API_URL,
  oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, stateSecret: STATE_SECRET },
  appToken: null,
}

/** The install router alone, listening on loopback. */
export async function serveInstallRouter(deps: Deps, config: SlackConfig = DISTRIBUTION_CONFIG): Promise<{ base: string; close(): Promise<void> }> {
  const router: Router = createSlackInstallRouter(deps, config, { clientOptions: { retryConfig: { retries: 0 } } })
  return serveRouter(deps.db, Object.assign(router, { idle: async () => {} }))
}

export interface InstallPageAnswer {
  status: number
  html: string
  headers: Headers
  /** The "Add to Slack" button's target, when the page has one. */
  authorizeUrl: URL | null
  /** The state cookie's value, when one was set. */
  stateCookie: string | null
}

/** Decodes the few entities `html` writes into attributes. */
function unescapeAttribute(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}

/** `GET /slack/install` (with `?link=` when given), as a browser opens it. */
export async function openInstallPage(base: string, link?: string | string[]): Promise<InstallPageAnswer> {
  const url = new URL(`${base}/slack/install`)
  for (const l of link === undefined ? [] : Array.isArray(link) ? link : [link]) url.searchParams.append('link', l)
  const res = await fetch(url, { redirect: 'manual' })
  const html = await res.text()
  const href = /<a class="button button--primary" href="([^"]+)">Add to Slack<\/a>/.exec(html)?.[1]
  const cookie = res.headers
    .getSetCookie()
    .map((c) => new RegExp(`^${STATE_COOKIE}=([^;]+)`).exec(c)?.[1])
    .find((v) => v !== undefined)
  return { status: res.status, html, headers: res.headers, authorizeUrl: href ? new URL(unescapeAttribute(href)) : null, stateCookie: cookie ?? null }
}

/** Slack sending the installer back: `GET /slack/oauth_redirect?…` with the browser's cookie. */
export async function returnFromSlack(base: string, query: Record<string, string>, cookie: string | null): Promise<{ status: number; html: string; setCookies: string[] }> {
  const res = await fetch(`${base}/slack/oauth_redirect?${new URLSearchParams(query).toString()}`, { headers: cookie === null ? {} : { cookie: `${STATE_COOKIE}=${cookie}` }, redirect: 'manual' })
  return { status: res.status, html: await res.text(), setCookies: res.headers.getSetCookie() }
}

/** One workspace (or organisation) as Slack's `oauth.v2.access` describes it. */
export interface SlackSideInstall {
  teamId: string | null
  teamName?: string | null
  enterprise?: { id: string; name: string } | null
  isEnterpriseInstall?: boolean
  botToken: string
  botUserId?: string
  botId?: string
  installerId: string
  /** Token rotation on: the refresh token and seconds to expiry Slack returns. */
  rotation?: { refreshToken: string; expiresIn: number }
  /** A user-token-only answer (no bot token): what an install without bot scopes gives. */
  userTokenOnly?: boolean
}

/** What nock saw of one Web API call. */
export interface CapturedCall {
  body: Record<string, string>
  authorization: string | undefined
}

/** A nock reply that records the form and the Authorization header of the request it answers. */
function capture(calls: CapturedCall[], answer: unknown): (this: { req: { headers: Record<string, string | string[] | undefined> } }, uri: string, body: unknown) => [number, unknown] {
  return function (uri, body) {
    const authorization = this.req.headers.authorization
    calls.push({ body: Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : '')), authorization: Array.isArray(authorization) ? authorization.join(',') : authorization })
    return [200, answer]
  }
}

/** Answers `oauth.v2.access` (once) for `install`, capturing the form sent. */
export function mockOAuthAccess(install: SlackSideInstall, calls: CapturedCall[]): nock.Scope {
  const answer = install.userTokenOnly
    ? {
        ok: true,
        app_id: 'A0INVITEOPS',
        authed_user: { id: install.installerId, scope: 'identify', access_token: 'xoxp-user-only-token', token_type: 'user' },
        team: install.teamId ? { id: install.teamId, name: install.teamName ?? 'Workspace' } : null,
        enterprise: install.enterprise ?? null,
        is_enterprise_install: install.isEnterpriseInstall ?? false,
      }
    : {
        ok: true,
        app_id: 'A0INVITEOPS',
        authed_user: { id: install.installerId },
        scope: 'commands,chat:write,users:read,users:read.email',
        token_type: 'bot',
        access_token: install.botToken,
        bot_user_id: install.botUserId ?? 'U0INVITEBOT',
        team: install.teamId ? { id: install.teamId, name: install.teamName ?? 'Workspace' } : null,
        enterprise: install.enterprise ?? null,
        is_enterprise_install: install.isEnterpriseInstall ?? false,
        ...(install.rotation ? { refresh_token: install.rotation.refreshToken, expires_in: install.rotation.expiresIn } : {}),
      }
  return nock(API_ORIGIN).post('/api/oauth.v2.access').reply(capture(calls, answer))
}

/** `auth.test` with the new bot token (@slack/oauth asks it for the bot id). */
export function mockAuthTest(install: SlackSideInstall, calls: CapturedCall[]): nock.Scope {
  return nock(API_ORIGIN)
    .post('/api/auth.test')
    .reply(capture(calls, { ok: true, url: 'https://acme.slack.test/', team: install.teamName ?? 'Workspace', team_id: install.teamId ?? undefined, user_id: install.botUserId ?? 'U0INVITEBOT', bot_id: install.botId ?? 'B0INVITEBOT', is_enterprise_install: install.isEnterpriseInstall ?? false }))
}

/** `users.info` on the installer, answered with the member fixture adjusted; captures the token used. */
export function mockInstallerInfo(install: SlackSideInstall, calls: CapturedCall[], member: { email: string; user?: Record<string, unknown> }): nock.Scope {
  const base = fixture<{ ok: true; user: Record<string, unknown> & { profile: Record<string, unknown> } }>('users-info-member.json')
  const body = { ok: true, user: { ...base.user, id: install.installerId, team_id: install.teamId ?? 'T0HOMETEAM', ...member.user, profile: { ...base.user.profile, email: member.email } } }
  return nock(API_ORIGIN)
    .post('/api/users.info', (b: Record<string, string>) => b.user === install.installerId)
    .reply(capture(calls, body))
}

/**
 * The whole dance in one call: open the install page (with `link`), follow the button to Slack
 * (played here: Slack sends the browser back with a code and the state), and return the last page.
 */
export async function installThroughSlack(
  base: string,
  install: SlackSideInstall,
  opts: { link?: string; installerEmail: string; installerUser?: Record<string, unknown>; code?: string },
): Promise<{ page: { status: number; html: string; setCookies: string[] }; access: CapturedCall[]; authTest: CapturedCall[]; usersInfo: CapturedCall[]; start: InstallPageAnswer }> {
  const start = await openInstallPage(base, opts.link)
  if (!start.authorizeUrl || !start.stateCookie) throw new Error(`no Add to Slack button (status ${start.status})`)
  const access: CapturedCall[] = []
  const authTest: CapturedCall[] = []
  const usersInfo: CapturedCall[] = []
  mockOAuthAccess(install, access)
  if (!install.userTokenOnly) {
    mockAuthTest(install, authTest)
    mockInstallerInfo(install, usersInfo, { email: opts.installerEmail, user: opts.installerUser })
  }
  const state = start.authorizeUrl.searchParams.get('state') ?? ''
  const page = await returnFromSlack(base, { code: opts.code ?? `code-${install.teamId ?? install.enterprise?.id}`, state }, start.stateCookie)
  return { page, access, authTest, usersInfo, start }
}
