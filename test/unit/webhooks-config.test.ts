/**
 * The webhook variables (src/webhooks/config.ts): in production the retry schedule must cover a
 * day even when every wait is drawn at its shortest (the worker shortens each by up to 10 %).
 */
import { describe, expect, test } from 'vitest'
import { checkWebhookEnv, webhookEnvSchema, type WebhookEnv } from '../../src/webhooks/config.ts'
import { retryDelayMs } from '../../src/webhooks/worker.ts'

function problems(env: WebhookEnv, production: boolean): string[] {
  const r = webhookEnvSchema.superRefine(checkWebhookEnv(production)).safeParse(env)
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('the production check on the retry schedule', () => {
  test('a schedule of exactly 24h is refused: with the jitter at its shortest it covers 21.6h', async () => {
    expect(problems({ WEBHOOK_RETRY_SCHEDULE: '12h,12h' }, true)).toEqual([expect.stringMatching(/^WEBHOOK_RETRY_SCHEDULE: must add up to at least/)])
    // The shortest waits the worker can draw for it do fall short of a day.
    const shortest = [1, 2].map((n) => retryDelayMs([12 * 3_600_000, 12 * 3_600_000], n, () => 0)!)
    expect(shortest.reduce((a, b) => a + b, 0)).toBeLessThan(86_400_000)
  })

  test('a schedule whose shortest draw covers a day is accepted, and the default is one', async () => {
    // 24h / 0.9 = 26h40m.
    expect(problems({ WEBHOOK_RETRY_SCHEDULE: '800m,800m' }, true)).toEqual([])
    expect(problems({ WEBHOOK_RETRY_SCHEDULE: '13h,13h' }, true)).toHaveLength(1)
    expect(problems({}, true)).toEqual([])
    // Outside production a short schedule is fine (tests, trials).
    expect(problems({ WEBHOOK_RETRY_SCHEDULE: '1s' }, false)).toEqual([])
  })
})

describe('WEBHOOK_RETENTION', () => {
  test('a duration of at least an hour, 30 days when absent', async () => {
    const { webhookSettingsFromEnv } = await import('../../src/webhooks/config.ts')
    expect(webhookSettingsFromEnv({}, { production: true }).retentionMs).toBe(30 * 86_400_000)
    expect(webhookSettingsFromEnv({ WEBHOOK_RETENTION: '7d' }, { production: true }).retentionMs).toBe(7 * 86_400_000)
    expect(problems({ WEBHOOK_RETENTION: '90d' }, true)).toEqual([])
    expect(problems({ WEBHOOK_RETENTION: 'forever' }, true)).toEqual([expect.stringMatching(/^WEBHOOK_RETENTION: WEBHOOK_RETENTION must be a duration/)])
    expect(problems({ WEBHOOK_RETENTION: '30m' }, true)).toEqual(['WEBHOOK_RETENTION: must be at least 1h'])
  })
})
