import type { Knex } from 'knex'
import { allAccounts, findAccount } from './account-repository.ts'

/** An account by id or by name (case-insensitive), as operators type it in the CLI. */
export function resolveAccount(db: Knex | Knex.Transaction, idOrName: string): Promise<{ id: string; name: string } | null> {
  return findAccount(db, idOrName)
}

/** Every account with its time zone, by name: the operator's `accounts list`. */
export function listAccounts(db: Knex | Knex.Transaction): Promise<{ id: string; name: string; timeZone: string; createdAt: Date }[]> {
  return allAccounts(db)
}
