import { readAudit } from '../audit/audit-log.ts'
import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, AuditEntry, UserView } from '../invitations/model.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { queryUserViews } from './user-repository.ts'

export interface ShowUser {
  accountId: string
  actor: Actor
  email: string
}

/** One user: details, delivery status, history, and the actions that apply now. */
export function showUser(deps: Deps, cmd: ShowUser): Promise<Result<{ user: UserView; history: AuditEntry[] }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'user.show', targetEmail: cmd.email, successCode: 'user.shown' }, async ({ trx, admin, now }, email) => {
    const { users } = await queryUserViews(trx, admin.accountId, { now, emails: [email], count: false })
    const user = users[0]
    if (!user) return fail({ code: 'user.not_found', email })
    return ok({ user, history: await readAudit(trx, admin.accountId, { email, limit: 20 }) })
  })
}
