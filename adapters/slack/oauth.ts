/**
 * "Add to Slack" in distribution mode (docs/slack-distribution.md): `GET /slack/install` and
 * `GET /slack/oauth_redirect`, served by @slack/oauth's `InstallProvider` (the OAuth v2 flow, the
 * signed `state` and its browser cookie, `oauth.v2.access`), with our pages and two steps of ours:
 *
 *  - **before Slack**: an install link (`?link=…`, printed by `inviteops slack install-link`) is
 *    checked first; a malformed, altered or expired one gets a page saying why and nothing goes to
 *    Slack. A valid one travels through Slack inside the signed OAuth state
 *    (`installUrlOptions.metadata`), so what comes back is what we sent.
 *  - **after Slack** (the installation is stored through installation-store.ts): with the new bot
 *    token, `users.info` says who installed and whether Slack vouches for their email
 *    (identity.ts), and the core links the workspace to the link's account only if that email is
 *    an Active administrator of it (`linkInstalledWorkspace`, audited either way).
 *
 * Every call to Slack has a deadline (`SLACK_CALL_TIMEOUT_MS`). The pages are browser pages, served
 * over HTTP whether Slack's requests arrive over HTTP or Socket Mode.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { InstallProvider, type CodedError, type Installation, type InstallURLOptions, type OrgInstallation } from '@slack/oauth'
import { WebClient, type WebClientOptions } from '@slack/web-api'
import { Router, type Response } from 'express'
import { z } from 'zod'
import { resolveAccount } from '../../src/accounts/resolve-account.ts'
import type { Deps } from '../../src/deps.ts'
import { readInstallLink } from '../../src/installations/install-link.ts'
import { linkInstalledWorkspace } from '../../src/installations/link-installed-workspace.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { dateFormatter } from '../web/pages.ts'
import { quietSlackLogger } from './bolt-logger.ts'
import { SLACK_BOT_SCOPES, SLACK_CALL_TIMEOUT_MS, SLACK_INSTALL_PATH, SLACK_OAUTH_REDIRECT_PATH, type SlackConfig, type SlackOAuthConfig } from './config.ts'
import { judgeSlackUser, slackActor, type SlackIdentity } from './identity.ts'
import { createSlackInstallationStore, UnusableInstallationError } from './installation-store.ts'
import {
  ICON_SVG,
  renderAddToSlack,
  renderInstallFailure,
  renderInstallLinkProblem,
  renderInstallResult,
  type InstallFailure,
  type InstallLinkInfo,
  type InstallPage,
  type InstallPageContext,
} from './oauth-pages.ts'

/** Where the install pages' stylesheet and icon are served (the invitee's stylesheet, reused). */
export const SLACK_INSTALL_ASSETS_PATH = '/slack/assets'

export interface SlackInstallRouterOptions {
  /** Extra WebClient options for `oauth.v2.access`, `auth.test` and `users.info` (tests: `retryConfig: { retries: 0 }`). */
  clientOptions?: WebClientOptions
  /** Product name on the pages. Default `InviteOps`. */
  productName?: string
}

/**
 * Retries of the flow's calls: a couple, within 20 seconds, because the installer is waiting in a
 * browser (the client's default is 10 retries over 30 minutes). Retrying `oauth.v2.access` cannot
 * install twice: its code is single-use, so a retry of an exchange that did reach Slack is
 * answered `invalid_code`, and the page asks the installer to start again.
 */
const FLOW_RETRIES: WebClientOptions['retryConfig'] = { retries: 2, factor: 2, minTimeout: 500, maxRetryTime: 20_000 }

const SECURITY_HEADERS: Record<string, string> = {
  // No script; styles and the icon from us. Navigating to Slack through the button is a link, not
  // a form, so form-action stays 'none'.
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  // The install link and the OAuth code are in the URL: never send them to another site.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Each page carries a fresh state (and sets its cookie): no cache may keep one.
  'Cache-Control': 'no-store',
  'X-Robots-Tag': 'noindex, nofollow',
}

// Slack's own error on the way back (`?error=access_denied`), read through zod like any input.
const CallbackQuery = z.object({ error: z.string().max(100).regex(/^[a-z0-9_.-]+$/).optional() })
// A Web API failure carries its kind in `code` and, from Slack, its error in `data.error`.
const WebApiFailure = z.object({ code: z.string(), data: z.object({ error: z.string() }).optional() })
// The installer as an Enterprise Grid member (`users.info`): which organisation they belong to.
const EnterpriseMember = z.object({ user: z.object({ team_id: z.string().optional(), enterprise_user: z.object({ enterprise_id: z.string().optional() }).optional() }) })

// Slack's answers that mean the code or the exchange itself is no longer valid (start again), and
// the ones that mean the operator's configuration is wrong (https://docs.slack.dev/reference/methods/oauth.v2.access#errors).
const CODE_REJECTED = new Set(['invalid_code', 'code_already_used', 'invalid_grant_type', 'oauth_authorization_url_mismatch'])
const MISCONFIGURED = new Set(['bad_client_secret', 'invalid_client_id', 'bad_redirect_uri', 'invalid_client', 'invalid_team_for_non_distributed_app', 'cannot_install_an_org_installed_app'])

/**
 * The install router (mount at the app root). Served only in distribution mode: `config.oauth`
 * must be set.
 */
export function createSlackInstallRouter(deps: Deps, config: SlackConfig, opts: SlackInstallRouterOptions = {}): Router {
  if (!config.oauth) throw new Error('createSlackInstallRouter: distribution mode needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET')
  const oauth: SlackOAuthConfig = config.oauth
  const logger = deps.logger.child({ adapter: 'slack', component: 'slack-install' })
  const css = readFileSync(new URL('../web/invitee.css', import.meta.url))
  const cssVersion = createHash('sha256').update(css).digest('hex').slice(0, 12)
  const formatDate = dateFormatter()
  const ctx: InstallPageContext = {
    productName: opts.productName ?? 'InviteOps',
    stylesheetHref: `${SLACK_INSTALL_ASSETS_PATH}/install.css?v=${cssVersion}`,
    iconHref: `${SLACK_INSTALL_ASSETS_PATH}/icon.svg`,
    formatDate,
  }
  // Our logger without its debug lines (bolt-logger.ts): the flow's calls carry the client secret and the code.
  const clientOptions: WebClientOptions = { slackApiUrl: config.apiUrl, timeout: SLACK_CALL_TIMEOUT_MS, retryConfig: FLOW_RETRIES, logger: quietSlackLogger(logger), ...opts.clientOptions }
  const redirectUri = `${deps.config.publicBaseUrl}${SLACK_OAUTH_REDIRECT_PATH}`
  const redirectProblem = slackRedirectUrlProblem(redirectUri)
  if (redirectProblem) logger.warn({ redirectUri }, redirectProblem)
  const baseOptions: InstallURLOptions = { scopes: [...SLACK_BOT_SCOPES], redirectUri }

  // `renderHtmlForInstallPath` is given only the authorize URL; the page also needs the install
  // link the request carried, which this request's async context holds.
  const installPage = new AsyncLocalStorage<{ link: InstallLinkInfo | null }>()
  const provider = new InstallProvider({
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateSecret: oauth.stateSecret,
    installationStore: createSlackInstallationStore(deps),
    installUrlOptions: baseOptions,
    renderHtmlForInstallPath: (authorizeUrl) => renderAddToSlack(ctx, { authorizeUrl, scopes: SLACK_BOT_SCOPES, link: installPage.getStore()?.link ?? null }).html,
    logger: flowLogger(logger),
    clientOptions,
  })

  const send = (res: Response, rendered: InstallPage) => {
    res.status(rendered.status).type('html').send(rendered.html)
  }

  const router = Router()
  router.use([SLACK_INSTALL_PATH, SLACK_OAUTH_REDIRECT_PATH, SLACK_INSTALL_ASSETS_PATH], (_req, res, next) => {
    res.set(SECURITY_HEADERS)
    next()
  })

  router.get(`${SLACK_INSTALL_ASSETS_PATH}/install.css`, (req, res) => {
    res.set('Cache-Control', req.query.v === cssVersion ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
    res.type('text/css').send(css)
  })
  router.get(`${SLACK_INSTALL_ASSETS_PATH}/icon.svg`, (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400')
    res.type('image/svg+xml').send(ICON_SVG)
  })

  router.get(SLACK_INSTALL_PATH, async (req, res) => {
    try {
      let installOptions = baseOptions
      let link: InstallLinkInfo | null = null
      if (req.query.link !== undefined) {
        const check = readInstallLink(deps.config.inviteSecret, req.query.link, deps.clock.now())
        if (!check.ok) {
          logger.info({ reason: check.reason }, 'slack install link refused before Slack')
          send(res, renderInstallLinkProblem(ctx, check.reason))
          return
        }
        const account = await resolveAccount(deps.db, check.accountId)
        if (!account) {
          send(res, renderInstallLinkProblem(ctx, 'account_missing'))
          return
        }
        // The link rides in the signed state and is checked again when Slack sends the installer back.
        installOptions = { ...baseOptions, metadata: String(req.query.link) }
        link = { accountName: account.name, expiresAt: check.expiresAt }
      }
      await installPage.run({ link }, () => provider.handleInstallPath(req, res, undefined, installOptions))
    } catch (error) {
      logger.error({ err: errorText(error) }, 'slack install page failed')
      if (!res.headersSent) send(res, renderInstallFailure(ctx, { kind: 'server_error' }))
    }
  })

  router.get(SLACK_OAUTH_REDIRECT_PATH, async (req, res) => {
    const slackError = CallbackQuery.safeParse(req.query).data?.error
    try {
      await provider.handleCallback(req, res, {
        successAsync: async (installation, options) => {
          send(res, await afterInstall(installation, options))
        },
        failureAsync: async (error) => {
          const failure = classifyFailure(error, slackError, req.query.error !== undefined)
          const level = failure.kind === 'server_error' || failure.kind === 'misconfigured' ? 'error' : 'warn'
          logger[level]({ err: errorText(error), code: error.code, slackError: webApiError(error), failure: failure.kind }, 'slack install not completed')
          send(res, renderInstallFailure(ctx, failure))
        },
      })
    } catch (error) {
      // handleCallback answers through failureAsync; this is what a failing failure page leaves.
      logger.error({ err: errorText(error) }, 'slack install callback failed')
      if (!res.headersSent) send(res, renderInstallFailure(ctx, { kind: 'server_error' }))
    }
  })

  /** The installation is stored: who installed, and link the workspace if their install link says so. */
  async function afterInstall(installation: Installation | OrgInstallation, options: InstallURLOptions): Promise<InstallPage> {
    const isOrg = installation.isEnterpriseInstall === true
    const externalId = isOrg ? installation.enterprise?.id : installation.team?.id
    const workspaceName = (isOrg ? installation.enterprise?.name : installation.team?.name) ?? null
    const botToken = installation.bot?.token
    const installerId = installation.user?.id
    // The store refused installations without these already; a second check keeps types honest.
    if (!externalId || !botToken) return renderInstallFailure(ctx, { kind: 'unusable' })
    const linkToken = typeof options.metadata === 'string' && options.metadata !== '' ? options.metadata : null
    let identity: SlackIdentity
    if (!installerId) {
      identity = { ok: false, problem: 'lookup_failed' }
    } else {
      try {
        const raw: unknown = await new WebClient(botToken, clientOptions).users.info({ user: installerId })
        identity = judgeInstaller(raw, installation, isOrg)
      } catch (error) {
        // Installed, but we cannot tell who did it: linking on a guess would be wrong, refusing
        // it as "not an administrator" would be untrue. The link still works: open it again.
        logger.warn({ err: errorText(error), slackError: webApiError(error), externalId }, 'slack users.info on the installer failed: installed, not linked')
        if (linkToken) return renderInstallFailure(ctx, { kind: 'identity_unavailable', workspaceName })
        identity = { ok: false, problem: 'lookup_failed' }
      }
    }
    const result = await linkInstalledWorkspace(deps, { linkToken, externalId, workspaceName, installer: slackActor(installerId ?? 'unknown', identity, null), now: deps.clock.now() })
    logger.info({ externalId, enterprise: isOrg, code: result.code, withLink: linkToken !== null, vouched: identity.ok }, 'slack installed')
    return renderInstallResult(ctx, { result, workspaceName })
  }

  return router
}

/**
 * Why Slack would refuse `redirectUri` as the app's OAuth redirect URL, or null. Slack accepts only
 * https redirect URLs (https://docs.slack.dev/authentication/installing-with-oauth), and the one we
 * send is PUBLIC_BASE_URL's, which defaults to http://localhost: the install would start, and
 * Slack would answer the installer with a `bad_redirect_uri` page instead of asking for consent.
 */
export function slackRedirectUrlProblem(redirectUri: string): string | null {
  let url: URL
  try {
    url = new URL(redirectUri)
  } catch {
    return `Slack distribution: the OAuth redirect URL ${redirectUri} is not a URL: set PUBLIC_BASE_URL to this server's public https address`
  }
  if (url.protocol === 'https:') return null
  return `Slack distribution: the OAuth redirect URL ${url.origin}${url.pathname} is not https, and Slack refuses it (every install would end on Slack's bad_redirect_uri page). Set PUBLIC_BASE_URL to this server's public https address and list ${SLACK_OAUTH_REDIRECT_PATH} under it in the app's Redirect URLs`
}

/**
 * Whether Slack vouches for the installer's email (identity.ts's rules). An org-wide install
 * belongs to no one workspace: the installer must be a member of that organisation, judged in
 * their own home workspace.
 */
function judgeInstaller(raw: unknown, installation: Installation | OrgInstallation, isOrg: boolean): SlackIdentity {
  if (!isOrg) return judgeSlackUser(installation.team?.id ?? '', raw)
  const member = EnterpriseMember.safeParse(raw)
  const enterpriseId = installation.enterprise?.id
  if (!member.success || !enterpriseId || member.data.user.enterprise_user?.enterprise_id !== enterpriseId || !member.data.user.team_id) return { ok: false, problem: 'stranger' }
  return judgeSlackUser(member.data.user.team_id, raw)
}

/** What the failure page says, from @slack/oauth's error (or ours from the store) and Slack's `?error=`. */
export function classifyFailure(error: CodedError, slackError: string | undefined, errorParamGiven: boolean): InstallFailure {
  if (slackError === 'access_denied') return { kind: 'denied' }
  if (slackError) return { kind: 'slack_error', error: slackError }
  // An `error=` that is not a plain Slack code: treat as an answer we cannot read.
  if (errorParamGiven) return { kind: 'missing_code' }
  if (error instanceof UnusableInstallationError) return { kind: 'unusable' }
  switch (error.code) {
    case 'slack_oauth_invalid_state':
    case 'slack_oauth_missing_state':
      return { kind: 'bad_state' }
    case 'slack_oauth_missing_code':
      return { kind: 'missing_code' }
    case 'slack_webapi_platform_error': {
      const code = webApiError(error) ?? ''
      if (CODE_REJECTED.has(code)) return { kind: 'code_rejected' }
      if (MISCONFIGURED.has(code)) return { kind: 'misconfigured' }
      return { kind: 'slack_unreachable' }
    }
    case 'slack_webapi_request_error':
    case 'slack_webapi_http_error':
    case 'slack_webapi_rate_limited_error':
      return { kind: 'slack_unreachable' }
    default:
      return { kind: 'server_error' }
  }
}

function webApiError(error: unknown): string | undefined {
  return WebApiFailure.safeParse(error).data?.data?.error
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * @slack/oauth's logger (also given to its WebClients): no debug lines (quietSlackLogger: they
 * carry the state, the install link, the client secret and the code). It logs every failed
 * callback at error level, a cancelled install included; ours (`failureAsync`) logs each with its
 * cause at the level it deserves, so the library's go to warn.
 */
function flowLogger(logger: Logger): ReturnType<typeof quietSlackLogger> {
  const inner = quietSlackLogger(logger, 'slack-oauth')
  return { ...inner, error: inner.warn }
}
