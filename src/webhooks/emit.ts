import { randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import type { WebhookEvent, WebhookPayload } from './events.ts'
import { enabledEndpointsOf, insertMessages, type MessageInsert } from './webhook-repository.ts'

/**
 * Announce events to the account's webhook endpoints (docs/webhooks.md): one outbox row per
 * (event, enabled endpoint subscribed to its type), written in the caller's transaction, so an
 * event exists exactly when the change it announces committed. The delivery worker
 * (src/webhooks/worker.ts) posts them later; nothing here touches the network.
 *
 * Each event gets one message id (`msg_…`), the `webhook-id` of every attempt to every endpoint:
 * a receiver that got it twice drops the copy by it.
 */
export async function emitWebhookEvents(trx: Knex.Transaction, events: readonly WebhookEvent[]): Promise<void> {
  if (events.length === 0) return
  const endpoints = await enabledEndpointsOf(
    trx,
    events.map((e) => e.accountId),
  )
  if (endpoints.length === 0) return
  const rows: MessageInsert[] = []
  for (const event of events) {
    const payload: WebhookPayload = { type: event.type, timestamp: event.at.toISOString(), data: { ...event.data } }
    const body = JSON.stringify(payload)
    const messageId = newMessageId()
    for (const endpoint of endpoints) {
      if (endpoint.account_id !== event.accountId) continue
      if (endpoint.events !== null && !endpoint.events.includes(event.type)) continue
      rows.push({
        message_id: messageId,
        endpoint_id: endpoint.id,
        account_id: event.accountId,
        event_type: event.type,
        ordering_key: orderingKey(event),
        payload: body,
        created_at: event.at,
      })
    }
  }
  await insertMessages(trx, rows)
}

/** One event: see `emitWebhookEvents`. */
export function emitWebhookEvent(trx: Knex.Transaction, event: WebhookEvent): Promise<void> {
  return emitWebhookEvents(trx, [event])
}

/**
 * What `emitWebhookEvent` writes for one event, as one SQL statement for a use case that folds it
 * into its own write statement (a data-modifying CTE: `announced AS (<sql>)`), saving the read of
 * the endpoints and the insert's round trips: one row per enabled endpoint of the account
 * subscribed to the type, in endpoint order, all with one message id, none when there is no such
 * endpoint. `?` placeholders.
 */
export function webhookEventInsertSql(event: WebhookEvent): { sql: string; bindings: unknown[] } {
  const payload: WebhookPayload = { type: event.type, timestamp: event.at.toISOString(), data: { ...event.data } }
  return {
    sql:
      'INSERT INTO webhook_messages (message_id, endpoint_id, account_id, event_type, ordering_key, payload, created_at, status, next_attempt_at) ' +
      "SELECT ?::text, e.id, e.account_id, ?::text, ?::text, ?::json, ?::timestamptz, 'queued', ?::timestamptz FROM webhook_endpoints e " +
      "WHERE e.account_id = ?::uuid AND e.status = 'enabled' AND (e.events IS NULL OR ?::text = ANY (e.events)) ORDER BY e.id",
    bindings: [newMessageId(), event.type, orderingKey(event), JSON.stringify(payload), event.at, event.at, event.accountId, event.type],
  }
}

/** A new `webhook-id`: `msg_` and 144 random bits. */
export function newMessageId(): string {
  return `msg_${randomBytes(18).toString('base64url')}`
}

/** What keeps a person's events in order: their user id, or their address when no user is known (a bounce). */
function orderingKey(event: WebhookEvent): string {
  const data = event.data as { userId?: string | null; email?: string }
  return data.userId ? `user:${data.userId}` : `email:${(data.email ?? '').slice(0, 90)}`
}
