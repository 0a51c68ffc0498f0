import { formatProblems, loadConfig, type AppConfig } from '../../src/config.ts'
import { sesEnvSchema, sesSettingsFromEnv, type SesSettings } from '../email/config.ts'
import { checkSlackEnv, slackConfigFromEnv, slackEnvSchema, type SlackConfig } from '../slack/config.ts'

export interface Environment {
  app: AppConfig
  ses: SesSettings
  slack: SlackConfig | null
}

/**
 * Every variable of the contract (DESIGN.md §4), core and adapters, validated once. Returns all
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

  if (env.NODE_ENV === 'production') {
    // Nothing runs unauthenticated in production (DESIGN.md §4). Teams is not built yet; say so
    // rather than silently ignore its variables.
    if (env.MICROSOFT_APP_ID) problems.push('MICROSOFT_APP_ID is set, but this version has no Teams adapter yet: unset it')
  }
  if (!core.ok || !ses.success || !slack.success || problems.length > 0) return { ok: false, problems }
  return { ok: true, env: { app: core.config, ses: sesSettingsFromEnv(ses.data), slack: slackConfigFromEnv(slack.data) } }
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

