import type { Knex } from 'knex'
import type { Deps } from '../deps.ts'
import { groupsWithMemberCounts } from './group-repository.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, GroupView } from '../invitations/model.ts'
import { ok, type Result } from '../shared/result.ts'

/**
 * Groups with the number of members who are not removed: the operator's `groups list` (the CLI is
 * the operator's: no administrator is checked, nothing is audited).
 */
export function queryGroups(db: Knex | Knex.Transaction, accountId: string): Promise<GroupView[]> {
  return groupsWithMemberCounts(db, accountId)
}

/** `/invite groups`. */
export function listGroups(deps: Deps, cmd: { accountId: string; actor: Actor }): Promise<Result<{ groups: GroupView[] }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'groups.list', successCode: 'groups.listed' }, async ({ trx, admin }) => ok({ groups: await groupsWithMemberCounts(trx, admin.accountId) }))
}
