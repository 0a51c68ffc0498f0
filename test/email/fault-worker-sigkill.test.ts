import { spawn, type ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { z } from 'zod'
import knexFactory, { type Knex } from 'knex'
import { migrateLatest } from '../../src/db/migrate.ts'
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { startSesEmulator } from './support/ses-emulator.ts'

/**
 * Runs on a private Postgres server (a real server, like production; the machine's shared one is
 * not touched). Skipped, with the reason printed, only where no Postgres binaries exist.
 *
 * Fault: the worker process is killed with SIGKILL after the invitation committed and while it
 * is about to send (the sender was called, SES never answered). After a restart the email is
 * sent, once, through SES (the aws-ses-v2-local emulator) — nothing lost, nothing doubled.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CHILD = fileURLToPath(new URL('./support/worker-child.ts', import.meta.url))
const LOCK_MS = 1_500

const unavailable = privatePostgresUnavailable()
if (unavailable) console.log(`SKIPPED SIGKILL fault test: ${unavailable}`)
let pg: PrivatePostgres
let db: { knex: Knex; url: string }
let emulator: Server
let emulatorUrl: string
const children: ChildProcess[] = []

beforeAll(async () => {
  if (unavailable) return
  pg = await startPrivatePostgres()
  db = { knex: knexFactory({ client: 'pg', connection: pg.url, pool: { min: 0, max: 4 } }), url: pg.url }
  await migrateLatest(db.knex)
  emulator = await startSesEmulator()
  emulatorUrl = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`
})
afterAll(async () => {
  if (unavailable) return
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await new Promise<void>((resolve) => emulator.close(() => resolve()))
  await db.knex.destroy()
  pg.stop()
})

interface WorkerProcess {
  child: ChildProcess
  /** Resolves with the first event (past or future) that matches; rejects if the process exits first. */
  waitFor(predicate: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  count(predicate: (e: Record<string, unknown>) => boolean): number
}

function startWorker(mode: 'hang' | 'ses'): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: {
      ...process.env,
      DB_URL: db.url,
      MODE: mode,
      LOCK_MS: String(LOCK_MS),
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SES: emulatorUrl,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const events: Record<string, unknown>[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = z.record(z.string(), z.unknown()).safeParse(safeJson(line))
    if (!parsed.success) return
    events.push(parsed.data)
    for (const w of waiters) w()
  })
  let exited = false
  child.once('exit', () => {
    exited = true
    for (const w of waiters) w()
  })
  return {
    child,
    count: (predicate) => events.filter(predicate).length,
    waitFor: (predicate) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate)
          if (found) {
            waiters.delete(check)
            resolve(found)
          } else if (exited) {
            waiters.delete(check)
            reject(new Error(`worker exited before the expected event; saw: ${JSON.stringify(events.slice(-5))}`))
          }
        }
        waiters.add(check)
        check()
      }),
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return null
  }
}

const Store = z.object({ emails: z.array(z.object({ destination: z.object({ to: z.array(z.string()) }) })) })

it.skipIf(unavailable !== null)('SIGKILL between commit and send → sent after restart, once', async () => {
  const deps = makeDeps(db.knex, { now: new Date().toISOString() })
  const seed = await seedAccount(deps)
  const N = 3
  for (let i = 0; i < N; i++) await inviteUser(deps, seed, `crash${i}@example.com`)

  const first = startWorker('hang')
  const sending = await first.waitFor((e) => e.event === 'sending')
  first.child.kill('SIGKILL')
  await new Promise((resolve) => first.child.once('exit', resolve))
  const inFlight = await db.knex('email_outbox').where({ status: 'sending' }).count<{ n: number }[]>({ n: '*' })
  console.log(`killed worker pid ${first.child.pid} with SIGKILL while sending outbox #${String(sending.outboxId)}; rows left 'sending': ${inFlight[0]?.n}`)
  expect(Number(inFlight[0]?.n)).toBeGreaterThanOrEqual(1)

  const second = startWorker('ses')
  await second.waitFor(() => second.count((e) => e.msg === 'email sent') >= N)
  second.child.kill('SIGTERM')
  await new Promise((resolve) => second.child.once('exit', resolve))

  const store = Store.parse(await (await fetch(`${emulatorUrl}/store`)).json())
  const recipients = store.emails.flatMap((e) => e.destination.to)
  const unique = new Set(recipients)
  const duplicates = recipients.length - unique.size
  const rows = await db.knex('email_outbox').select('status')
  console.log(`after restart: sent ${unique.size} of ${N}, duplicates ${duplicates}, outbox ${rows.map((r) => r.status).join(',')}`)
  expect([...unique].sort()).toEqual(Array.from({ length: N }, (_, i) => `crash${i}@example.com`))
  expect(duplicates).toBe(0)
  expect(rows.every((r) => r.status === 'sent')).toBe(true)
})
