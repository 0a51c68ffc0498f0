import type { Deps } from '../deps.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { SendLimitFacts } from '../email/outbox-repository.ts'
import { deleteUser, findUserByEmail, insertUserWithFacts, reinviteUser, setUserGroupsParts, toUserView, type UserRow } from '../users/user-repository.ts'
import { adminAction, auditPart } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { findPendingInvitation, insertInvitationWith } from './invitation-repository.ts'
import { invitationEmailSql, refusalFor, resolveGroups, sendLimitFactsQuery, sendLimitFailure, sendLimitRefusal } from './invitation-steps.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'
import { webhookEventInsertSql } from '../webhooks/emit.ts'
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
  return adminAction(deps, { ...cmd, action: 'invitation.add', targetEmail: cmd.email, successCode: 'invitation.added' }, async (scope, email) => {
    const { trx, admin, now, detail } = scope
    const firstName = (cmd.firstName ?? '').trim().slice(0, NAME_MAX)
    const lastName = (cmd.lastName ?? '').trim().slice(0, NAME_MAX)
    const groups = await resolveGroups(trx, admin.accountId, cmd.groups.length > 0 ? cmd.groups : [deps.config.defaultGroup])
    if (!groups.ok) return groups
    detail.groups = groups.value.map((g) => g.name)
    const groupIds = groups.value.map((g) => g.id)

    // One round trip: the insert, the sorted names of the groups the user is given (what the
    // email and the event list) and the send limits (for a new user; see below for a known one).
    const inserted = await insertUserWithFacts<SendLimitFacts>(trx, { accountId: admin.accountId, email, firstName, lastName, status: 'invited', now }, groupIds, sendLimitFactsQuery(deps, admin, email, now))
    const groupNames = inserted.groupNames
    let user: UserRow | null = inserted.user
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
      // Read again now that the user's row is locked, as before any send to them.
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
      const limited = sendLimitRefusal(deps, admin, email, inserted.facts)
      if (limited) {
        await deleteUser(trx, user.id)
        return fail(limited)
      }
    }
    const invited = user
    // One statement: the user's groups, the new link, its email, the webhook messages, the audit entry.
    const invitation = await insertInvitationWith(deps, trx, {
      user: invited,
      invitedBy: admin,
      now,
      before: setUserGroupsParts(invited.id, groupIds),
      also: (next) => {
        detail.invitationId = next.id
        return [
          { name: 'queued', ...invitationEmailSql({ kind: 'invitation', user: invited, invitation: { id: next.id, expires_at: next.expiresAt }, admin, now, groups: groupNames }) },
          {
            name: 'announced',
            ...webhookEventInsertSql({
              type: 'invitation.sent',
              accountId: admin.accountId,
              at: now,
              data: { ...personOf(invited), accountId: admin.accountId, invitationId: next.id, groups: groupNames, invitedBy: admin.email, expiresAt: next.expiresAt.toISOString() },
            }),
          },
          ...auditPart(scope.successAuditSql()),
        ]
      },
    })
    return ok({ user: toUserView(invited, { pendingExpiresAt: invitation.expires_at, groups: groupNames, latest: invitation, now }) })
  })
}
