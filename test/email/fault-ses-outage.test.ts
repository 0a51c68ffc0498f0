import { readFileSync } from 'node:fs'
import nock from 'nock'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'

/**
 * Fault: SES fails for a stretch (5xx, throttling, resets) and then recovers. Every committed
 * email must be sent exactly once afterwards. The real SDK talks to SES's API through nock; the
 * worker's clock is the test's, so the backoffs pass instantly and exactly.
 */
const SES = 'https://email.eu-west-1.amazonaws.com'
const xml = (name: string) => readFileSync(new URL(`./fixtures/ses/${name}.xml`, import.meta.url), 'utf8')

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
  nock.disableNetConnect()
})
afterAll(async () => {
  nock.enableNetConnect()
  await db.close()
})

it('SES down for a stretch, then back: sent N of N, duplicates 0', async () => {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps)
  const N = 10
  for (let i = 0; i < N; i++) await inviteUser(deps, seed, `user${i}@example.com`)

  const OUTAGE = 25 // failed requests before SES recovers
  const failures: [number, string][] = [
    [503, '<html>Service Unavailable</html>'],
    [500, xml('internal-failure')],
    [400, xml('throttling-rate')],
  ]
  let requests = 0
  const accepted: string[] = [] // outbox ids SES accepted, from the signed request's tags
  nock(SES)
    .persist()
    .post('/')
    .reply((_uri, body) => {
      requests += 1
      if (requests <= OUTAGE) return failures[requests % failures.length]!
      const outboxId = new URLSearchParams(String(body)).get('Tags.member.1.Value') ?? '?'
      accepted.push(outboxId)
      return [200, xml('send-email-ok').replace(/<MessageId>[^<]+/, `<MessageId>ses-${outboxId}-${requests}`)]
    })

  const sender = createSesSender({ quotaWaitMs: 60_000, clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } } })
  const worker = createEmailWorker({ deps, sender, gateClock: 'deps', maxSendRate: 14, sleep: async (ms) => deps.clock.advance(ms) })
  let rounds = 0
  for (;;) {
    await worker.drainOnce()
    rounds += 1
    const next = await db.knex('email_outbox').whereIn('status', ['queued', 'sending']).min<{ at: Date | null }[]>({ at: 'next_attempt_at' })
    const at = next[0]?.at
    if (!at) break
    if (at > deps.clock.now()) deps.clock.set(at)
    if (rounds > 500) throw new Error('did not converge')
  }

  const rows = await db.knex('email_outbox').select('id', 'status', 'attempts', 'message_id')
  const sentRows = rows.filter((r) => r.status === 'sent')
  const duplicates = accepted.length - new Set(accepted).size
  const maxAttempts = Math.max(...rows.map((r) => r.attempts))
  console.log(
    `SES outage: ${OUTAGE} failed requests then recovery → sent ${sentRows.length} of ${N}, duplicates ${duplicates}, ` +
      `SES requests ${requests}, most attempts for one email ${maxAttempts}, worker rounds ${rounds}`,
  )
  expect(requests).toBeGreaterThan(OUTAGE)
  expect(sentRows).toHaveLength(N)
  expect(duplicates).toBe(0)
  expect(new Set(accepted)).toEqual(new Set(rows.map((r) => String(r.id))))
  expect((await db.knex('invitations').where({ delivery_status: 'sent' }).count<{ n: number }[]>({ n: '*' }))[0]?.n).toBe(N)
})
