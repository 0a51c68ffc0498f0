import { readAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { adminUserAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, AuditEntry, UserView } from '../invitations/model.ts'
import { ok, type Result } from '../shared/result.ts'
import { loadUserView } from './user-repository.ts'

export interface ShowUser {
  accountId: string
  actor: Actor
  email: string
  /** The user by id (a button); `email` is then ignored. */
  targetUserId?: string | null
  /** A re-render after a click (audited already): no audit entry of its own. */
  quiet?: boolean
}

/** One user: details, delivery status, history, and the actions that apply now. */
export function showUser(deps: Deps, cmd: ShowUser): Promise<Result<{ user: UserView; history: AuditEntry[] }, LifecycleFailure>> {
  return adminUserAction(deps, { ...cmd, action: 'user.show', targetEmail: cmd.email, successCode: 'user.shown', lock: 'none' }, async ({ trx, admin, now }, row) => {
    const user = await loadUserView(trx, admin.accountId, row.id, now)
    return ok({ user, history: await readAudit(trx, admin.accountId, { email: row.email, limit: 20 }) })
  })
}
