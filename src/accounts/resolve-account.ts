import type { Knex } from 'knex'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** An account by id or by name (case-insensitive), as operators type it in the CLI. */
export async function resolveAccount(db: Knex | Knex.Transaction, idOrName: string): Promise<{ id: string; name: string } | null> {
  const q = db('accounts').select<{ id: string; name: string }[]>('id', 'name')
  if (UUID.test(idOrName)) q.where({ id: idOrName.toLowerCase() })
  else q.whereRaw('lower(name) = lower(?)', [idOrName.trim()])
  const [row] = await q
  return row ?? null
}
