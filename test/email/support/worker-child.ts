/**
 * A worker process for the crash tests: `node --import tsx test/email/support/worker-child.ts`.
 * Env: DB_URL, MODE (`hang`: announce each send on stdout and never finish it, so the parent can
 * SIGKILL us between commit and send; `ses`: send through SES as configured by the AWS_* variables),
 * LOCK_MS, PUBLIC_BASE_URL. Prints one JSON line per event.
 */
import knexFactory from 'knex'
import { createSesSender } from '../../../adapters/email/ses-sender.ts'
import { createEmailWorker } from '../../../src/email/outbox-worker.ts'
import { systemClock } from '../../../src/ports/clock.ts'
import type { EmailSender } from '../../../src/ports/email.ts'
import type { Logger } from '../../../src/ports/logger.ts'
import { testConfig } from '../../support/factories.ts'

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)
const logger: Logger = {
  info: (o, m) => say({ level: 'info', msg: m ?? o, ...(typeof o === 'object' ? o : {}) }),
  warn: (o, m) => say({ level: 'warn', msg: m ?? o, ...(typeof o === 'object' ? o : {}) }),
  error: (o, m) => say({ level: 'error', msg: m ?? o, ...(typeof o === 'object' ? o : {}) }),
  debug: () => {},
  child: () => logger,
}

const db = knexFactory({ client: 'pg', connection: process.env.DB_URL, pool: { min: 0, max: 2 } })
const hang: EmailSender = {
  name: 'hang',
  send: async (m) => {
    say({ event: 'sending', outboxId: m.id })
    return new Promise(() => {})
  },
}
const sender = process.env.MODE === 'hang' ? hang : createSesSender({ quotaWaitMs: 60_000 })
const lockMs = Number(process.env.LOCK_MS ?? 60_000)
const worker = createEmailWorker({
  deps: { db, clock: systemClock, logger, config: testConfig({ publicBaseUrl: process.env.PUBLIC_BASE_URL ?? 'http://invite.test' }) },
  sender,
  lockMs,
  // The longest deadline a lease allows: in `hang` mode the parent kills us well before it.
  sendTimeoutMs: Math.floor(lockMs / 2),
  pollIntervalMs: 50,
  maxSendRate: 50,
})
worker.start()
say({ event: 'started', pid: process.pid, db: process.env.DB_URL ?? null })
process.on('SIGTERM', () => {
  void worker.stop().then(() => db.destroy()).then(() => process.exit(0))
})
