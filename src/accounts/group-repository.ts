import type { Knex } from 'knex'
import type { GroupView } from '../invitations/model.ts'

/**
 * The group repository: the queries on `groups` (docs/architecture.md "Persistence"). Who is in
 * a group (`user_groups`) is the user repository's.
 */

type Db = Knex | Knex.Transaction

export interface GroupRow {
  id: string
  name: string
  is_admin: boolean
}

/** The account's groups, by name. */
export async function accountGroups(db: Db, accountId: string): Promise<GroupRow[]> {
  return db('groups').where({ account_id: accountId }).orderBy('name').select<GroupRow[]>('id', 'name', 'is_admin')
}

/** The account's groups with the number of members who are not removed, by name. One query. */
export async function groupsWithMemberCounts(db: Db, accountId: string): Promise<GroupView[]> {
  const rows = await db('groups as g')
    .leftJoin('user_groups as ug', 'ug.group_id', 'g.id')
    .leftJoin('users as u', function () {
      this.on('u.id', '=', 'ug.user_id').andOnVal('u.status', '<>', 'removed')
    })
    .where('g.account_id', accountId)
    .groupBy('g.id')
    .orderBy('g.name')
    .select<{ id: string; name: string; is_admin: boolean; members: number }[]>('g.id', 'g.name', 'g.is_admin', db.raw('count(u.id)::int as members'))
  return rows.map((r) => ({ id: r.id, name: r.name, isAdmin: r.is_admin, memberCount: r.members }))
}

/**
 * New groups in the account; a name the account already has (case-insensitively, a unique index)
 * is skipped, so fewer rows may come back than were asked for.
 */
export async function insertGroups(db: Db, accountId: string, groups: { name: string; isAdmin: boolean }[], now: Date): Promise<GroupRow[]> {
  return db('groups')
    .insert(groups.map((g) => ({ account_id: accountId, name: g.name, is_admin: g.isAdmin, created_at: now })))
    .onConflict(db.raw('(account_id, lower(name))'))
    .ignore()
    .returning<GroupRow[]>(['id', 'name', 'is_admin'])
}
