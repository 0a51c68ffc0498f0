/**
 * The Slack adapter's settings (docs/operations.md, docs/slack-distribution.md). Slack is enabled
 * in one of two ways, never both:
 *
 *  - **one workspace**: `SLACK_BOT_TOKEN` (the token Slack shows after installing the app);
 *  - **distribution**: `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET` and `SLACK_STATE_SECRET`; each
 *    customer installs the app through `GET /slack/install` ("Add to Slack") and every request,
 *    click and notice for a workspace uses that workspace's own stored bot token.
 *
 * Either way requests arrive over HTTP (`POST /slack/events`, signed with `SLACK_SIGNING_SECRET`)
 * or, with `SLACK_APP_TOKEN` (`xapp-…`), over Socket Mode: InviteOps opens the connection, so no
 * public URL is needed (the signing secret is then not used for events). The OAuth pages
 * (`/slack/install`, `/slack/oauth_redirect`) are plain browser pages and need no signature.
 *
 * Setting both `SLACK_BOT_TOKEN` and the distribution variables is a start-up error: which token
 * answers a workspace would otherwise depend on which one happened to be checked first.
 *
 * `slackEnvSchema` is a zod fragment the composition root merges into the app's config schema so
 * every problem is reported together; `slackConfigFromEnv` turns the parsed values into the
 * adapter's config, or `null` when Slack is not enabled.
 */
import { z } from 'zod'

const DEFAULT_SLACK_API_URL = 'https://slack.com/api/'

/**
 * How long one call to Slack may take: a Web API attempt or a `response_url` post, on the
 * request path and for the channel notices alike. A healthy call takes a fraction of a second;
 * 10 seconds means Slack (or the way to it) is in trouble.
 */
export const SLACK_CALL_TIMEOUT_MS = 10_000

const nonEmpty = z.string().trim().min(1)

/** Zod fragment over `process.env` (merge into the app's env schema). */
export const slackEnvSchema = z.object({
  SLACK_SIGNING_SECRET: nonEmpty.optional(),
  SLACK_BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^xoxb-/, 'must be a bot token (xoxb-…)')
    .optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  SLACK_CLIENT_ID: z
    .string()
    .trim()
    .regex(/^[0-9]+\.[0-9]+$/, 'must be the app\'s Client ID (digits.digits, from "Basic Information")')
    .optional(),
  SLACK_CLIENT_SECRET: nonEmpty.optional(),
  SLACK_STATE_SECRET: z.string().trim().min(32, 'must be at least 32 characters (it signs the OAuth state)').optional(),
  SLACK_APP_TOKEN: z
    .string()
    .trim()
    .regex(/^xapp-/, 'must be an app-level token (xapp-…) with the connections:write scope')
    .optional(),
})

type SlackEnv = z.infer<typeof slackEnvSchema>

const OAUTH_VARIABLES = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const

/** Cross-field rules: half a configuration is a mistake worth reporting at start. */
export function checkSlackEnv(env: SlackEnv, ctx: { addIssue: (issue: { code: 'custom'; message: string; path: string[] }) => void }): void {
  const oauthSet = OAUTH_VARIABLES.filter((name) => env[name] !== undefined)
  const distribution = oauthSet.length > 0
  const socket = env.SLACK_APP_TOKEN !== undefined
  if (distribution && oauthSet.length < OAUTH_VARIABLES.length) {
    for (const name of OAUTH_VARIABLES.filter((n) => env[n] === undefined)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `${oauthSet.join(' and ')} ${oauthSet.length === 1 ? 'is' : 'are'} set but ${name} is not: distribution ("Add to Slack") needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET` })
    }
  }
  if (distribution && env.SLACK_BOT_TOKEN) {
    ctx.addIssue({
      code: 'custom',
      path: ['SLACK_BOT_TOKEN'],
      message: 'SLACK_BOT_TOKEN (one workspace) and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_STATE_SECRET (distribution) are both set: choose one. In distribution mode every workspace installs the app through /slack/install and its own token is stored',
    })
  }
  const enabled = distribution || env.SLACK_BOT_TOKEN !== undefined
  // Over HTTP every request is checked against the signing secret; over Socket Mode Slack
  // authenticates the connection instead.
  if (enabled && !socket && !env.SLACK_SIGNING_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_SIGNING_SECRET'], message: `${env.SLACK_BOT_TOKEN ? 'SLACK_BOT_TOKEN' : 'SLACK_CLIENT_ID'} is set but SLACK_SIGNING_SECRET is not: requests on /slack/events are verified with it (or set SLACK_APP_TOKEN to use Socket Mode instead)` })
  }
  if (env.SLACK_SIGNING_SECRET && !enabled) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not: set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET (distribution) to enable Slack' })
  }
  if (socket && !enabled) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: Socket Mode needs the bot token too (or the distribution variables)' })
  }
}

/** The OAuth app's credentials (distribution mode). */
export interface SlackOAuthConfig {
  clientId: string
  clientSecret: string
  /** Signs the OAuth `state` (with @slack/oauth's state store), at least 32 characters. */
  stateSecret: string
}

export interface SlackConfig {
  /** Verifies requests on `POST /slack/events`; null only in Socket Mode, where it is not needed. */
  signingSecret: string | null
  /** One workspace: its bot token. Null in distribution mode (each workspace's token is stored). */
  botToken: string | null
  /** Web API base, always ending in `/` (the WebClient appends method names). */
  apiUrl: string
  /** Distribution mode ("Add to Slack"); absent or null for one workspace. */
  oauth?: SlackOAuthConfig | null
  /** Socket Mode: the app-level token (`xapp-…`); absent or null to receive HTTP. */
  appToken?: string | null
}

/** The adapter's config, or `null` when Slack is not enabled. */
export function slackConfigFromEnv(env: SlackEnv): SlackConfig | null {
  const oauth: SlackOAuthConfig | null =
    env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET && env.SLACK_STATE_SECRET ? { clientId: env.SLACK_CLIENT_ID, clientSecret: env.SLACK_CLIENT_SECRET, stateSecret: env.SLACK_STATE_SECRET } : null
  const botToken = env.SLACK_BOT_TOKEN ?? null
  const appToken = env.SLACK_APP_TOKEN ?? null
  if (!oauth && !botToken) return null
  if (!appToken && !env.SLACK_SIGNING_SECRET) return null
  const apiUrl = env.SLACK_API_URL ?? DEFAULT_SLACK_API_URL
  return {
    signingSecret: env.SLACK_SIGNING_SECRET ?? null,
    botToken: oauth ? null : botToken,
    apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    oauth,
    appToken,
  }
}

/** How this deployment talks to Slack, for logs, `/readyz` and the start-up banner. */
export function slackMode(config: SlackConfig): { tokens: 'one workspace' | 'distribution'; transport: 'http' | 'socket' } {
  return { tokens: config.oauth ? 'distribution' : 'one workspace', transport: config.appToken ? 'socket' : 'http' }
}

/**
 * The bot scopes InviteOps asks for, in every manifest and in the "Add to Slack" flow (the
 * manifest tests check they agree): `commands` for /invite, `chat:write` for confirmations and
 * notices, `users:read` and `users:read.email` for who the caller is (docs/security.md).
 */
export const SLACK_BOT_SCOPES = ['commands', 'chat:write', 'users:read', 'users:read.email'] as const

/** Where an administrator starts "Add to Slack", and where Slack sends them back (distribution mode). */
export const SLACK_INSTALL_PATH = '/slack/install'
export const SLACK_OAUTH_REDIRECT_PATH = '/slack/oauth_redirect'

/** The events a distributed app subscribes to: an uninstall or a revoked token disables the stored installation at once. */
export const SLACK_DISTRIBUTION_EVENTS = ['app_uninstalled', 'tokens_revoked'] as const
