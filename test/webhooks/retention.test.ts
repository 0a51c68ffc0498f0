/**
 * Retention of the webhook outbox (docs/webhooks.md "Retention"): the worker deletes delivered and
 * given-up messages closed more than WEBHOOK_RETENTION ago, a bounded number per purge, and never
 * an open one; a running worker purges on its own. Time is the injected clock's.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import type { WebhookSettings } from '../../src/webhooks/config.ts'
import { addWebhookEndpoint } from '../../src/webhooks/endpoints.ts'
import { createWebhookWorker } from '../../src/webhooks/worker.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const SETTINGS: WebhookSettings = { retryScheduleMs: [60_000], disableAfterMs: DAY, timeoutMs: 5_000, allowPrivate: true, httpsOnly: false, retentionMs: 30 * DAY }

async function endpoint(): Promise<string> {
  const added = await addWebhookEndpoint(deps, SETTINGS, { accountId: seed.account.id, url: 'https://hooks.example.com/in', events: null, actor: seed.adminActor }, { resolve: async () => [{ address: '93.184.216.34', family: 4 }] })
  if (!added.ok) throw new Error(added.code)
  return added.value.id
}

/** A message of `endpointId` in `status`, closed `closedDaysAgo` days ago (open ones are not closed). */
async function message(endpointId: string, status: 'queued' | 'sending' | 'delivered' | 'failed', daysAgo: number): Promise<string> {
  const at = new Date(deps.clock.now().getTime() - daysAgo * DAY)
  const messageId = `msg_${randomBytes(9).toString('base64url')}`
  await db.knex('webhook_messages').insert({
    message_id: messageId,
    endpoint_id: endpointId,
    account_id: seed.account.id,
    event_type: 'invitation.sent',
    ordering_key: 'u',
    payload: JSON.stringify({ type: 'invitation.sent', data: { email: 'someone@x.test' } }),
    created_at: at,
    next_attempt_at: at,
    status,
    closed_at: status === 'delivered' || status === 'failed' ? at : null,
  })
  return messageId
}

async function left(): Promise<string[]> {
  return (await db.knex('webhook_messages').orderBy('id').select('message_id')).map((r: { message_id: string }) => r.message_id)
}

describe('the purge of closed webhook messages', () => {
  test('delivered and given-up messages older than the retention go; newer ones and open ones of any age stay', async () => {
    const id = await endpoint()
    await message(id, 'delivered', 31)
    await message(id, 'failed', 45)
    const recent = [await message(id, 'delivered', 29), await message(id, 'failed', 1)]
    // Queued for a long-disabled endpoint, or being sent: still owed, never deleted.
    const open = [await message(id, 'queued', 90), await message(id, 'sending', 60)]
    const w = createWebhookWorker({ deps, settings: SETTINGS })
    expect(await w.purgeOnce()).toBe(2)
    expect((await left()).sort()).toEqual([...recent, ...open].sort())
    // A day later the one closed 29 days ago has passed its 30 days too.
    deps.clock.advance(1.5 * DAY)
    expect(await w.purgeOnce()).toBe(1)
    expect((await left()).sort()).toEqual([recent[1]!, ...open].sort())
  })

  test('a purge is bounded (five statements of purgeBatchSize rows); the next one continues', async () => {
    const id = await endpoint()
    for (let i = 0; i < 13; i++) await message(id, 'delivered', 40)
    const w = createWebhookWorker({ deps, settings: SETTINGS, purgeBatchSize: 2 })
    expect(await w.purgeOnce()).toBe(10)
    expect(await left()).toHaveLength(3)
    expect(await w.purgeOnce()).toBe(3)
    expect(await left()).toEqual([])
  })

  test('WEBHOOK_RETENTION decides; a running worker purges on its own', async () => {
    const id = await endpoint()
    await message(id, 'delivered', 3)
    const kept = await message(id, 'delivered', 1)
    const w = createWebhookWorker({ deps, settings: { ...SETTINGS, retentionMs: 2 * DAY }, pollIntervalMs: 60_000 })
    // The loop's first round purges before it claims; stop waits for that round.
    w.start()
    await w.stop()
    expect(await left()).toEqual([kept])
  })
})
