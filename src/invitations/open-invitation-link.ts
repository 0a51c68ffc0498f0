import type { Deps } from '../deps.ts'
import { zoneOrUtc } from '../shared/dates.ts'
import { ok, type Result } from '../shared/result.ts'
import { userFullName, userGroupNames } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { openLink } from './invitation-repository.ts'

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
  /** The account's time zone (IANA name): the page shows the expiry in it. */
  timeZone: string
}

/**
 * Read a link for the invitee's page. Read-only: mail scanners and link previews open links,
 * so a GET must never change anything (docs/operations.md).
 */
export async function openInvitationLink(deps: Deps, cmd: { token: string }): Promise<Result<InviteeView, { code: LinkCode }>> {
  const link = await openLink(deps.db, deps.config.inviteSecret, cmd.token, deps.clock.now())
  if (!link.ok) return link
  const { invitation, user, accountName, accountTimeZone } = link.value
  const inviterName = invitation.invited_by_user_id ? await userFullName(deps.db, invitation.invited_by_user_id) : null
  return ok({
    invitationId: invitation.id,
    accountName,
    email: user.email,
    firstName: user.first_name,
    lastName: user.last_name,
    invitedBy: inviterName || invitation.invited_by_email,
    groups: await userGroupNames(deps.db, user.id),
    expiresAt: invitation.expires_at,
    timeZone: zoneOrUtc(accountTimeZone),
  })
}
