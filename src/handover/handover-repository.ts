import type { Knex } from 'knex'

/**
 * The hand-over repository: the queries on `handover_codes` (docs/architecture.md "Persistence").
 * Functions take the caller's connection or transaction; none opens a transaction of its own.
 * Callers lock the invitation before its codes (issue and redeem alike), so the two never wait
 * on each other in opposite orders.
 */

type Db = Knex | Knex.Transaction

export interface HandOverCodeRow {
  code_hash: string
  invitation_id: string
  account_id: string
  created_at: Date
  expires_at: Date
  used_at: Date | null
}

/** The code stored under `codeHash`, if any; `forUpdate` locks it. */
export async function findHandOverCode(db: Db, codeHash: string, opts: { forUpdate?: boolean } = {}): Promise<HandOverCodeRow | null> {
  const q = db<HandOverCodeRow>('handover_codes').where({ code_hash: codeHash }).first()
  if (opts.forUpdate) q.forUpdate()
  return (await q) ?? null
}

/** Store a new code for an invitation. The primary key on `code_hash` refuses a repeat. */
export async function insertHandOverCode(trx: Knex.Transaction, row: Omit<HandOverCodeRow, 'used_at'>): Promise<void> {
  await trx('handover_codes').insert({ ...row, used_at: null })
}

/** Drop every code of an invitation (a new Accept click supersedes the earlier codes). */
export async function deleteHandOverCodes(trx: Knex.Transaction, invitationId: string): Promise<void> {
  await trx('handover_codes').where({ invitation_id: invitationId }).delete()
}

/** Mark a code used, once: true when this call did it. */
export async function markHandOverCodeUsed(trx: Knex.Transaction, codeHash: string, now: Date): Promise<boolean> {
  const n = await trx('handover_codes').where({ code_hash: codeHash }).whereNull('used_at').update({ used_at: now })
  return n === 1
}

/**
 * Delete at most `limit` codes that expired before `before` (used or not: a used code is kept
 * only to tell a replay "used"), skipping rows another transaction holds so that two purges never
 * wait on each other. Returns how many went.
 */
export async function deleteSpentHandOverCodes(db: Db, before: Date, limit: number): Promise<number> {
  const spent = db('handover_codes').select('code_hash').where('expires_at', '<', before).limit(limit).forUpdate().skipLocked()
  return db('handover_codes').whereIn('code_hash', spent).delete()
}
