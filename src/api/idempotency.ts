import { createHash } from 'node:crypto'
import type { Deps } from '../deps.ts'
import { claimIdempotencyKey, deleteExpiredIdempotencyKeys, readIdempotencyKey, releaseIdempotencyKey, retakeIdempotencyKey, storeIdempotentAnswer } from './idempotency-repository.ts'

/**
 * Idempotency keys of the API (docs/api.md "Idempotency"), as Stripe and the IETF draft
 * "The Idempotency-Key HTTP Header Field" describe them: the first answer to a key is kept for
 * 24 hours, per account; the same request again gets that answer; another request under the same
 * key is refused. Kept in Postgres so every replica sees the same keys.
 */

/** How long a first answer is kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000

/**
 * A first request still "in progress" after this long died with its process (a request has far
 * shorter deadlines than this): the key may be used again.
 */
const STALE_IN_PROGRESS_MS = 5 * 60_000

/** What to do with a request that carries an Idempotency-Key. */
export type IdempotencyDecision =
  /** The first request with this key: run it, then `finish` (or `release` on an outage). */
  | { kind: 'run' }
  /** The same request answered before: send this answer again. */
  | { kind: 'replay'; status: number; body: unknown; headers: Record<string, string> }
  /** The key was used for a different request. */
  | { kind: 'mismatch' }
  /** The first request with this key is still running. */
  | { kind: 'in_progress' }

/**
 * The fingerprint of a request: method, path and body, with the body's keys sorted so that JSON
 * that means the same thing hashes the same.
 */
export function requestFingerprint(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256').update(`${method.toUpperCase()}\n${path}\n${canonicalJson(body)}`, 'utf8').digest()
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** Decide what a request with `key` gets (see `IdempotencyDecision`). */
export async function beginIdempotent(deps: Deps, r: { accountId: string; key: string; fingerprint: Buffer }): Promise<IdempotencyDecision> {
  const now = deps.clock.now()
  const expiresAt = new Date(now.getTime() + IDEMPOTENCY_TTL_MS)
  const claim = { accountId: r.accountId, key: r.key, requestHash: r.fingerprint, now, expiresAt }
  if (await claimIdempotencyKey(deps.db, claim)) return { kind: 'run' }
  const row = await readIdempotencyKey(deps.db, r.accountId, r.key)
  // Gone between the two statements (released after an outage, or purged): try the claim again.
  if (!row) return (await claimIdempotencyKey(deps.db, claim)) ? { kind: 'run' } : { kind: 'in_progress' }
  const expired = row.expires_at.getTime() <= now.getTime()
  const stale = row.response_status === null && row.created_at.getTime() < now.getTime() - STALE_IN_PROGRESS_MS
  if (expired || stale) {
    return (await retakeIdempotencyKey(deps.db, { ...claim, staleBefore: new Date(now.getTime() - STALE_IN_PROGRESS_MS) })) ? { kind: 'run' } : { kind: 'in_progress' }
  }
  if (!Buffer.from(row.request_hash).equals(r.fingerprint)) return { kind: 'mismatch' }
  if (row.response_status === null) return { kind: 'in_progress' }
  const answer = storedAnswer(row.response_body)
  return { kind: 'replay', status: row.response_status, body: answer.body, headers: answer.headers }
}

/**
 * The kept answer: `response_body` holds `{ body, headers }`, so that a replay carries the
 * headers the first answer had (`Location`, `Retry-After`…), not only its status and body.
 */
function storedAnswer(stored: unknown): { body: unknown; headers: Record<string, string> } {
  const value = (typeof stored === 'string' ? JSON.parse(stored) : stored) as { body?: unknown; headers?: unknown } | null
  const headers: Record<string, string> = {}
  if (value && typeof value.headers === 'object' && value.headers !== null) {
    for (const [k, v] of Object.entries(value.headers)) if (typeof v === 'string') headers[k] = v
  }
  return { body: value?.body ?? null, headers }
}

/** Keep the first answer (its status, body and the headers a replay must carry) for replays. */
export function finishIdempotent(deps: Deps, r: { accountId: string; key: string; status: number; body: unknown; headers?: Record<string, string> }): Promise<void> {
  return storeIdempotentAnswer(deps.db, { accountId: r.accountId, key: r.key, status: r.status, answer: { body: r.body, headers: r.headers ?? {} } })
}

/** The request failed on our side (an outage): forget the key so that a retry runs. */
export function releaseIdempotent(deps: Deps, r: { accountId: string; key: string }): Promise<void> {
  return releaseIdempotencyKey(deps.db, r.accountId, r.key)
}

/** Delete expired keys (a batch at a time; the API calls it now and then). */
export function purgeExpiredIdempotencyKeys(deps: Deps, limit = 1_000): Promise<number> {
  return deleteExpiredIdempotencyKeys(deps.db, deps.clock.now(), limit)
}
