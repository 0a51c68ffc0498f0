/**
 * The API's settings (docs/operations.md, docs/api.md): `API_RATE_LIMIT_PER_MINUTE`, the requests
 * one API key may make per minute on each replica. The API itself is always on: without a key
 * nothing but its OpenAPI document answers.
 */
import { z } from 'zod'

/** Default requests per key per minute: a product's backend syncing users stays well under it. */
export const DEFAULT_API_RATE_LIMIT_PER_MINUTE = 120

/** Zod fragment over `process.env` (merged into the environment's problems by the composition root). */
export const apiEnvSchema = z.object({
  API_RATE_LIMIT_PER_MINUTE: z
    .string()
    .trim()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number of requests per minute')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'))
    .optional(),
})

export interface ApiSettings {
  rateLimitPerMinute: number
}

/** The parsed fragment as the router's settings. */
export function apiSettingsFromEnv(env: z.infer<typeof apiEnvSchema>): ApiSettings {
  return { rateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE ?? DEFAULT_API_RATE_LIMIT_PER_MINUTE }
}
