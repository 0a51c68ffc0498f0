import type { Deps } from '../deps.ts'
import { adminUserAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { resolveGroups } from '../invitations/invitation-steps.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'
import { countActiveAdmins, loadUserView, setUserGroups, touchUser, userGroupNames } from './user-repository.ts'

export interface EditUserGroups {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button, a form); `email` is then ignored. */
  targetUserId?: string | null
  groups: string[]
}

/**
 * Replace a user's groups (docs/lifecycle.md "edit"): any status but Removed, at least one group,
 * and the account never loses its last administrator this way either.
 */
export function editUserGroups(deps: Deps, cmd: EditUserGroups): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  // Admin counts change here: serialise with removals and other edits on the account row.
  const input = { ...cmd, action: 'user.edit_groups', targetEmail: cmd.email, successCode: 'user.groups_updated', lock: 'account_then_user' } as const
  return adminUserAction(deps, input, async ({ trx, admin, now, detail }, user) => {
    const email = user.email
    if (user.status === 'removed') return fail({ code: 'user.removed', email })
    const groups = await resolveGroups(trx, admin.accountId, cmd.groups)
    if (!groups.ok) return groups
    if (user.status === 'active' && !groups.value.some((g) => g.is_admin)) {
      const admins = await countActiveAdmins(trx, admin.accountId, user.id)
      if (admins === 0) return fail({ code: 'user.last_admin', email })
    }
    const previousGroups = await userGroupNames(trx, user.id)
    await setUserGroups(trx, user.id, groups.value.map((g) => g.id))
    await touchUser(trx, user.id, now)
    detail.groups = groups.value.map((g) => g.name)
    const newGroups = groups.value.map((g) => g.name).sort()
    // Saving the same groups again changes nothing a product must hear about.
    if (newGroups.join('\n') !== [...previousGroups].sort().join('\n')) {
      await emitWebhookEvent(trx, {
        type: 'user.groups_changed',
        accountId: admin.accountId,
        at: now,
        data: { ...personOf(user), accountId: admin.accountId, groups: newGroups, previousGroups: [...previousGroups].sort(), changedBy: admin.email },
      })
    }
    return ok({ user: await loadUserView(trx, admin.accountId, user.id, now) })
  })
}
