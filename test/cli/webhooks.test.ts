/**
 * `inviteops webhooks …`: the CLI in-process on a real database, against a local receiver that
 * verifies signatures with the `standardwebhooks` library.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runCli, useCliDatabase, type CliRun } from '../support/cli.ts'
import type { TestDatabase } from '../support/db.ts'
import { startReceiver, type Receiver } from '../webhooks/support/receiver.ts'

let db: TestDatabase
let env: NodeJS.ProcessEnv
let receiver: Receiver
useCliDatabase((t) => ({ db, env } = t), { dirPrefix: 'inviteops-webhooks-cli-', env: { INVITE_SECRET: 'webhooks-cli-test-secret-0123456789abcdef', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' } })

beforeAll(async () => {
  expect((await cli('accounts', 'create', '--name', 'Globex', '--admin', 'hank@globex.test')).code).toBe(0)
  receiver = await startReceiver()
})

afterAll(async () => {
  await receiver.close()
})

const cli = (...argv: string[]): Promise<CliRun> => runCli(env, ...argv)

describe('inviteops webhooks', () => {
  test('add prints the id and the secret once; list, test, remove', async () => {
    const added = await cli('webhooks', 'add', '--account', 'Globex', '--url', receiver.url, '--events', 'invitation.accepted,user.removed')
    expect(added.code).toBe(0)
    const id = /Added webhook endpoint ([0-9a-f-]{36})/.exec(added.out)?.[1]
    const secret = /(whsec_[A-Za-z0-9+/=]+)/.exec(added.out)?.[1]
    expect(id && secret).toBeTruthy()
    receiver.secret = secret!
    // stored sealed: the database holds no copy of the secret
    const [row] = await db.knex('webhook_endpoints').select('secret', 'events')
    expect((row as { secret: Buffer }).secret.toString('latin1')).not.toContain(secret!.slice(6, 30))
    expect(row).toMatchObject({ events: ['invitation.accepted', 'user.removed'] })

    const listed = await cli('webhooks', 'list')
    expect(listed.out).toContain(`${id}  ENABLED  ${receiver.url}  (Globex)`)
    expect(listed.out).toContain('events: invitation.accepted, user.removed · waiting: 0 · given up: 0')
    expect(listed.out).not.toContain('whsec_')

    const tested = await cli('webhooks', 'test', id!)
    expect(tested).toMatchObject({ code: 0, out: expect.stringMatching(/^Sent webhook\.test \(msg_[A-Za-z0-9_-]+\) to .*: the receiver answered 204\.$/) })
    expect(receiver.accepted.map((d) => [d.type, d.data])).toEqual([['webhook.test', { accountId: expect.any(String), endpointId: id }]])
    receiver.answer(500)
    expect(await cli('webhooks', 'test', id!)).toMatchObject({ code: 1, err: 'The receiver did not accept webhook.test: HTTP 500.' })
    receiver.answer(200)

    expect(await cli('webhooks', 'enable', id!)).toMatchObject({ code: 0, out: `Webhook endpoint ${id} is already enabled.` })
    expect(await cli('webhooks', 'remove', id!)).toMatchObject({ code: 0, out: expect.stringContaining(`Removed webhook endpoint ${id}`) })
    expect(await cli('webhooks', 'remove', id!)).toMatchObject({ code: 1, err: expect.stringContaining('No webhook endpoint') })
    expect(await cli('webhooks', 'list', '--account', 'Globex')).toMatchObject({ code: 0, out: expect.stringContaining('No webhook endpoints for Globex') })
    const audit = await db.knex('audit_log').where('action', 'like', 'webhook.%').orderBy('id').select('action', 'result_code', 'actor_platform')
    expect(audit).toEqual([
      { action: 'webhook.add', result_code: 'webhook.added', actor_platform: 'cli' },
      { action: 'webhook.enable', result_code: 'webhook.enabled', actor_platform: 'cli' },
      { action: 'webhook.remove', result_code: 'webhook.removed', actor_platform: 'cli' },
    ])
  })

  test('bad input is refused with a message naming the flag, and nothing is added', async () => {
    const refuse = async (argv: string[], code: number, message: string, processEnv = env) => {
      const r = await runCli(processEnv, ...argv)
      expect(r.code).toBe(code)
      expect(r.err).toContain(message)
    }
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', receiver.url, '--events', 'invitation.sent,user.deleted'], 2, '--events: "user.deleted" is not an event; choose from invitation.sent, ')
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', receiver.url, '--events', ' , '], 2, '--events')
    await refuse(['webhooks', 'add', '--account', 'Globex'], 2, '--url is required')
    await refuse(['webhooks', 'add', '--account', 'Nope', '--url', receiver.url], 1, 'No account "Nope"')
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', 'ftp://x.test/'], 1, '--url: only http(s) URLs can receive webhooks. Nothing was added.')
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', 'https://user:pw@x.test/'], 1, '--url: must not hold a user name or password')
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', receiver.url], 1, '--url: resolves to 127.0.0.1, a loopback address, which InviteOps does not post to', { ...env, WEBHOOK_ALLOW_PRIVATE_URLS: undefined })
    await refuse(['webhooks', 'add', '--account', 'Globex', '--url', 'http://x.test/'], 1, '--url: must be https in production', { ...env, NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://inviteops.example.com' })
    await refuse(['webhooks', 'test', 'not-an-id'], 2, '"not-an-id" is not an endpoint id')
    await refuse(['webhooks', 'test'], 2, 'give the endpoint id')
    await refuse(['webhooks', 'test', '00000000-0000-4000-8000-000000000000'], 1, 'No webhook endpoint 00000000-0000-4000-8000-000000000000')
    await refuse(['webhooks', 'list'], 1, 'WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of durations', { ...env, WEBHOOK_RETRY_SCHEDULE: '5s,soon' })
    await refuse(['webhooks', 'list'], 1, 'WEBHOOK_RETRY_SCHEDULE must add up to at least 24h in production', { ...env, NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://inviteops.example.com', WEBHOOK_RETRY_SCHEDULE: '5s,5m' })
    expect(await db.knex('webhook_endpoints')).toEqual([])
  })
})
