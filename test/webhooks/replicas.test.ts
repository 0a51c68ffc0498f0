/**
 * Two webhook workers on one database (two replicas): each message is posted once, and each
 * person's events still arrive in order. Meant for Postgres (`DATABASE_URL`), where the two
 * workers' claims really race (`FOR UPDATE SKIP LOCKED`); on PGlite it runs too, serialised.
 */
import { afterEach, beforeEach, expect, test } from 'vitest'
import { runCommandText } from '../../src/commands/run-command.ts'
import type { Deps } from '../../src/deps.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { addWebhookEndpoint } from '../../src/webhooks/endpoints.ts'
import { createWebhookWorker } from '../../src/webhooks/worker.ts'
import type { TestDatabase } from '../support/db.ts'
import type { SeededAccount, TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'

let db: TestDatabase
let seeded: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps: seeded, seed } = t))

let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver()
})
afterEach(async () => {
  await receiver.close()
})

test('two workers deliver every message exactly once, each person’s in order', async () => {
  // The real clock: the receiver checks webhook-timestamp against it.
  const deps: Deps = { ...seeded, clock: systemClock }
  const settings = { retryScheduleMs: [1_000], disableAfterMs: 86_400_000, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false }
  const added = await addWebhookEndpoint(deps, settings, { accountId: seed.account.id, url: receiver.url, events: null, actor: seed.adminActor })
  if (!added.ok) throw new Error(added.code)
  receiver.secret = added.value.secret
  const people = Array.from({ length: 8 }, (_, i) => `p${i}@x.test`)
  const run = (text: string) => runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text, confirmed: true })
  for (const email of people) await run(`add ${email} --name "Pat Person"`)
  for (const email of people) await run(`edit ${email} --group Engineering`)
  for (const email of people) await run(`resend ${email}`)
  for (const email of people) await run(`remove ${email}`)
  const total = await db.knex('webhook_messages').count<{ n: string | number }[]>({ n: '*' })
  expect(Number(total[0]!.n)).toBe(32)

  const workers = [1, 2].map(() => createWebhookWorker({ deps, settings, batchSize: 3, concurrency: 3 }))
  // Both drain at once until a round of both finds nothing.
  for (;;) {
    const claimed = await Promise.all(workers.map((w) => w.drainOnce()))
    if (claimed.every((n) => n === 0)) break
  }
  expect(receiver.unverified).toEqual([])
  const ids = receiver.accepted.map((d) => d.id)
  expect(ids).toHaveLength(32)
  expect(new Set(ids).size).toBe(32)
  for (const email of people) {
    expect(receiver.accepted.filter((d) => d.data.email === email).map((d) => d.type)).toEqual(['invitation.sent', 'user.groups_changed', 'invitation.resent', 'user.removed'])
  }
  expect(await db.knex('webhook_messages').whereNot({ status: 'delivered' }).orWhereNot({ attempts: 1 })).toEqual([])
})
