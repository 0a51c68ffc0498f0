/**
 * The Teams adapter's settings (docs/operations.md): the Bot Framework's own variable names, so a bot
 * registration's values paste in unchanged (MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD,
 * MICROSOFT_APP_TYPE, MICROSOFT_APP_TENANT_ID).
 *
 * Teams is enabled when MICROSOFT_APP_ID is set: botbuilder then validates the JWT on every
 * incoming activity. Outside production it may also run without credentials through an explicit
 * TEAMS_UNAUTHENTICATED=1 (the Bot Framework Emulator, tests); production refuses that
 * (docs/security.md: nothing runs unauthenticated in production).
 *
 * `teamsEnvSchema` is a zod fragment the composition root merges into the app's env checks, with
 * `checkTeamsEnv` as its cross-field rule; `teamsConfigFromEnv` turns parsed values into the
 * adapter's config, or `null` when Teams is not enabled.
 */
import { z } from 'zod'
import { isUuid } from '../../src/shared/ids.ts'

export const teamsAppTypes = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'] as const
export type TeamsAppType = (typeof teamsAppTypes)[number]

/** A GUID, as Azure writes them: the same 8-4-4-4-12 hex form as our own ids. */
const guid = z.string().trim().refine(isUuid, 'must be a GUID (the Azure bot registration gives one)')

/** Zod fragment over `process.env` (merge into the app's env schema). */
export const teamsEnvSchema = z.object({
  MICROSOFT_APP_ID: guid.optional(),
  MICROSOFT_APP_PASSWORD: z.string().min(1).optional(),
  MICROSOFT_APP_TYPE: z.enum(teamsAppTypes).optional(),
  MICROSOFT_APP_TENANT_ID: guid.optional(),
  /** `1` runs Teams without an App ID (Bot Framework Emulator, tests); refused in production. */
  TEAMS_UNAUTHENTICATED: z.enum(['0', '1', 'true', 'false']).optional(),
})
export type TeamsEnv = z.infer<typeof teamsEnvSchema>

type IssueSink = { addIssue: (issue: { code: 'custom'; message: string; path: string[] }) => void }

const unauthenticated = (env: TeamsEnv): boolean => env.TEAMS_UNAUTHENTICATED === '1' || env.TEAMS_UNAUTHENTICATED === 'true'

/**
 * Cross-field rules, reported at start with every other problem. `production` is
 * `NODE_ENV === 'production'`.
 */
export function checkTeamsEnv(env: TeamsEnv, ctx: IssueSink, opts: { production: boolean }): void {
  const appType = env.MICROSOFT_APP_TYPE ?? 'MultiTenant'
  const anyCredential = env.MICROSOFT_APP_PASSWORD || env.MICROSOFT_APP_TENANT_ID || env.MICROSOFT_APP_TYPE
  if (!env.MICROSOFT_APP_ID && anyCredential) {
    ctx.addIssue({ code: 'custom', path: ['MICROSOFT_APP_ID'], message: 'MICROSOFT_APP_PASSWORD/TYPE/TENANT_ID are set but MICROSOFT_APP_ID is not: set the App ID to enable Teams, or unset them' })
  }
  if (env.MICROSOFT_APP_ID) {
    // A managed identity has no password; the two other types sign in with one.
    if (appType !== 'UserAssignedMSI' && !env.MICROSOFT_APP_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['MICROSOFT_APP_PASSWORD'], message: `MICROSOFT_APP_TYPE=${appType} needs MICROSOFT_APP_PASSWORD (the bot registration's client secret)` })
    }
    if (appType === 'UserAssignedMSI' && env.MICROSOFT_APP_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['MICROSOFT_APP_PASSWORD'], message: 'MICROSOFT_APP_TYPE=UserAssignedMSI signs in with the managed identity: unset MICROSOFT_APP_PASSWORD' })
    }
    // botbuilder asserts the same at start (ConfigurationServiceClientCredentialFactory); said here with the other problems.
    if ((appType === 'SingleTenant' || appType === 'UserAssignedMSI') && !env.MICROSOFT_APP_TENANT_ID) {
      ctx.addIssue({ code: 'custom', path: ['MICROSOFT_APP_TENANT_ID'], message: `MICROSOFT_APP_TYPE=${appType} needs MICROSOFT_APP_TENANT_ID (the tenant the bot is registered in)` })
    }
    if (unauthenticated(env)) {
      ctx.addIssue({ code: 'custom', path: ['TEAMS_UNAUTHENTICATED'], message: 'TEAMS_UNAUTHENTICATED=1 and MICROSOFT_APP_ID are both set: choose one' })
    }
  }
  if (opts.production && unauthenticated(env)) {
    ctx.addIssue({ code: 'custom', path: ['TEAMS_UNAUTHENTICATED'], message: 'TEAMS_UNAUTHENTICATED is refused with NODE_ENV=production: nothing runs unauthenticated in production; set MICROSOFT_APP_ID' })
  }
}

export interface TeamsConfig {
  /** `null` only in unauthenticated (non-production) mode: incoming activities are then not verified. */
  appId: string | null
  appPassword: string | null
  appType: TeamsAppType
  tenantId: string | null
}

/**
 * The adapter's config, or `null` when Teams is not enabled. Call it only after `checkTeamsEnv`
 * passed; it re-checks the production rule so an unchecked call can never run Teams unverified.
 */
export function teamsConfigFromEnv(env: TeamsEnv, opts: { production: boolean }): TeamsConfig | null {
  const appType = env.MICROSOFT_APP_TYPE ?? 'MultiTenant'
  if (env.MICROSOFT_APP_ID) {
    return { appId: env.MICROSOFT_APP_ID, appPassword: env.MICROSOFT_APP_PASSWORD ?? null, appType, tenantId: env.MICROSOFT_APP_TENANT_ID ?? null }
  }
  if (unauthenticated(env) && !opts.production) return { appId: null, appPassword: null, appType, tenantId: null }
  return null
}

/** Runs the schema and the cross-field rules together: the fragment the composition root uses. */
export function teamsEnvChecked(opts: { production: boolean }): z.ZodType<TeamsEnv> {
  return teamsEnvSchema.superRefine((env, ctx) => checkTeamsEnv(env, ctx, opts))
}
