import { z } from 'zod'
import { parseDuration } from '../invitations/rules.ts'

/**
 * The webhook variables (docs/operations.md), validated at start with the rest of the
 * environment (adapters/server/environment.ts reports every problem together).
 */

/** Standard Webhooks' own schedule, roughly doubling: about 27 hours from the first attempt to the last. */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h'
const DAY_MS = 86_400_000

/** How the worker delivers and when it gives up (see `webhookSettingsFromEnv`). */
export interface WebhookSettings {
  /** Waits after the 1st, 2nd, … failed attempt; once they are used up the message is failed. */
  retryScheduleMs: number[]
  /** An endpoint failing without a success for this long is disabled (WEBHOOK_DISABLE_AFTER). */
  disableAfterMs: number
  /** The deadline of one delivery, connection and answer (WEBHOOK_TIMEOUT). */
  timeoutMs: number
  /** Loopback, private and link-local receivers allowed (WEBHOOK_ALLOW_PRIVATE_URLS=true). */
  allowPrivate: boolean
  /** Only https receivers (NODE_ENV=production). */
  httpsOnly: boolean
  /**
   * How long delivered and given-up messages are kept, then deleted by the worker
   * (WEBHOOK_RETENTION; `DEFAULT_RETENTION` when absent).
   */
  retentionMs?: number
}

/** WEBHOOK_RETENTION's default: long enough to answer "was it sent?" for a month. */
export const DEFAULT_RETENTION = '30d'

const duration = (name: string) => z.string().refine((v) => parseDuration(v) !== null, `${name} must be a duration such as 90s, 30m, 12h or 7d`)

export const webhookEnvSchema = z.object({
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .refine((v) => v.split(',').every((p) => parseDuration(p.trim()) !== null), 'must be a comma-separated list of durations such as 5s,5m,30m,2h')
    .refine((v) => v.split(',').length <= 30, 'must have at most 30 retries')
    .optional(),
  WEBHOOK_DISABLE_AFTER: duration('WEBHOOK_DISABLE_AFTER').optional(),
  WEBHOOK_TIMEOUT: duration('WEBHOOK_TIMEOUT')
    .refine((v) => (parseDuration(v) ?? 0) <= 60_000, 'must be at most 60s')
    .optional(),
  WEBHOOK_ALLOW_PRIVATE_URLS: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  WEBHOOK_RETENTION: duration('WEBHOOK_RETENTION')
    .refine((v) => (parseDuration(v) ?? Infinity) >= 3_600_000, 'must be at least 1h')
    .optional(),
})

export type WebhookEnv = z.output<typeof webhookEnvSchema>

/**
 * How far the worker moves each wait of the schedule, either way (±10 %), so that messages that
 * failed together do not all come back at the same moment.
 */
export const RETRY_JITTER = 0.1

/**
 * The rule across variables: in production the retries must cover at least a day, even when
 * every wait is drawn at its shortest (the schedule less the jitter).
 */
export function checkWebhookEnv(production: boolean) {
  return (env: WebhookEnv, ctx: z.RefinementCtx): void => {
    const total = retrySchedule(env).reduce((a, b) => a + b, 0)
    if (production && total * (1 - RETRY_JITTER) < DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_RETRY_SCHEDULE'], message: 'must add up to at least 24h in production, less its 10 % jitter: at least 26h40m (receivers that are down for a day must still get every event)' })
    }
  }
}

function retrySchedule(env: WebhookEnv): number[] {
  return (env.WEBHOOK_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE).split(',').map((p) => parseDuration(p.trim())!)
}

/** The settings from the checked variables. */
export function webhookSettingsFromEnv(env: WebhookEnv, opts: { production: boolean }): WebhookSettings {
  return {
    retryScheduleMs: retrySchedule(env),
    disableAfterMs: parseDuration(env.WEBHOOK_DISABLE_AFTER ?? '5d')!,
    timeoutMs: parseDuration(env.WEBHOOK_TIMEOUT ?? '10s')!,
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_URLS === 'true',
    httpsOnly: opts.production,
    retentionMs: parseDuration(env.WEBHOOK_RETENTION ?? DEFAULT_RETENTION)!,
  }
}
