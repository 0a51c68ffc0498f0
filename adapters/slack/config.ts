/**
 * The Slack adapter's settings (docs/operations.md): enabled when both SLACK_SIGNING_SECRET and
 * SLACK_BOT_TOKEN are set; SLACK_API_URL points the Web API elsewhere (a proxy, a test server).
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

/** Zod fragment over `process.env` (merge into the app's env schema). */
export const slackEnvSchema = z.object({
  SLACK_SIGNING_SECRET: z.string().trim().min(1).optional(),
  SLACK_BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^xoxb-/, 'must be a bot token (xoxb-…)')
    .optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).optional(),
})

/** Cross-field rule: one of the pair without the other is a mistake worth reporting at start. */
export function checkSlackEnv(env: z.infer<typeof slackEnvSchema>, ctx: { addIssue: (issue: { code: 'custom'; message: string; path: string[] }) => void }): void {
  if (env.SLACK_SIGNING_SECRET && !env.SLACK_BOT_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not: set both to enable Slack, or neither' })
  }
  if (env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_SIGNING_SECRET'], message: 'SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: set both to enable Slack, or neither' })
  }
}

export interface SlackConfig {
  signingSecret: string
  botToken: string
  /** Web API base, always ending in `/` (the WebClient appends method names). */
  apiUrl: string
}

/** The adapter's config, or `null` when Slack is not enabled. */
export function slackConfigFromEnv(env: z.infer<typeof slackEnvSchema>): SlackConfig | null {
  if (!env.SLACK_SIGNING_SECRET || !env.SLACK_BOT_TOKEN) return null
  const apiUrl = env.SLACK_API_URL ?? DEFAULT_SLACK_API_URL
  return { signingSecret: env.SLACK_SIGNING_SECRET, botToken: env.SLACK_BOT_TOKEN, apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }
}
