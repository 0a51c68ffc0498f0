import { z } from 'zod'

/**
 * Settings of the SES transport and its SNS feedback route, as a zod fragment the composition
 * root merges into the application's config schema (src/config.ts). Parsed once at start; an
 * operator sees every problem together (docs/operations.md).
 *
 * The AWS SDK's own variables (AWS_REGION, AWS_ENDPOINT_URL_SES, AWS_ACCESS_KEY_ID, profiles…)
 * are deliberately NOT read here: the SDK resolves them itself, exactly as AWS documents.
 */
/** Defaults of the two deadlines: SES answers SendEmail in well under a second when it is well. */
export const SES_CONNECT_TIMEOUT_MS = 3_000
export const SES_REQUEST_TIMEOUT_MS = 5_000

export const sesEnvSchema = z.object({
  /** Emails per second the worker never exceeds, across every replica (SES account limit). */
  SES_MAX_SEND_RATE: z.coerce.number().positive().max(10_000).default(1),
  /** SES configuration set to send with (event publishing, dedicated IPs); optional. */
  SES_CONFIGURATION_SET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only, at most 64')
    .optional(),
  /**
   * The SNS topic whose bounce/complaint notifications `POST /ses/notifications` accepts.
   * Unset = the route answers 404 (nothing is accepted from an unknown topic).
   */
  SES_SNS_TOPIC_ARN: z
    .string()
    .regex(/^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)')
    .optional(),
  /** How long to hold all sends after "Daily message quota exceeded" (rolling 24 h window). */
  SES_QUOTA_WAIT: z
    .string()
    .regex(/^\d+(s|m|h)$/, 'a duration such as 90s, 15m, 1h')
    .default('15m'),
  /** Deadline for opening a connection to SES. */
  SES_CONNECT_TIMEOUT: deadline(SES_CONNECT_TIMEOUT_MS),
  /** Deadline for one SES request, from sending it to the whole answer. */
  SES_REQUEST_TIMEOUT: deadline(SES_REQUEST_TIMEOUT_MS),
})

export type SesEnv = z.infer<typeof sesEnvSchema>

/** The SES settings the adapter and the worker use, in their own units. */
export interface SesSettings {
  maxSendRate: number
  configurationSet: string | undefined
  snsTopicArn: string | undefined
  quotaWaitMs: number
  connectTimeoutMs: number
  requestTimeoutMs: number
}

/** Turns the parsed variables into settings (durations to milliseconds). */
export function sesSettingsFromEnv(env: SesEnv): SesSettings {
  return {
    maxSendRate: env.SES_MAX_SEND_RATE,
    configurationSet: env.SES_CONFIGURATION_SET,
    snsTopicArn: env.SES_SNS_TOPIC_ARN,
    quotaWaitMs: parseShortDuration(env.SES_QUOTA_WAIT),
    connectTimeoutMs: parseShortDuration(env.SES_CONNECT_TIMEOUT),
    requestTimeoutMs: parseShortDuration(env.SES_REQUEST_TIMEOUT),
  }
}

function parseShortDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text)
  if (!match) return Number.NaN
  const unit = match[2]
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  return Number(match[1]) * factor
}

/**
 * A deadline between 100 ms and 30 s (`500ms`, `3s`). A longer one would only keep an email
 * waiting on a connection that has already failed it.
 */
function deadline(fallbackMs: number) {
  return z
    .string()
    .refine((v) => {
      const ms = parseShortDuration(v)
      return ms >= 100 && ms <= 30_000
    }, 'must be a duration from 100ms to 30s, such as 500ms or 3s')
    .default(`${fallbackMs}ms`)
}
