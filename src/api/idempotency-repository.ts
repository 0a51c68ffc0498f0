import type { Knex } from 'knex'

/**
 * The idempotency repository: the statements on `api_idempotency` (docs/api.md "Idempotency").
 * Functions take the caller's connection or transaction and open none.
 */

type Db = Knex | Knex.Transaction

export interface IdempotencyRow {
  account_id: string
  idempotency_key: string
  request_hash: Buffer
  response_status: number | null
  response_body: unknown
  created_at: Date
  expires_at: Date
}

/**
 * Claim `key` for a first request: true when this call inserted the row (the primary key
 * (account_id, idempotency_key) decides between concurrent requests: the second waits for the
 * first insert's transaction, then inserts nothing).
 */
export async function claimIdempotencyKey(db: Db, r: { accountId: string; key: string; requestHash: Buffer; now: Date; expiresAt: Date }): Promise<boolean> {
  const rows = await db('api_idempotency')
    .insert({ account_id: r.accountId, idempotency_key: r.key, request_hash: r.requestHash, created_at: r.now, expires_at: r.expiresAt })
    .onConflict(['account_id', 'idempotency_key'])
    .ignore()
    .returning('idempotency_key')
  return rows.length === 1
}

/** The stored row of `key`. */
export async function readIdempotencyKey(db: Db, accountId: string, key: string): Promise<IdempotencyRow | null> {
  return (await db<IdempotencyRow>('api_idempotency').where({ account_id: accountId, idempotency_key: key }).first()) ?? null
}

/**
 * Take over a row that is expired, or still in progress since before `staleBefore` (its request
 * died with its process): true when this call did. The conditions are in the statement, so two
 * requests cannot both take it.
 */
export async function retakeIdempotencyKey(db: Db, r: { accountId: string; key: string; requestHash: Buffer; now: Date; expiresAt: Date; staleBefore: Date }): Promise<boolean> {
  const n = await db('api_idempotency')
    .where({ account_id: r.accountId, idempotency_key: r.key })
    .andWhere((q) => q.where('expires_at', '<=', r.now).orWhere((p) => p.whereNull('response_status').andWhere('created_at', '<', r.staleBefore)))
    .update({ request_hash: r.requestHash, response_status: null, response_body: null, created_at: r.now, expires_at: r.expiresAt })
  return n === 1
}

/** The first answer (`{ body, headers }` in `response_body`), stored for replays. */
export async function storeIdempotentAnswer(db: Db, r: { accountId: string; key: string; status: number; answer: { body: unknown; headers: Record<string, string> } }): Promise<void> {
  await db('api_idempotency')
    .where({ account_id: r.accountId, idempotency_key: r.key })
    .whereNull('response_status')
    .update({ response_status: r.status, response_body: JSON.stringify(r.answer) })
}

/** Forget a key whose request failed on our side, so that a retry runs again. */
export async function releaseIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db('api_idempotency').where({ account_id: accountId, idempotency_key: key }).whereNull('response_status').delete()
}

/** Delete rows past their expiry, at most `limit` at a time. Returns how many went. */
export async function deleteExpiredIdempotencyKeys(db: Db, now: Date, limit: number): Promise<number> {
  return db('api_idempotency')
    .whereIn(['account_id', 'idempotency_key'], db('api_idempotency').select('account_id', 'idempotency_key').where('expires_at', '<=', now).limit(limit))
    .delete()
}
