import type { Knex } from 'knex'
import { isUuid } from '../shared/ids.ts'

/** An account by id or by name (case-insensitive), as operators type it in the CLI. */
export async function resolveAccount(db: Knex | Knex.Transaction, idOrName: string): Promise<{ id: string; name: string } | null> {
  // `isUuid` narrows what it tests; the name is read from its own binding.
  const name: string = idOrName
  const q = db('accounts').select<{ id: string; name: string }[]>('id', 'name')
  if (isUuid(idOrName)) q.where({ id: idOrName.toLowerCase() })
  else q.whereRaw('lower(name) = lower(?)', [name.trim()])
  const [row] = await q
  return row ?? null
}
