import type { Deps } from '../deps.ts'
import { groupsWithMemberCounts, insertGroups } from '../accounts/group-repository.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, GroupView } from '../invitations/model.ts'
import { checkName, type NameProblem } from '../shared/names.ts'
import { fail, ok, type Result } from '../shared/result.ts'

/** Why a group was not created. */
export type AddGroupFailure = { code: 'group.name_taken'; name: string } | { code: 'group.name_invalid'; name: string; problem: NameProblem; limit: number }

/**
 * A new group in the account, by an administrator (the API's `POST /groups`): checked, audited,
 * in one transaction. Never an administrators' group: who administers an account is the
 * operator's choice (`inviteops groups create --admin`), not something a key can widen.
 */
export function addGroup(deps: Deps, cmd: { accountId: string; actor: Actor; name: string }): Promise<Result<{ group: GroupView }, LifecycleFailure | AddGroupFailure>> {
  return adminAction<{ group: GroupView }, AddGroupFailure>(deps, { ...cmd, action: 'group.create', successCode: 'group.created' }, async ({ trx, admin, now, detail }) => {
    const checked = checkName('group', cmd.name)
    detail.name = cmd.name.slice(0, 200)
    if (!checked.ok) return fail({ code: 'group.name_invalid', name: cmd.name.slice(0, 200), problem: checked.problem, limit: checked.limit })
    const [row] = await insertGroups(trx, admin.accountId, [{ name: checked.name, isAdmin: false }], now)
    if (!row) return fail({ code: 'group.name_taken', name: checked.name })
    const group = (await groupsWithMemberCounts(trx, admin.accountId)).find((g) => g.id === row.id)
    if (!group) throw new Error(`group ${row.id} vanished inside its own transaction`)
    return ok({ group })
  })
}
