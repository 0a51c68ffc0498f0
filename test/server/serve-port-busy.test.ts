import { createServer, type Server } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { childEnv, freePort, run } from '../support/serve.ts'

// `serve` on a port something else holds: a clear message and exit 1, not a crash on a missing address.
let blocker: Server
let port: number
let dataDir: string

beforeAll(async () => {
  port = await freePort()
  blocker = createServer()
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject)
    blocker.listen(port, () => resolve())
  })
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-port-busy-'))
})

afterAll(async () => {
  await new Promise<void>((resolve) => blocker.close(() => resolve()))
  await rm(dataDir, { recursive: true, force: true })
})

test('serve on a port in use says which port and what to do, and exits 1', async () => {
  const result = await run(['serve'], childEnv({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'error' }))
  expect(result.code).toBe(1)
  expect(result.err).toContain(`port ${port} is already in use`)
  expect(result.err).toContain('set PORT to a free port')
  expect(result.err).not.toMatch(/Cannot read properties/)
})
