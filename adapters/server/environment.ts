import { formatProblems, loadConfig, type AppConfig } from '../../src/config.ts'
import { sesEnvSchema, sesSettingsFromEnv, type SesSettings } from '../email/config.ts'
import { checkSlackEnv, slackConfigFromEnv, slackEnvSchema, type SlackConfig } from '../slack/config.ts'
import { teamsConfigFromEnv, teamsEnvChecked, teamsEnvSchema, type TeamsConfig } from '../teams/config.ts'
import { apiEnvSchema, apiSettingsFromEnv, type ApiSettings } from '../api/config.ts'
import { checkWebhookEnv, webhookEnvSchema, webhookSettingsFromEnv, type WebhookSettings } from '../../src/webhooks/config.ts'

export interface Environment {
  app: AppConfig
  ses: SesSettings
  slack: SlackConfig | null
  teams: TeamsConfig | null
  api: ApiSettings
  webhooks: WebhookSettings
}

/**
 * Every variable of the contract (docs/operations.md), core and adapters, validated once. Returns all
 * problems together so an operator fixes them in one go.
 */
export function loadEnvironment(env: NodeJS.ProcessEnv): { ok: true; env: Environment } | { ok: false; problems: string[] } {
  const problems: string[] = []
  const core = loadConfig(env)
  if (!core.ok) problems.push(...core.problems)

  const ses = sesEnvSchema.safeParse(blankAsUnset(env, Object.keys(sesEnvSchema.shape)))
  if (!ses.success) problems.push(...formatProblems(ses.error))

  const slack = slackEnvSchema.superRefine(checkSlackEnv).safeParse(blankAsUnset(env, Object.keys(slackEnvSchema.shape)))
  if (!slack.success) problems.push(...formatProblems(slack.error))

  // Nothing runs unauthenticated in production (docs/security.md): the Teams schema refuses
  // TEAMS_UNAUTHENTICATED there.
  const production = env.NODE_ENV === 'production'
  const teams = teamsEnvChecked({ production }).safeParse(blankAsUnset(env, Object.keys(teamsEnvSchema.shape)))
  if (!teams.success) problems.push(...formatProblems(teams.error))

  const api = apiEnvSchema.safeParse(blankAsUnset(env, Object.keys(apiEnvSchema.shape)))
  if (!api.success) problems.push(...formatProblems(api.error))

  const webhooks = webhookEnvSchema.superRefine(checkWebhookEnv(production)).safeParse(blankAsUnset(env, Object.keys(webhookEnvSchema.shape)))
  if (!webhooks.success) problems.push(...formatProblems(webhooks.error))

  if (!core.ok || !ses.success || !slack.success || !teams.success || !api.success || !webhooks.success || problems.length > 0) return { ok: false, problems }
  return {
    ok: true,
    env: { app: core.config, ses: sesSettingsFromEnv(ses.data), slack: slackConfigFromEnv(slack.data), teams: teamsConfigFromEnv(teams.data, { production }), api: apiSettingsFromEnv(api.data), webhooks: webhookSettingsFromEnv(webhooks.data, { production }) },
  }
}

/** Only the named variables, with empty strings treated as unset (as shells often export them). */
function blankAsUnset(env: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of names) {
    const v = env[n]
    if (v !== undefined && v.trim() !== '') out[n] = v
  }
  return out
}

