import type { Knex } from 'knex'
import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, GroupView } from '../invitations/model.ts'
import { ok, type Result } from '../shared/result.ts'

/** Groups with the number of members who are not removed. */
export async function queryGroups(db: Knex | Knex.Transaction, accountId: string): Promise<GroupView[]> {
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

/** `/invite groups`. */
export function listGroups(deps: Deps, cmd: { accountId: string; actor: Actor }): Promise<Result<{ groups: GroupView[] }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'groups.list', successCode: 'groups.listed' }, async ({ trx, admin }) => ok({ groups: await queryGroups(trx, admin.accountId) }))
}
