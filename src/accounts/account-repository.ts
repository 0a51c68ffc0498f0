import type { Knex } from 'knex'
import { isUuid } from '../shared/ids.ts'

/**
 * The account repository: the queries on `accounts` that use cases make (docs/architecture.md
 * "Persistence"). Functions take the caller's connection or transaction.
 */

type Db = Knex | Knex.Transaction

/** Lock the account row: changes to who administers an account are serialised on it. */
export async function lockAccount(trx: Knex.Transaction, accountId: string): Promise<void> {
  await trx('accounts').where({ id: accountId }).forUpdate().first('id')
}

/** Whether the account exists (`accountId` must be a uuid). */
export async function accountExists(db: Db, accountId: string): Promise<boolean> {
  return (await db('accounts').where({ id: accountId }).first('id')) !== undefined
}

/** A new account; null when the name is taken (case-insensitively, a unique index). */
export async function insertAccount(trx: Knex.Transaction, account: { name: string; timeZone: string; now: Date }): Promise<string | null> {
  const [row] = await trx('accounts')
    .insert({ name: account.name, time_zone: account.timeZone, created_at: account.now })
    .onConflict(trx.raw('(lower(name))'))
    .ignore()
    .returning<{ id: string }[]>('id')
  return row?.id ?? null
}

/** An account by id or by name (case-insensitive, trimmed). */
export async function findAccount(db: Db, idOrName: string): Promise<{ id: string; name: string } | null> {
  // `isUuid` narrows what it tests; the name is read from its own binding.
  const name: string = idOrName
  const q = db('accounts').select<{ id: string; name: string }[]>('id', 'name')
  if (isUuid(idOrName)) q.where({ id: idOrName.toLowerCase() })
  else q.whereRaw('lower(name) = lower(?)', [name.trim()])
  const [row] = await q
  return row ?? null
}

/** Every account, by name. */
export async function allAccounts(db: Db): Promise<{ id: string; name: string; timeZone: string; createdAt: Date }[]> {
  const rows = await db('accounts').orderBy('name').select<{ id: string; name: string; time_zone: string; created_at: Date }[]>('id', 'name', 'time_zone', 'created_at')
  return rows.map((r) => ({ id: r.id, name: r.name, timeZone: r.time_zone, createdAt: r.created_at }))
}

/** The account's time zone, its row locked until the transaction ends; null when there is no such account. */
export async function lockAccountTimeZone(trx: Knex.Transaction, accountId: string): Promise<string | null> {
  const row = await trx('accounts').where({ id: accountId }).forUpdate().first<{ time_zone: string } | undefined>('time_zone')
  return row?.time_zone ?? null
}

export async function updateAccountTimeZone(trx: Knex.Transaction, accountId: string, timeZone: string): Promise<void> {
  await trx('accounts').where({ id: accountId }).update({ time_zone: timeZone })
}
