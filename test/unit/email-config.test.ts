import { describe, expect, it } from 'vitest'
import { sesEnvSchema, sesSettingsFromEnv } from '../../adapters/email/config.ts'

describe('SES settings from the environment', () => {
  it('defaults: 1 email/s, no configuration set, no SNS route, 15 minutes of quota wait, 3 s to connect, 5 s per request', () => {
    expect(sesSettingsFromEnv(sesEnvSchema.parse({}))).toEqual({
      maxSendRate: 1,
      configurationSet: undefined,
      snsTopicArn: undefined,
      quotaWaitMs: 15 * 60_000,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 5_000,
    })
  })

  it('reads every variable', () => {
    const env = sesEnvSchema.parse({
      SES_MAX_SEND_RATE: '14',
      SES_CONFIGURATION_SET: 'inviteops-events',
      SES_SNS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:inviteops-ses-feedback',
      SES_QUOTA_WAIT: '1h',
      SES_CONNECT_TIMEOUT: '750ms',
      SES_REQUEST_TIMEOUT: '12s',
    })
    expect(sesSettingsFromEnv(env)).toEqual({
      maxSendRate: 14,
      configurationSet: 'inviteops-events',
      snsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:inviteops-ses-feedback',
      quotaWaitMs: 3_600_000,
      connectTimeoutMs: 750,
      requestTimeoutMs: 12_000,
    })
  })

  it('reports every bad value together', () => {
    const r = sesEnvSchema.safeParse({
      SES_MAX_SEND_RATE: '0',
      SES_CONFIGURATION_SET: 'has space',
      SES_SNS_TOPIC_ARN: 'https://sns.amazonaws.com/topic',
      SES_QUOTA_WAIT: 'soon',
      SES_CONNECT_TIMEOUT: '0ms',
      SES_REQUEST_TIMEOUT: '5h',
    })
    expect(r.success).toBe(false)
    expect(r.error?.issues.map((i) => i.path[0]).sort()).toEqual([
      'SES_CONFIGURATION_SET',
      'SES_CONNECT_TIMEOUT',
      'SES_MAX_SEND_RATE',
      'SES_QUOTA_WAIT',
      'SES_REQUEST_TIMEOUT',
      'SES_SNS_TOPIC_ARN',
    ])
  })
})
