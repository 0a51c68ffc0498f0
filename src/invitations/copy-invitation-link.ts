import type { Deps } from '../deps.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { loadUserView } from '../users/user-repository.ts'
import { adminUserAction } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import { findPendingInvitation } from './invitation-repository.ts'
import { refusalFor } from './invitation-steps.ts'
import { invitationUrl } from './links.ts'
import type { Actor, UserView } from './model.ts'
import { displayStatus } from './rules.ts'

export interface CopyInvitationLink {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
}

/**
 * "Copy link" (docs/lifecycle.md): the working link of an Invited user, for the asking administrator
 * only (the adapter must show it privately). No email is sent; the attempt is audited.
 */
export function copyInvitationLink(deps: Deps, cmd: CopyInvitationLink): Promise<Result<{ user: UserView; url: string; expiresAt: Date }, LifecycleFailure>> {
  return adminUserAction(deps, { ...cmd, action: 'invitation.copy_link', targetEmail: cmd.email, successCode: 'invitation.link_copied', lock: 'none' }, async ({ trx, admin, now, detail }, user) => {
    const pending = await findPendingInvitation(trx, user.id)
    const status = displayStatus(user.status, pending?.expires_at ?? null, now)
    if (status !== 'invited' || !pending) {
      return fail(refusalFor(status, user, pending))
    }
    detail.invitationId = pending.id
    return ok({
      user: await loadUserView(trx, admin.accountId, user.id, now),
      url: invitationUrl(deps.config.publicBaseUrl, deps.config.inviteSecret, pending.link_id),
      expiresAt: pending.expires_at,
    })
  })
}
