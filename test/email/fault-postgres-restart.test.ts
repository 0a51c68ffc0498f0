import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import knexFactory, { type Knex } from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { z } from 'zod'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import type { EmailSender } from '../../src/ports/email.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { captureLogger } from './support/capture-logger.ts'
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts'
import { startSesEmulator } from './support/ses-emulator.ts'

/**
 * Fault: Postgres restarts in the middle of a drain. The worker (with the real SES SDK against
 * the aws-ses-v2-local emulator) must recover by itself and end with every email sent once.
 * Runs on a private server started for this test (the machine's shared Postgres is never
 * restarted); skipped with the reason printed only where no Postgres binaries exist.
 */
const unavailable = privatePostgresUnavailable()
if (unavailable) console.log(`SKIPPED Postgres restart fault test: ${unavailable}`)

let pg: PrivatePostgres
let knex: Knex
let emulator: Server
let emulatorUrl: string

beforeAll(async () => {
  if (unavailable) return
  pg = await startPrivatePostgres()
  knex = knexFactory({ client: 'pg', connection: pg.url, pool: { min: 0, max: 4 }, acquireConnectionTimeout: 5_000 })
  await migrateLatest(knex)
  emulator = await startSesEmulator()
  emulatorUrl = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`
})
afterAll(async () => {
  if (unavailable) return
  await new Promise<void>((resolve) => emulator.close(() => resolve()))
  await knex.destroy()
  pg.stop()
})

const Store = z.object({ emails: z.array(z.object({ destination: z.object({ to: z.array(z.string()) }) })) })

it.skipIf(unavailable !== null)('Postgres restarted during a drain: sent N of N, duplicates 0', async () => {
  const logs = captureLogger()
  // Real time: leases must be able to run out, as they would in production.
  const deps = { ...makeDeps(knex, { logger: logs }), clock: systemClock }
  const seed = await seedAccount(deps)
  const N = 30
  for (let i = 0; i < N; i++) await inviteUser(deps, seed, `pg${i}@example.com`)

  const ses = createSesSender({
    quotaWaitMs: 60_000,
    clientConfig: { region: 'eu-west-1', endpoint: emulatorUrl, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
  })
  let accepted = 0
  let restartAt = -1
  let restarted: () => void = () => {}
  const restartDone = new Promise<void>((resolve) => (restarted = resolve))
  const sender: EmailSender = {
    name: 'ses',
    async send(m) {
      const out = await ses.send(m)
      accepted += 1
      if (accepted === 8) {
        // Restart Postgres right after SES accepted this one: the worker must still record it
        // (and not send it again once its lease runs out).
        restartAt = accepted
        pg.restart()
        restarted()
      }
      return out
    },
  }
  const worker = createEmailWorker({ deps, sender, maxSendRate: 25, pollIntervalMs: 50, lockMs: 3_000, sendTimeoutMs: 1_500, batchSize: 5 })
  worker.start()
  await restartDone
  // The worker logs "email sent" once the send is recorded in the database: wait for all N.
  await logs.until((lines) => new Set(lines.filter((l) => l.msg === 'email sent').map((l) => l.fields.outboxId)).size >= N)
  await worker.stop()

  const store = Store.parse(await (await fetch(`${emulatorUrl}/store`)).json())
  const recipients = store.emails.flatMap((e) => e.destination.to)
  const unique = new Set(recipients)
  const duplicates = recipients.length - unique.size
  const roundFailures = logs.lines.filter((l) => l.msg === 'email worker round failed' || l.msg === 'email sent but not yet recorded; retrying').length
  console.log(
    `Postgres restarted after send #${restartAt}: sent ${unique.size} of ${N}, duplicates ${duplicates}, ` +
      `database errors the worker rode out ${roundFailures}`,
  )
  expect(unique.size).toBe(N)
  expect(duplicates).toBe(0)
  expect(restartAt).toBe(8)
  const unsent = await knex('email_outbox').whereNot({ status: 'sent' }).count<{ n: string }[]>({ n: '*' })
  expect(Number(unsent[0]?.n)).toBe(0)
  const sent = await knex('invitations').where({ delivery_status: 'sent' }).count<{ n: string }[]>({ n: '*' })
  expect(Number(sent[0]?.n)).toBe(N)
})
