import type { Deps } from '../deps.ts'
import { adminUserAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import { endInvitation, findPendingInvitation } from '../invitations/invitation-repository.ts'
import { sendInvitationEmail } from '../invitations/invitation-steps.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'
import { countActiveAdmins, loadUserView, setUserStatus } from './user-repository.ts'

export interface RemoveUser {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
}

/**
 * Remove a user from the account (docs/lifecycle.md): not yourself, not the last administrator.
 * A pending link dies (`revoked`), a removal email is queued (not counted against send limits: it
 * cannot be repeated for one person), and the person can be invited again.
 */
export function removeUser(deps: Deps, cmd: RemoveUser): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  // The account row first: the last-administrator check below must not race another removal.
  const input = { ...cmd, action: 'user.remove', targetEmail: cmd.email, successCode: 'user.removed', lock: 'account_then_user' } as const
  return adminUserAction(deps, input, async ({ trx, admin, now, detail }, user) => {
    const email = user.email
    if (user.status === 'removed') return fail({ code: 'user.removed', email })
    if (user.id === admin.userId) return fail({ code: 'user.cannot_remove_self', email })
    if (user.status === 'active' && (await countActiveAdmins(trx, admin.accountId, user.id)) === 0) {
      return fail({ code: 'user.last_admin', email })
    }
    const pending = await findPendingInvitation(trx, user.id)
    if (pending) {
      await endInvitation(trx, pending.id, { state: 'revoked', now, byEmail: admin.email })
      detail.revoked = pending.id
    }
    detail.previousStatus = user.status
    await setUserStatus(trx, user.id, 'removed', now)
    await sendInvitationEmail(trx, { kind: 'removal', user, invitation: null, admin, now })
    await emitWebhookEvent(trx, {
      type: 'user.removed',
      accountId: admin.accountId,
      at: now,
      data: { ...personOf(user), accountId: admin.accountId, previousStatus: user.status, removedBy: admin.email, revokedInvitationId: pending?.id ?? null },
    })
    return ok({ user: await loadUserView(trx, admin.accountId, user.id, now) })
  })
}
