/**
 * The webhook worker in a running server (adapters/server/start.ts): `inviteops serve` delivers
 * what the CLI's changes queued, to a receiver added with `inviteops webhooks add`, and stops with
 * the server.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadEnvironment } from '../../adapters/server/environment.ts'
import { startServer } from '../../adapters/server/start.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { runCli } from '../support/cli.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'

let db: TestDatabase
let dataDir: string
let env: NodeJS.ProcessEnv
let receiver: Receiver

beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-webhooks-serve-'))
  env = { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', INVITE_SECRET: 'webhooks-serve-test-secret-0123456789abcdef', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }
  receiver = await startReceiver()
})

afterAll(async () => {
  await receiver.close()
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function cli(...argv: string[]): Promise<string> {
  const r = await runCli(env, ...argv)
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.err}`)
  return r.out
}

test('serve posts the events the CLI queued, signed, and stops with the server', async () => {
  const loaded = loadEnvironment(env)
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  const server = await startServer(loaded.env, silentLogger, { webhookPollMs: 50 })
  try {
    await cli('accounts', 'create', '--name', 'Initech', '--admin', 'bill@initech.test')
    receiver.secret = /(whsec_\S+)/.exec(await cli('webhooks', 'add', '--account', 'Initech', '--url', receiver.url))![1]!
    await cli('run', '--account', 'Initech', '--as', 'bill@initech.test', '--', 'add', 'peter@initech.test', '--name', 'Peter Gibbons')
    await receiver.waitFor(1)
    expect(receiver.unverified).toEqual([])
    expect(receiver.accepted.map((d) => [d.type, d.data.email, d.data.firstName])).toEqual([['invitation.sent', 'peter@initech.test', 'Peter']])
  } finally {
    await server.close()
  }
  expect(await db.knex('webhook_messages').select('status')).toEqual([{ status: 'delivered' }])
})
