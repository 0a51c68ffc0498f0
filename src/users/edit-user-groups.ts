import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { resolveGroups } from '../invitations/invitation-store.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { countActiveAdmins, lockAccount } from './admins.ts'
import { findUserByEmail, loadUserView, setUserGroups } from './user-repository.ts'

export interface EditUserGroups {
  accountId: string
  actor: Actor
  email: string
  groups: string[]
}

/**
 * Replace a user's groups (docs/lifecycle.md "edit"): any status but Removed, at least one group,
 * and the account never loses its last administrator this way either.
 */
export function editUserGroups(deps: Deps, cmd: EditUserGroups): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'user.edit_groups', targetEmail: cmd.email, successCode: 'user.groups_updated' }, async ({ trx, admin, now, detail }, email) => {
    // Admin counts change here: serialise with removals and other edits on the account row.
    await lockAccount(trx, admin.accountId)
    const user = await findUserByEmail(trx, admin.accountId, email, { forUpdate: true })
    if (!user) return fail({ code: 'user.not_found', email })
    if (user.status === 'removed') return fail({ code: 'user.removed', email })
    const groups = await resolveGroups(trx, admin.accountId, cmd.groups)
    if (!groups.ok) return groups
    if (user.status === 'active' && !groups.value.some((g) => g.is_admin)) {
      const admins = await countActiveAdmins(trx, admin.accountId, user.id)
      if (admins === 0) return fail({ code: 'user.last_admin', email })
    }
    await setUserGroups(trx, user.id, groups.value.map((g) => g.id))
    await trx('users').where({ id: user.id }).update({ updated_at: now })
    detail.groups = groups.value.map((g) => g.name)
    return ok({ user: await loadUserView(trx, admin.accountId, user.id, now) })
  })
}
