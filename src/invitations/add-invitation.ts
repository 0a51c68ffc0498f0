import type { Deps } from '../deps.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { deleteUser, findUserByEmail, insertUser, reinviteUser, setUserGroups, toUserView, userGroupNames, type UserRow } from '../users/user-repository.ts'
import { adminAction } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { findPendingInvitation, insertInvitation } from './invitation-repository.ts'
import { refusalFor, resolveGroups, sendInvitationEmail, sendLimitFailure } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'

export interface AddInvitation {
  accountId: string
  actor: Actor
  email: string
  firstName: string | null
  lastName: string | null
  /** Group names; empty means the configured default group. */
  groups: string[]
}

const NAME_MAX = 100

/**
 * Invite someone (docs/lifecycle.md "add"): allowed when the email is not already Invited or Active in
 * the account. A person who declined or was removed gets their membership back as Invited.
 * Concurrent adds of one email give one user: the insert meets the unique (account, email) index
 * and waits for the first transaction, then sees the row as Invited.
 */
export function addInvitation(deps: Deps, cmd: AddInvitation): Promise<Result<{ user: UserView }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'invitation.add', targetEmail: cmd.email, successCode: 'invitation.added' }, async ({ trx, admin, now, detail }, email) => {
    const firstName = (cmd.firstName ?? '').trim().slice(0, NAME_MAX)
    const lastName = (cmd.lastName ?? '').trim().slice(0, NAME_MAX)
    const groups = await resolveGroups(trx, admin.accountId, cmd.groups.length > 0 ? cmd.groups : [deps.config.defaultGroup])
    if (!groups.ok) return groups
    detail.groups = groups.value.map((g) => g.name)

    let user: UserRow | null = await insertUser(trx, { accountId: admin.accountId, email, firstName, lastName, status: 'invited', now })
    if (!user) {
      const existing = await findUserByEmail(trx, admin.accountId, email, { forUpdate: true })
      if (!existing) throw new Error('user row disappeared between insert and select')
      if (existing.status === 'invited' || existing.status === 'active') {
        const pending = await findPendingInvitation(trx, existing.id)
        const status = displayStatus(existing.status, pending?.expires_at ?? null, now)
        return fail(status === 'invited' ? { code: 'user.already_invited', email, expiresAt: pending!.expires_at } : refusalFor(status, existing, pending))
      }
      const first = firstName || existing.first_name
      const last = lastName || existing.last_name
      if (!first || !last) return fail({ code: 'user.name_required', email })
      const limited = await sendLimitFailure(deps, trx, admin, email, now)
      if (limited) return fail(limited)
      user = await reinviteUser(trx, existing.id, { firstName: first, lastName: last, now })
      detail.reinvited = existing.status
    } else {
      if (!firstName || !lastName) {
        // Nothing may change on a refusal: undo the insert (the unique index held it for us).
        await deleteUser(trx, user.id)
        return fail({ code: 'user.name_required', email })
      }
      const limited = await sendLimitFailure(deps, trx, admin, email, now)
      if (limited) {
        await deleteUser(trx, user.id)
        return fail(limited)
      }
    }
    await setUserGroups(trx, user.id, groups.value.map((g) => g.id))
    const invitation = await insertInvitation(deps, trx, user, admin, now)
    const groupNames = await userGroupNames(trx, user.id)
    await sendInvitationEmail(trx, { kind: 'invitation', user, invitation, admin, now, groups: groupNames, invitationMarkedQueued: true })
    await emitWebhookEvent(trx, {
      type: 'invitation.sent',
      accountId: admin.accountId,
      at: now,
      data: { ...personOf(user), accountId: admin.accountId, invitationId: invitation.id, groups: groupNames, invitedBy: admin.email, expiresAt: invitation.expires_at.toISOString() },
    })
    detail.invitationId = invitation.id
    return ok({ user: toUserView(user, { pendingExpiresAt: invitation.expires_at, groups: groupNames, latest: invitation, now }) })
  })
}
