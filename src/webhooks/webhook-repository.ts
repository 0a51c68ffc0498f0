import type { Knex } from 'knex'
import { leaseQueue } from '../shared/lease-queue.ts'

/**
 * `webhook_endpoints` and `webhook_messages` (migrations/20261130140000_webhooks.ts): the
 * endpoints an account added, and the outbox the delivery worker drains as a lease queue. The rules
 * (who may add, what is signed, when to give up) are in endpoints.ts, emit.ts and worker.ts.
 */

type Db = Knex | Knex.Transaction

export interface EndpointRow {
  id: string
  account_id: string
  url: string
  events: string[] | null
  secret: Buffer
  status: 'enabled' | 'disabled'
  created_at: Date
  failing_since: Date | null
  last_error: string | null
  disabled_at: Date | null
}

export interface EndpointListRow extends Omit<EndpointRow, 'secret'> {
  account_name: string
  queued: number
  failed: number
}

export async function insertEndpoint(db: Db, row: Pick<EndpointRow, 'id' | 'account_id' | 'url' | 'events' | 'secret' | 'created_at'>): Promise<void> {
  await db('webhook_endpoints').insert({ ...row, status: 'enabled' })
}

export async function findEndpoint(db: Db, id: string, opts: { forUpdate?: boolean } = {}): Promise<EndpointRow | null> {
  const q = db<EndpointRow>('webhook_endpoints').where({ id }).first()
  if (opts.forUpdate) q.forUpdate()
  return (await q) ?? null
}

export async function findEndpoints(db: Db, ids: readonly string[]): Promise<EndpointRow[]> {
  if (ids.length === 0) return []
  return db<EndpointRow>('webhook_endpoints').whereIn('id', [...new Set(ids)])
}

/**
 * Every endpoint (of one account, or all), oldest first, with how many messages wait and how many
 * were given up. The waiting count reads open rows through webhook_messages_order_idx (partial, on
 * open rows); the given-up count reads the endpoint's rows through the unique
 * (endpoint_id, message_id) index, which the worker's purge keeps to WEBHOOK_RETENTION's worth.
 */
export async function listEndpoints(db: Db, accountId: string | null): Promise<EndpointListRow[]> {
  const q = db('webhook_endpoints as w')
    .join('accounts as a', 'a.id', 'w.account_id')
    .select(
      'w.id',
      'w.account_id',
      'a.name as account_name',
      'w.url',
      'w.events',
      'w.status',
      'w.created_at',
      'w.failing_since',
      'w.last_error',
      'w.disabled_at',
      db.raw(`(SELECT count(*)::int FROM webhook_messages m WHERE m.endpoint_id = w.id AND m.status IN ('queued', 'sending')) AS queued`),
      db.raw(`(SELECT count(*)::int FROM webhook_messages m WHERE m.endpoint_id = w.id AND m.status = 'failed') AS failed`),
    )
    .orderBy([{ column: 'w.created_at' }, { column: 'w.id' }])
  if (accountId) q.where('w.account_id', accountId)
  return q as Promise<EndpointListRow[]>
}

/** Delete an endpoint and (cascade) its messages. Returns whether it existed. */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  return (await db('webhook_endpoints').where({ id }).delete()) > 0
}

/** Enable again, its failure streak forgotten; messages held while it was disabled are due now. */
export async function enableEndpoint(db: Db, id: string, now: Date): Promise<void> {
  await db('webhook_endpoints').where({ id }).update({ status: 'enabled', disabled_at: null, failing_since: null, last_error: null })
  await db('webhook_messages').where({ endpoint_id: id, status: 'queued' }).update({ next_attempt_at: now })
}

/** The enabled endpoints of these accounts, for fanning events out to them. */
export async function enabledEndpointsOf(db: Db, accountIds: readonly string[]): Promise<Pick<EndpointRow, 'id' | 'account_id' | 'events'>[]> {
  if (accountIds.length === 0) return []
  return db('webhook_endpoints').select('id', 'account_id', 'events').whereIn('account_id', [...new Set(accountIds)]).andWhere({ status: 'enabled' }).orderBy('id')
}

export interface MessageInsert {
  message_id: string
  endpoint_id: string
  account_id: string
  event_type: string
  ordering_key: string
  payload: string
  created_at: Date
}

/** Queue messages, due at once (their `created_at`). In the caller's transaction: the change's own. */
export async function insertMessages(db: Db, rows: readonly MessageInsert[]): Promise<void> {
  // Chunks keep one statement's bindings far below Postgres's limit (65535) for any sweep size.
  for (let i = 0; i < rows.length; i += 500) {
    await db('webhook_messages').insert(rows.slice(i, i + 500).map((r) => ({ ...r, status: 'queued', next_attempt_at: r.created_at })))
  }
}

/** A delivery succeeded: the endpoint is healthy again. */
export async function markEndpointHealthy(db: Db, id: string): Promise<void> {
  await db('webhook_endpoints').where({ id }).whereNotNull('failing_since').update({ failing_since: null, last_error: null })
}

/** A delivery failed: start (or continue) the endpoint's failure streak. Returns when it began, or null if the endpoint is gone. */
export async function markEndpointFailing(db: Db, id: string, now: Date, error: string): Promise<Date | null> {
  const rows = await db('webhook_endpoints')
    .where({ id })
    .update({ failing_since: db.raw('coalesce(failing_since, ?)', [now]), last_error: error.slice(0, 500) })
    .returning<{ failing_since: Date }[]>('failing_since')
  return rows[0]?.failing_since ?? null
}

/**
 * Disable an endpoint failing since `failingBefore` or earlier, if it still is enabled and still
 * failing (conditional, so of several replicas exactly one disables it). Returns the row disabled.
 */
export async function disableFailingEndpoint(db: Db, id: string, failingBefore: Date, now: Date): Promise<Pick<EndpointRow, 'id' | 'account_id' | 'url' | 'failing_since' | 'last_error'> | null> {
  const rows = await db('webhook_endpoints')
    .where({ id, status: 'enabled' })
    .andWhere('failing_since', '<=', failingBefore)
    .update({ status: 'disabled', disabled_at: now })
    .returning<Pick<EndpointRow, 'id' | 'account_id' | 'url' | 'failing_since' | 'last_error'>[]>(['id', 'account_id', 'url', 'failing_since', 'last_error'])
  return rows[0] ?? null
}

/** A claimed message, as the worker reads it. */
export interface MessageRow {
  id: string | number
  message_id: string
  endpoint_id: string
  account_id: string
  event_type: string
  payload: unknown
  attempts: number
  claim_token: string
}

/**
 * The outbox on the shared lease queue (src/shared/lease-queue.ts). A row is due when it is
 * queued and its time has come, or was being sent by a worker whose lease ran out, AND no older
 * row of the same user (`ordering_key`) for the same endpoint is still open: a user's events reach
 * an endpoint in the order they happened, each after the one before it was delivered or given up.
 * A claim marks it `sending`; a release puts it back `queued` until `next_attempt_at`; a close marks
 * it `delivered` (no note) or `failed` (the note says why). Served by webhook_messages_due_idx and
 * webhook_messages_order_idx.
 */
export const webhookQueue = leaseQueue({
  table: 'webhook_messages',
  key: ['id'],
  leaseColumn: 'locked_until',
  fenceColumn: 'claim_token',
  attemptsColumn: 'attempts',
  due: (now) => ({
    sql: `((status = 'queued' AND next_attempt_at <= ?) OR (status = 'sending' AND locked_until <= ?))
          AND NOT EXISTS (
            SELECT 1 FROM webhook_messages older
             WHERE older.endpoint_id = webhook_messages.endpoint_id
               AND older.ordering_key = webhook_messages.ordering_key
               AND older.id < webhook_messages.id
               AND older.status IN ('queued', 'sending'))`,
    bindings: [now, now],
  }),
  order: 'next_attempt_at, id',
  returning: 'id, message_id, endpoint_id, account_id, event_type, payload, attempts, claim_token',
  onClaim: `status = 'sending'`,
  held: { status: 'sending' },
  releaseAt: (at) => ({ status: 'queued', locked_until: null, next_attempt_at: at }),
  close: (now, note) => (note === null ? { status: 'delivered', closed_at: now, locked_until: null, last_error: null } : { status: 'failed', closed_at: now, locked_until: null, last_error: note.slice(0, 500) }),
})

/** Only messages of enabled endpoints are claimed: a disabled endpoint's wait until it is enabled again. */
export const ENABLED_ENDPOINTS_FILTER = { sql: `endpoint_id IN (SELECT id FROM webhook_endpoints WHERE status = 'enabled')`, bindings: [] }

/**
 * Delete at most `limit` closed messages (delivered or given up) closed before `before`: their
 * payloads hold people's names and emails, kept no longer than WEBHOOK_RETENTION. Oldest first by
 * id (messages close roughly in id order, so the primary key finds them early); rows another
 * purge holds are skipped, so two replicas purging at once never wait on each other. Returns how
 * many went.
 */
export async function deleteClosedMessages(db: Db, before: Date, limit: number): Promise<number> {
  const closed = db('webhook_messages').select('id').whereIn('status', ['delivered', 'failed']).andWhere('closed_at', '<', before).orderBy('id').limit(limit).forUpdate().skipLocked()
  return db('webhook_messages').whereIn('id', closed).delete()
}

/** Record the outcome of an attempt on the row (its HTTP status, or why there was none). */
export function attemptFacts(status: number | null, error: string | null): Record<string, unknown> {
  return { last_status: status, last_error: error === null ? null : error.slice(0, 500) }
}

/** Write the account event that tells the administrators in chat (docs/notices.md). */
export async function insertEndpointDisabledEvent(db: Db, e: { accountId: string; endpointId: string; url: string; failingSince: Date; lastError: string | null; now: Date }): Promise<void> {
  await db('account_events').insert({
    account_id: e.accountId,
    type: 'webhook.endpoint_disabled',
    payload: JSON.stringify({ endpointId: e.endpointId, url: e.url, failingSince: e.failingSince.toISOString(), lastError: e.lastError }),
    created_at: e.now,
  })
}
