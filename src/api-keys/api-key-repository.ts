import type { Knex } from 'knex'

/**
 * The API key repository: the statements on `api_keys` (docs/architecture.md "Persistence").
 * Functions take the caller's connection or transaction and open none. A key is found by its
 * SHA-256 only (the unique index on `key_hash`); the key itself is never stored.
 */

type Db = Knex | Knex.Transaction

export interface ApiKeyRow {
  id: string
  account_id: string
  label: string
  prefix: string
  created_at: Date
  created_by: string | null
  last_used_at: Date | null
  revoked_at: Date | null
}

/** The columns a reader may see: everything but the hash. */
const PUBLIC_COLUMNS = ['id', 'account_id', 'label', 'prefix', 'created_at', 'created_by', 'last_used_at', 'revoked_at'] as const

/**
 * A new key. Null when the account already has an active key with this label (case-insensitive):
 * the partial unique index `api_keys_active_label_idx` decides, also between concurrent inserts.
 */
export async function insertApiKey(
  trx: Knex.Transaction,
  k: { accountId: string; label: string; prefix: string; keyHash: Buffer; createdBy: string | null; now: Date },
): Promise<ApiKeyRow | null> {
  const rows = await trx('api_keys')
    .insert({ account_id: k.accountId, label: k.label, prefix: k.prefix, key_hash: k.keyHash, created_by: k.createdBy, created_at: k.now })
    .onConflict(trx.raw('(account_id, lower(label)) WHERE revoked_at IS NULL'))
    .ignore()
    .returning<ApiKeyRow[]>([...PUBLIC_COLUMNS])
  return rows[0] ?? null
}

/** The key with this hash, revoked or not. */
export async function findApiKeyByHash(db: Db, keyHash: Buffer): Promise<ApiKeyRow | null> {
  return (await db('api_keys').where({ key_hash: keyHash }).first<ApiKeyRow | undefined>([...PUBLIC_COLUMNS])) ?? null
}

/**
 * The key `id` if it is active and belongs to the account, with the account's name and time
 * zone. `FOR SHARE` on the key's row: a revocation waits for the actions already running under
 * the key, and every action that starts after it sees the key revoked.
 */
export async function findActiveApiKey(
  trx: Db,
  accountId: string,
  id: string,
): Promise<{ id: string; label: string; account_name: string; time_zone: string } | null> {
  const row = await trx('api_keys as k')
    .join('accounts as a', 'a.id', 'k.account_id')
    .where({ 'k.id': id, 'k.account_id': accountId })
    .whereNull('k.revoked_at')
    .forShare('k')
    .first<{ id: string; label: string; account_name: string; time_zone: string } | undefined>('k.id', 'k.label', 'a.name as account_name', 'a.time_zone')
  return row ?? null
}

/** Keys, newest first: of one account, or of all of them. */
export async function listApiKeyRows(db: Db, accountId: string | null): Promise<(ApiKeyRow & { account_name: string })[]> {
  const q = db('api_keys as k')
    .join('accounts as a', 'a.id', 'k.account_id')
    .orderBy([{ column: 'k.created_at', order: 'desc' }, { column: 'k.id', order: 'asc' }])
    .select<(ApiKeyRow & { account_name: string })[]>(...PUBLIC_COLUMNS.map((c) => `k.${c}`), 'a.name as account_name')
  if (accountId) q.where('k.account_id', accountId)
  return q
}

/** Keys named by id or by prefix (a prefix is unique; an id is checked to be a uuid by the caller). */
export async function findApiKeys(db: Db, by: { id: string } | { prefix: string }): Promise<ApiKeyRow[]> {
  return db('api_keys')
    .where('id' in by ? { id: by.id } : { prefix: by.prefix })
    .select<ApiKeyRow[]>([...PUBLIC_COLUMNS])
}

/** Revoke a key (once: a revoked key keeps its first revocation time). Null when it was revoked already. */
export async function revokeApiKeyRow(trx: Knex.Transaction, id: string, now: Date): Promise<ApiKeyRow | null> {
  const rows = await trx('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: now }).returning<ApiKeyRow[]>([...PUBLIC_COLUMNS])
  return rows[0] ?? null
}

/**
 * Record that a key was used, at most once per `everyMs` (a write per request would turn every
 * read of the API into a write).
 */
export async function touchApiKey(db: Db, id: string, now: Date, everyMs: number): Promise<void> {
  await db('api_keys')
    .where({ id })
    .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', new Date(now.getTime() - everyMs)))
    .update({ last_used_at: now })
}
