/**
 * Which bot token answers a Slack workspace (docs/architecture.md, "One chat request"): every
 * command, click, form and notice of a workspace is sent with that workspace's own token.
 *
 *  - **One workspace** (`SLACK_BOT_TOKEN`): that token, for every request.
 *  - **Distribution** (`SLACK_CLIENT_ID`…): the installation stored for the request's workspace
 *    (or for its Enterprise Grid organisation, after an org-wide install), looked up on every
 *    request so an uninstall on one replica is seen by all of them at once. With token rotation
 *    on, a token that expires within `ROTATE_WITHIN_MS` is refreshed first (`oauth.v2.access`,
 *    grant_type=refresh_token), once across replicas: the core locks the row while it refreshes.
 *
 * A token Slack refuses on any call of a request or a notice (`invalid_auth`, `token_revoked`,
 * `account_inactive`; `token_expired` when there is no refresh token to get another) means the
 * workspace removed the app or revoked it and the event has not reached us (or was lost): the
 * installation is marked revoked there and then, while it still holds that token, so the next
 * request is told how to reinstall and notices are held.
 *
 * Each token gets a pair of Web API clients (reads that retry a little, writes that never do),
 * kept in a small cache so a busy workspace does not build new clients for every request, and so
 * each workspace's calls carry its own `Authorization: Bearer` header.
 */
import { LogLevel } from '@slack/bolt'
import { ErrorCode, WebClient, type RetryOptions, type WebAPICallResult, type WebClientOptions } from '@slack/web-api'
import { z } from 'zod'
import type { Deps } from '../../src/deps.ts'
import { disableSlackInstallation, findSlackInstallation, refreshSlackBotToken, type SlackBotTokens, type SlackInstallationKey } from '../../src/installations/slack-installations.ts'
import { createSlackFetch } from './http-fetch.ts'
import { quietSlackLogger } from './bolt-logger.ts'
import { SLACK_CALL_TIMEOUT_MS, type SlackConfig } from './config.ts'

/**
 * How long before its expiry a rotating bot token is refreshed. Slack's rotating tokens live 12
 * hours (https://docs.slack.dev/authentication/using-token-rotation); two hours leaves room for a
 * refresh that fails to be tried again on later requests while the old token still works.
 */
export const ROTATE_WITHIN_MS = 2 * 60 * 60_000

/**
 * Retries of Web API reads (`users.info`): a couple, within 30 seconds. The client's default (10
 * retries over about 30 minutes) suits a background job, not an administrator waiting for an
 * answer; a rate limit is still waited out (the client pauses for Retry-After) within the same
 * budget. Asking again changes nothing at Slack.
 */
export const READ_RETRIES: RetryOptions = { retries: 2, factor: 2, minTimeout: 1_000, maxRetryTime: 30_000 }

/**
 * Web API writes (`chat.postMessage`, `views.open`) are never retried. A post that timed out may
 * have reached Slack, and posting again shows the confirmation twice (the client retries a
 * timeout like any network error); a `views.open` trigger_id is single-use, so a second try
 * cannot work. A rate limit is returned at once rather than waited out: a refused post falls
 * back to the `response_url` (interactions.ts), and a notice goes back to the notices job, whose
 * lease is its retry.
 */
export const WRITE_POLICY: WebClientOptions = { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true }

/**
 * The `fetch` of each client (http-fetch.ts): a read is sent once more when a reused keep-alive
 * connection is dropped under it before any answer; a write never is (it may have reached Slack).
 */
const READ_FETCH = createSlackFetch({ retryDropped: true })
const WRITE_FETCH = createSlackFetch()

/** The two Web API clients of one bot token. */
export interface WorkspaceClients {
  /** `users.info`: retries a little (`READ_RETRIES`). */
  reads: WebClient
  /** `chat.postMessage`, `views.open`: never retried (`WRITE_POLICY`). */
  writes: WebClient
}

/** Where a request or a notice comes from: Slack's ids, as the payload gives them. */
export interface WorkspaceQuery {
  teamId: string | null
  enterpriseId: string | null
  /** True for an org-wide install (the payload's `is_enterprise_install`). */
  isEnterpriseInstall?: boolean
}

/** Why a workspace has no token to answer with: never installed, uninstalled, revoked, or a rotated token that expired and could not be refreshed. */
export type WorkspaceGone = 'not_installed' | 'uninstalled' | 'revoked' | 'expired'

/** A workspace's token, or why there is none. */
export type WorkspaceAccess = { ok: true; botToken: string; botUserId: string | null; clients: WorkspaceClients } | { ok: false; gone: WorkspaceGone; teamName: string | null }

export interface SlackWorkspaces {
  /** Distribution mode (tokens per workspace) rather than one workspace. */
  readonly distribution: boolean
  /** The token (and its clients) for a workspace. Throws only for an outage (the database). */
  access(q: WorkspaceQuery): Promise<WorkspaceAccess>
  /** The clients of a token (cached); given the installation the token belongs to, they disable it when Slack refuses the token. */
  clients(botToken: string, owner?: SlackInstallationKey): WorkspaceClients
}

/** Slack's answers that mean the token itself no longer works (https://docs.slack.dev/reference/methods/auth.test#errors). */
const DEAD_TOKEN_ERRORS = new Set(['invalid_auth', 'token_revoked', 'account_inactive'])

/** Slack's error name of a refused Web API call (`data.error`), or null for any other failure. */
function platformError(error: unknown): string | null {
  const coded = error as { code?: unknown; data?: { error?: unknown } } | null
  return coded?.code === ErrorCode.PlatformError && typeof coded.data?.error === 'string' ? coded.data.error : null
}

/**
 * A WebClient that tells `onRefused` of every error Slack answers, before the caller sees it.
 * Every method (`users.info`, `chat.postMessage`, `views.open`) goes through `apiCall`, so one
 * override sees the calls of requests and of notices alike.
 */
class WatchedWebClient extends WebClient {
  constructor(
    token: string,
    options: WebClientOptions,
    private readonly onRefused: (slackError: string) => Promise<void>,
  ) {
    super(token, options)
  }

  override async apiCall(method: string, options?: Record<string, unknown>): Promise<WebAPICallResult> {
    try {
      return await super.apiCall(method, options)
    } catch (error) {
      const slackError = platformError(error)
      if (slackError !== null) await this.onRefused(slackError)
      throw error
    }
  }
}

export interface SlackWorkspacesOptions {
  /** Extra WebClient options (tests: `retryConfig: { retries: 0 }`); writes keep `WRITE_POLICY` whatever is given here. */
  clientOptions?: WebClientOptions
  /** Deadline of one Web API attempt, including `oauth.v2.access` (default `SLACK_CALL_TIMEOUT_MS`). */
  webApiMs?: number
  /** Most tokens whose clients are kept (least recently used dropped first); default 500. */
  maxClients?: number
  /** How long before expiry a rotating token is refreshed (default `ROTATE_WITHIN_MS`). */
  rotateWithinMs?: number
}

/** The part of Slack's `oauth.v2.access` answer to a refresh we use (https://docs.slack.dev/reference/methods/oauth.v2.access). */
const RefreshAnswer = z.object({
  ok: z.literal(true),
  // With rotation on, Slack's bot tokens read `xoxe.xoxb-1-…` (and its refresh tokens `xoxe-1-…`).
  access_token: z.string().regex(/^(xoxe\.)?xoxb-/, 'not a bot token'),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive().optional(),
})

export function createSlackWorkspaces(deps: Deps, config: SlackConfig, opts: SlackWorkspacesOptions = {}): SlackWorkspaces {
  const logger = deps.logger.child({ adapter: 'slack' })
  const webApiMs = opts.webApiMs ?? SLACK_CALL_TIMEOUT_MS
  const maxClients = opts.maxClients ?? 500
  const rotateWithinMs = opts.rotateWithinMs ?? ROTATE_WITHIN_MS
  const readOptions: WebClientOptions = { slackApiUrl: config.apiUrl, timeout: webApiMs, logLevel: LogLevel.ERROR, retryConfig: READ_RETRIES, fetch: READ_FETCH, ...opts.clientOptions }
  const writeOptions: WebClientOptions = { ...readOptions, fetch: opts.clientOptions?.fetch ?? WRITE_FETCH, ...WRITE_POLICY }

  /**
   * Slack refused `botToken`, the token of `owner`: mark the installation revoked while it still
   * holds that token (not one a rotation or a reinstall put there since). `token_expired` counts
   * only when there is no refresh token: with one, the next request refreshes it. Never throws:
   * the caller's own error is what it must see.
   */
  async function refused(botToken: string, owner: SlackInstallationKey, slackError: string): Promise<void> {
    const expired = slackError === 'token_expired'
    if (!expired && !DEAD_TOKEN_ERRORS.has(slackError)) return
    try {
      const changed = await disableSlackInstallation(deps, owner, 'revoked', { deadBotToken: botToken, unlessRefreshable: expired })
      if (changed) logger.warn({ ...owner, slackError }, 'slack refused the workspace token: installation marked revoked; its requests are told how to reinstall, its notices held')
    } catch (error) {
      logger.error({ ...owner, slackError, err: error instanceof Error ? error.message : String(error) }, 'slack refused the workspace token, and marking the installation revoked failed')
    }
  }

  // Least recently used first: a Map keeps insertion order, and a hit is moved to the end.
  const cache = new Map<string, WorkspaceClients>()
  function clients(botToken: string, owner?: SlackInstallationKey): WorkspaceClients {
    const hit = cache.get(botToken)
    if (hit) {
      cache.delete(botToken)
      cache.set(botToken, hit)
      return hit
    }
    const pair = owner
      ? {
          reads: new WatchedWebClient(botToken, readOptions, (e) => refused(botToken, owner, e)),
          writes: new WatchedWebClient(botToken, writeOptions, (e) => refused(botToken, owner, e)),
        }
      : { reads: new WebClient(botToken, readOptions), writes: new WebClient(botToken, writeOptions) }
    cache.set(botToken, pair)
    while (cache.size > maxClients) {
      const oldest = cache.keys().next()
      if (oldest.done) break
      cache.delete(oldest.value)
    }
    return pair
  }

  if (!config.oauth) {
    const botToken = config.botToken
    return {
      distribution: false,
      clients,
      async access() {
        if (!botToken) return { ok: false, gone: 'not_installed', teamName: null }
        return { ok: true, botToken, botUserId: null, clients: clients(botToken) }
      },
    }
  }

  const oauth = config.oauth
  // Without a token: `oauth.v2.access` authenticates with the client id and secret in the body.
  // Our logger without its debug lines, which would carry that secret and both refresh tokens.
  const oauthClient = new WebClient(undefined, { slackApiUrl: config.apiUrl, timeout: webApiMs, logger: quietSlackLogger(logger), ...opts.clientOptions, retryConfig: { retries: 0 } })

  /** Slack's side of a rotation: a refresh token for a new bot token (and the next refresh token). */
  async function refresh(refreshToken: string): Promise<SlackBotTokens> {
    const raw = await oauthClient.oauth.v2.access({ client_id: oauth.clientId, client_secret: oauth.clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken })
    const answer = RefreshAnswer.safeParse(raw)
    if (!answer.success) throw new Error(`oauth.v2.access answered a refresh with an unexpected shape (${answer.error.issues[0]?.path.join('.') ?? 'body'})`)
    const { access_token, refresh_token, expires_in } = answer.data
    return {
      botToken: access_token,
      botRefreshToken: refresh_token ?? refreshToken,
      botTokenExpiresAt: expires_in === undefined ? null : new Date(deps.clock.now().getTime() + expires_in * 1000),
    }
  }

  // One refresh per installation at a time in this process; across replicas the core's row lock
  // does the same (refreshSlackBotToken), so this only saves a second database connection.
  const refreshing = new Map<string, Promise<Awaited<ReturnType<typeof refreshSlackBotToken>>>>()
  function refreshOnce(key: SlackInstallationKey): ReturnType<typeof refreshSlackBotToken> {
    const id = `${key.isEnterpriseInstall ? 'org' : 'team'}:${key.enterpriseId ?? ''}:${key.teamId ?? ''}`
    const running = refreshing.get(id)
    if (running) return running
    const p = refreshSlackBotToken(deps, key, { refreshWithinMs: rotateWithinMs, refresh }).finally(() => refreshing.delete(id))
    refreshing.set(id, p)
    return p
  }

  return {
    distribution: true,
    clients,
    async access(q) {
      const found = await findSlackInstallation(deps, { teamId: q.teamId, enterpriseId: q.enterpriseId, isEnterpriseInstall: q.isEnterpriseInstall ?? false })
      if (!found) return { ok: false, gone: 'not_installed', teamName: null }
      if (found.status !== 'active') return { ok: false, gone: found.status, teamName: found.teamName }
      let installation = found.installation
      const expiresAt = installation.botTokenExpiresAt
      const now = deps.clock.now().getTime()
      if (expiresAt && installation.botRefreshToken && expiresAt.getTime() - now <= rotateWithinMs) {
        try {
          const fresh = await refreshOnce({ teamId: installation.teamId, enterpriseId: installation.enterpriseId, isEnterpriseInstall: installation.isEnterpriseInstall })
          if (!fresh) return { ok: false, gone: 'revoked', teamName: installation.teamName }
          installation = fresh
        } catch (error) {
          const err = error instanceof Error ? error.message : String(error)
          if (expiresAt.getTime() > deps.clock.now().getTime()) {
            // Still valid for a while: answer with it, and try again on a later request.
            logger.warn({ teamId: installation.teamId, enterpriseId: installation.enterpriseId, err, expiresAt: expiresAt.toISOString() }, 'slack token rotation failed; the current token still works until it expires')
          } else {
            logger.error({ teamId: installation.teamId, enterpriseId: installation.enterpriseId, err, expiredAt: expiresAt.toISOString() }, 'slack token rotation failed and the token has expired: the workspace cannot be answered until a refresh works or it reinstalls the app')
            return { ok: false, gone: 'expired', teamName: installation.teamName }
          }
        }
      } else if (expiresAt && expiresAt.getTime() <= now) {
        logger.error({ teamId: installation.teamId, enterpriseId: installation.enterpriseId }, 'slack bot token has expired and there is no refresh token: the workspace must reinstall the app')
        return { ok: false, gone: 'expired', teamName: installation.teamName }
      }
      const owner = { teamId: installation.teamId, enterpriseId: installation.enterpriseId, isEnterpriseInstall: installation.isEnterpriseInstall }
      return { ok: true, botToken: installation.botToken, botUserId: installation.botUserId, clients: clients(installation.botToken, owner) }
    },
  }
}
