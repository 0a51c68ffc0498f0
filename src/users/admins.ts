import type { Knex } from 'knex'

/** Lock the account row: changes to who administers an account are serialised on it. */
export async function lockAccount(trx: Knex.Transaction, accountId: string): Promise<void> {
  await trx('accounts').where({ id: accountId }).forUpdate().first('id')
}

/** Active administrators of the account, not counting `exceptUserId`. */
export async function countActiveAdmins(db: Knex | Knex.Transaction, accountId: string, exceptUserId: string | null): Promise<number> {
  const q = db('users as u')
    .join('user_groups as ug', 'ug.user_id', 'u.id')
    .join('groups as g', 'g.id', 'ug.group_id')
    .where({ 'u.account_id': accountId, 'u.status': 'active', 'g.is_admin': true })
    .countDistinct<{ n: number }[]>({ n: 'u.id' })
  if (exceptUserId) q.whereNot('u.id', exceptUserId)
  const [row] = await q
  return Number(row?.n ?? 0)
}
