/**
 * The server's one chat work queue (adapters/server/start.ts) shows on /metrics as
 * `inviteops_chat_work{state="running"|"waiting"}`, read at each scrape.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadEnvironment } from '../../adapters/server/environment.ts'
import { startServer } from '../../adapters/server/start.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'

let db: TestDatabase
let dataDir: string
beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-chat-work-'))
})
afterAll(async () => {
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})

test('/metrics has the chat work queue: running and waiting', async () => {
  const loaded = loadEnvironment({ DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', TEAMS_UNAUTHENTICATED: '1' })
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  const server = await startServer(loaded.env, silentLogger)
  try {
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
    expect(metrics).toMatch(/^# TYPE inviteops_chat_work gauge$/m)
    expect(metrics).toMatch(/^inviteops_chat_work\{state="running"\} 0$/m)
    expect(metrics).toMatch(/^inviteops_chat_work\{state="waiting"\} 0$/m)
  } finally {
    await server.close()
  }
})
