/**
 * The composition root starts the notices job with Teams' notifier when only Teams is configured
 * (adapters/server/start.ts): the real server, started as `serve` starts it, posts an expired
 * invitation's notice to the Teams destination (the Bot Connector played by nock) without anyone
 * asking.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadEnvironment } from '../../adapters/server/environment.ts'
import { startServer } from '../../adapters/server/start.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { storeNoticeDestination } from '../../src/notices/notice-destinations.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { waitFor } from '../support/serve.ts'
import { BOT, SERVICE_ORIGIN } from './support.ts'

const CHANNEL_ID = '19:d6a9f0b5c2e84b1f9e3c7a1d2b4f6e8a@thread.tacv2'

let db: TestDatabase
let dataDir: string
beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-teams-notices-'))
  nock.disableNetConnect()
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'))
})
afterAll(async () => {
  nock.cleanAll()
  nock.enableNetConnect()
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})

test('serve with Teams alone: the notices job runs and posts the expiry notice to the Teams channel', async () => {
  // An invitation sent 8 days ago by the real clock: expired now, so the job's first round finds it.
  const deps = makeDeps(db.knex, { now: new Date(Date.now() - 8 * DAY).toISOString() })
  const seed = await seedAccount(deps)
  await inviteUser(deps, seed, 'dana@acme.test')
  await db.knex.transaction((trx) =>
    storeNoticeDestination(trx, {
      accountId: seed.account.id,
      platform: 'teams',
      conversationId: CHANNEL_ID,
      conversationName: 'General',
      reference: { bot: BOT, conversation: { id: CHANNEL_ID, isGroup: true, conversationType: 'channel' }, channelId: 'msteams', serviceUrl: `${SERVICE_ORIGIN}/amer/` },
      setBy: seed.admin.email,
      now: new Date(),
    }),
  )
  const posted: { attachments?: { content: { fallbackText?: string } }[] }[] = []
  const scope = nock(SERVICE_ORIGIN)
    .post(`/amer/v3/conversations/${encodeURIComponent(CHANNEL_ID)}/activities`, (body: (typeof posted)[number]) => (posted.push(body), true))
    .reply(200, { id: '1795687399999' })

  const loaded = loadEnvironment({ DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', TEAMS_UNAUTHENTICATED: '1' })
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  expect(loaded.env.slack).toBeNull()
  const server = await startServer(loaded.env, silentLogger)
  try {
    await waitFor('the Teams notice', () => (scope.isDone() ? true : undefined), { timeoutMs: 30_000 })
  } finally {
    await server.close()
  }
  expect(posted[0]?.attachments?.[0]?.content.fallbackText).toBe('The invitation of dana@acme.test has expired.')
  const [delivery] = await db.knex('notice_deliveries').select('platform', 'delivered_at')
  expect(delivery).toMatchObject({ platform: 'teams', delivered_at: expect.any(Date) })
})
