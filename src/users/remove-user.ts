import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { sendInvitationEmail } from '../invitations/invitation-store.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { countActiveAdmins, lockAccount } from './admins.ts'
import { endedExpiry, findPendingInvitation, findUserByEmail, loadUserView } from './user-repository.ts'

export interface RemoveUser {
  accountId: string
  actor: Actor
  email: string
}

/**
 * Remove a user from the account (docs/lifecycle.md): not yourself, not the last administrator.
 * A pending link dies (`revoked`), a removal email is queued (not counted against send limits: it
 * cannot be repeated for one person), and the person can be invited again.
 */
export function removeUser(deps: Deps, cmd: RemoveUser): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'user.remove', targetEmail: cmd.email, successCode: 'user.removed' }, async ({ trx, admin, now, detail }, email) => {
    await lockAccount(trx, admin.accountId)
    const user = await findUserByEmail(trx, admin.accountId, email, { forUpdate: true })
    if (!user) return fail({ code: 'user.not_found', email })
    if (user.status === 'removed') return fail({ code: 'user.removed', email })
    if (user.id === admin.userId) return fail({ code: 'user.cannot_remove_self', email })
    if (user.status === 'active' && (await countActiveAdmins(trx, admin.accountId, user.id)) === 0) {
      return fail({ code: 'user.last_admin', email })
    }
    const pending = await findPendingInvitation(trx, user.id)
    if (pending) {
      await trx('invitations').where({ id: pending.id }).update({ state: 'revoked', ended_at: now, ended_by_email: admin.email, expiry_noticed_at: endedExpiry(trx, now) })
      detail.revoked = pending.id
    }
    detail.previousStatus = user.status
    await trx('users').where({ id: user.id }).update({ status: 'removed', updated_at: now })
    await sendInvitationEmail(trx, { kind: 'removal', user, invitation: null, admin, now })
    return ok({ user: await loadUserView(trx, admin.accountId, user.id, now) })
  })
}
