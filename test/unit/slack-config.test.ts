import { describe, expect, it } from 'vitest'
import { checkSlackEnv, slackConfigFromEnv, slackEnvSchema } from '../../adapters/slack/config.ts'

function parse(env: Record<string, string>) {
  return slackEnvSchema.superRefine(checkSlackEnv).safeParse(env)
}

describe('Slack settings (docs/operations.md)', () => {
  it('is off when neither variable is set', () => {
    const r = parse({})
    expect(r.success && slackConfigFromEnv(r.data)).toBeNull()
  })

  it('is on with both; SLACK_API_URL defaults to Slack and always ends in /', () => {
    const on = parse({ SLACK_SIGNING_SECRET: 's3cret', SLACK_BOT_TOKEN: 'xoxb-1' })
    expect(on.success && slackConfigFromEnv(on.data)).toEqual({ signingSecret: 's3cret', botToken: 'xoxb-1', apiUrl: 'https://slack.com/api/', oauth: null, appToken: null })
    const proxied = parse({ SLACK_SIGNING_SECRET: 's3cret', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_API_URL: 'http://127.0.0.1:9000/api' })
    expect(proxied.success && slackConfigFromEnv(proxied.data)?.apiUrl).toBe('http://127.0.0.1:9000/api/')
  })

  it('reports every problem together: half a pair, a user token, a bad URL', () => {
    const r = parse({ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_API_URL: 'not a url' })
    expect(r.success).toBe(false)
    const paths = r.error?.issues.map((i) => i.path.join('.')).sort()
    expect(paths).toEqual(['SLACK_API_URL', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'])
    const half = parse({ SLACK_BOT_TOKEN: 'xoxb-1' })
    expect(half.error?.issues.map((i) => i.message)).toEqual([expect.stringContaining('SLACK_SIGNING_SECRET')])
  })
})
