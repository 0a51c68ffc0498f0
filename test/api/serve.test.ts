/**
 * The API in the composition root: `startServer` mounts it beside the other routers, its setting
 * is validated with the rest of the environment, and a key made by the CLI's use case works
 * against the running server while the invitee pages keep their own paths.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadEnvironment } from '../../adapters/server/environment.ts'
import { startServer, type RunningServer } from '../../adapters/server/start.ts'
import { createAccount } from '../../src/accounts/create-account.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { call, newKey } from './support.ts'

let db: TestDatabase
let dataDir: string
let server: RunningServer
beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-api-serve-'))
  const loaded = loadEnvironment({ DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', API_RATE_LIMIT_PER_MINUTE: '2' })
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  server = await startServer(loaded.env, silentLogger, { workerPollMs: 60_000 })
})
afterAll(async () => {
  await server?.close()
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})

test('API_RATE_LIMIT_PER_MINUTE is validated with the rest of the environment', () => {
  for (const bad of ['0', 'lots', '1.5', '-3']) {
    const loaded = loadEnvironment({ API_RATE_LIMIT_PER_MINUTE: bad })
    expect(loaded.ok).toBe(false)
    if (!loaded.ok) expect(loaded.problems.join('\n')).toContain('API_RATE_LIMIT_PER_MINUTE')
  }
  const loaded = loadEnvironment({})
  expect(loaded.ok && loaded.env.api.rateLimitPerMinute).toBe(120)
})

test('inviteops serve answers /api/v1 with its configured limit; the invitee pages are untouched', async () => {
  const base = `${server.url}/api/v1`
  const doc = await call(base, null, 'GET', '/openapi.json')
  expect(doc.status).toBe(200)
  expect(doc.body).toMatchObject({ openapi: '3.1.0', servers: [{ url: '/api/v1' }] })
  expect((await call(base, null, 'GET', '/users')).status).toBe(401)

  const account = await createAccount(server.deps.db, server.deps.clock, { name: 'Served', adminEmail: 'ann@served.test', adminFirstName: 'Ann', adminLastName: 'Admin', defaultGroup: 'Members' })
  if (!account.ok) throw new Error(account.code)
  const { key } = await newKey(server.deps, account.value.accountId, 'crm')
  expect((await call(base, key, 'GET', '/groups')).status).toBe(200)
  expect((await call(base, key, 'GET', '/groups')).status).toBe(200)
  const limited = await call(base, key, 'GET', '/groups')
  expect(limited.status).toBe(429)
  expect(limited.headers.get('retry-after')).toMatch(/^[0-9]+$/)
  expect((await fetch(`${server.url}/invitations/not-a-token`, { signal: AbortSignal.timeout(10_000) })).status).toBe(404)
})
