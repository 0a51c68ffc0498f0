import type { Deps } from '../deps.ts'
import { ok, type Result } from '../shared/result.ts'
import { userGroupNames } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { resolveLink } from './invitee-link.ts'

/** What the invitee's welcome screen shows: only their own invitation. */
export interface InviteeView {
  invitationId: string
  accountName: string
  email: string
  firstName: string
  lastName: string
  /** The inviting administrator's name (their email when they have none). */
  invitedBy: string | null
  groups: string[]
  expiresAt: Date
}

/**
 * Read a link for the invitee's page. Read-only: mail scanners and link previews open links,
 * so a GET must never change anything (docs/operations.md).
 */
export async function openInvitationLink(deps: Deps, cmd: { token: string }): Promise<Result<InviteeView, { code: LinkCode }>> {
  const link = await resolveLink(deps.db, deps.config.inviteSecret, cmd.token, deps.clock.now())
  if (!link.ok) return link
  const { invitation, user, accountName } = link.value
  const inviter = invitation.invited_by_user_id
    ? await deps.db('users').where({ id: invitation.invited_by_user_id }).first<{ first_name: string; last_name: string } | undefined>('first_name', 'last_name')
    : undefined
  const inviterName = inviter ? `${inviter.first_name} ${inviter.last_name}`.trim() : ''
  return ok({
    invitationId: invitation.id,
    accountName,
    email: user.email,
    firstName: user.first_name,
    lastName: user.last_name,
    invitedBy: inviterName || invitation.invited_by_email,
    groups: await userGroupNames(deps.db, user.id),
    expiresAt: invitation.expires_at,
  })
}
