import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-repository.ts'
import { findUserById, userGroupNames, type UserRow } from '../users/user-repository.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { personOf } from '../webhooks/events.ts'
import { endInvitation, type LinkTarget } from './invitation-repository.ts'
import type { Actor } from './model.ts'

/**
 * The invitee's side of a link. The link is found by `resolveLinkToken` / `openLink`
 * (invitation-repository.ts); here is who the invitee is in the audit log, and what their answer
 * writes.
 */

/** The invitee, as the audit log names them: the link vouches for them. */
export function inviteeActor(user: UserRow, invitationId: string): Actor {
  return { platform: 'web', platformUserId: `invitation:${invitationId}`, email: user.email }
}

/**
 * End a link with the invitee's answer: the invitation's new state, an account event the channel
 * notices consume (administrators are told), the webhook event the product hears
 * (`invitation.accepted` with the names and groups as they are after the answer, never the password
 * or the link; `invitation.declined`), and the audit entry, in the caller's transaction.
 */
export async function recordInviteeAnswer(trx: Knex.Transaction, link: LinkTarget, answer: 'accepted' | 'declined', now: Date): Promise<void> {
  const { invitation, user } = link
  await endInvitation(trx, invitation.id, { state: answer, now })
  await trx('account_events').insert({
    account_id: invitation.account_id,
    type: `invitation.${answer}`,
    payload: JSON.stringify({ email: user.email, invitationId: invitation.id, invitedBy: invitation.invited_by_email }),
    created_at: now,
  })
  // Read again: accepting has just written the names the invitee registered with.
  const current = (await findUserById(trx, invitation.account_id, user.id)) ?? user
  const person = personOf(current)
  const accountId = invitation.account_id
  await emitWebhookEvent(
    trx,
    answer === 'accepted'
      ? { type: 'invitation.accepted', accountId, at: now, data: { ...person, accountId, invitationId: invitation.id, groups: await userGroupNames(trx, user.id), acceptedAt: now.toISOString() } }
      : { type: 'invitation.declined', accountId, at: now, data: { ...person, accountId, invitationId: invitation.id, declinedAt: now.toISOString() } },
  )
  await recordAudit(trx, {
    accountId: invitation.account_id,
    at: now,
    actor: inviteeActor(user, invitation.id),
    action: answer === 'accepted' ? 'invitation.accept' : 'invitation.decline',
    targetEmail: user.email,
    resultCode: `invitation.${answer}`,
    ok: true,
  })
}
