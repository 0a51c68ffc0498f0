import { createHash, randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { findApiKeyByHash, findApiKeys, insertApiKey, listApiKeyRows, revokeApiKeyRow, touchApiKey, type ApiKeyRow } from './api-key-repository.ts'

/**
 * API keys (docs/api.md): what the host product's backend presents to `/api/v1`. An operator
 * creates one for an account and sees it once; the database keeps its SHA-256 and a short prefix.
 * A key acts for its account only, and every action through it is audited as `api:<label>`.
 */

/** What every key starts with: recognisable in a leaked log or a secret scanner. */
export const API_KEY_PREFIX = 'iok_'

/** `iok_` and 32 random bytes in base64url (43 characters). */
const KEY_SHAPE = /^iok_[A-Za-z0-9_-]{43}$/

/** Characters of the key (after `iok_`) kept in clear as its prefix: 48 bits, enough to tell keys apart, nothing to guess with. */
const PREFIX_CHARS = 8

/** A label: what the audit shows after `api:`, so no spaces or punctuation that would need quoting. */
export const API_KEY_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$/

/** How often `last_used_at` is written at most, per key. */
const TOUCH_EVERY_MS = 60_000

/** A key as a listing shows it: never the key, never its hash. */
export interface ApiKeyView {
  id: string
  accountId: string
  accountName?: string
  label: string
  prefix: string
  createdAt: Date
  createdBy: string | null
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export type ApiKeyFailure =
  | { code: 'api_key.label_invalid'; label: string }
  | { code: 'api_key.label_taken'; label: string }
  | { code: 'api_key.not_found'; key: string }
  | { code: 'api_key.ambiguous'; key: string }
  | { code: 'api_key.already_revoked'; key: ApiKeyView }

/**
 * SHA-256 of a presented key. A fast hash is right here, unlike for passwords: a key is 256 bits
 * from the CSPRNG, so a stolen hash cannot be reversed by guessing, and a slow hash would only
 * make every request slower. Lookups by hash go through a unique index, so no comparison of
 * secrets happens in our code whose timing could leak.
 */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

function view(row: ApiKeyRow & { account_name?: string }): ApiKeyView {
  return {
    id: row.id,
    accountId: row.account_id,
    ...(row.account_name !== undefined ? { accountName: row.account_name } : {}),
    label: row.label,
    prefix: row.prefix,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  }
}

/** The operator's audit line for a key change (the CLI checks no administrator: it is the operator's). */
function auditKey(trx: Knex.Transaction, now: Date, k: { accountId: string; operator: string; action: string; label: string; keyId: string; prefix: string }): Promise<void> {
  return recordAudit(trx, {
    accountId: k.accountId,
    at: now,
    actor: { platform: 'cli', platformUserId: k.operator, email: null },
    action: k.action,
    targetEmail: null,
    resultCode: k.action === 'api_key.create' ? 'api_key.created' : 'api_key.revoked',
    ok: true,
    detail: { apiKeyId: k.keyId, label: k.label, prefix: k.prefix },
  })
}

/**
 * A new key for the account: `key` is returned here and nowhere else, ever. `label` names the key
 * in the audit (`api:<label>`) and is unique among the account's active keys.
 */
export async function createApiKey(
  deps: Deps,
  input: { accountId: string; label: string; operator: string },
): Promise<Result<{ key: string; apiKey: ApiKeyView }, ApiKeyFailure>> {
  const label = input.label.trim()
  if (!API_KEY_LABEL.test(label)) return fail({ code: 'api_key.label_invalid', label: input.label.slice(0, 100) })
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url')
  const prefix = key.slice(0, API_KEY_PREFIX.length + PREFIX_CHARS)
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    const row = await insertApiKey(trx, { accountId: input.accountId, label, prefix, keyHash: hashApiKey(key), createdBy: input.operator.slice(0, 200), now })
    if (!row) return fail({ code: 'api_key.label_taken', label })
    await auditKey(trx, now, { accountId: input.accountId, operator: input.operator, action: 'api_key.create', label, keyId: row.id, prefix })
    return ok({ key, apiKey: view(row) })
  })
}

/** Every key (of one account, or all), newest first, revoked ones included. */
export async function listApiKeys(db: Knex, accountId: string | null): Promise<ApiKeyView[]> {
  return (await listApiKeyRows(db, accountId)).map(view)
}

/**
 * Revoke a key named by its id or its prefix (`iok_…`, as listed). Takes effect at once: every
 * action re-checks its key inside its own transaction, and waits for a revocation in progress.
 */
export async function revokeApiKey(deps: Deps, input: { key: string; operator: string }): Promise<Result<{ apiKey: ApiKeyView }, ApiKeyFailure>> {
  const named = input.key.trim()
  const shown = named.slice(0, 100)
  // A whole key pasted by mistake still names its key, by its prefix.
  const prefix = named.slice(0, API_KEY_PREFIX.length + PREFIX_CHARS)
  const by = isUuid(named) ? { id: named } : /^iok_[A-Za-z0-9_-]{8}$/.test(prefix) ? { prefix } : null
  if (!by) return fail({ code: 'api_key.not_found', key: shown })
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    const rows = await findApiKeys(trx, by)
    if (rows.length === 0) return fail({ code: 'api_key.not_found', key: shown })
    if (rows.length > 1) return fail({ code: 'api_key.ambiguous', key: shown })
    const revoked = await revokeApiKeyRow(trx, rows[0]!.id, now)
    if (!revoked) return fail({ code: 'api_key.already_revoked', key: view(rows[0]!) })
    await auditKey(trx, now, { accountId: revoked.account_id, operator: input.operator, action: 'api_key.revoke', label: revoked.label, keyId: revoked.id, prefix: revoked.prefix })
    return ok({ apiKey: view(revoked) })
  })
}

/** Who a request's key says it is: the key, its account and label. */
export interface ApiPrincipal {
  apiKeyId: string
  accountId: string
  label: string
}

/**
 * The key a request presents, if it is one of ours and not revoked. Anything else (malformed,
 * unknown, revoked) is null: the caller answers 401 without saying which. Records the use.
 */
export async function authenticateApiKey(deps: Deps, presented: string): Promise<ApiPrincipal | null> {
  if (!KEY_SHAPE.test(presented)) return null
  const row = await findApiKeyByHash(deps.db, hashApiKey(presented))
  if (!row || row.revoked_at) return null
  await touchApiKey(deps.db, row.id, deps.clock.now(), TOUCH_EVERY_MS)
  return { apiKeyId: row.id, accountId: row.account_id, label: row.label }
}
