import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, AuditEntry } from '../invitations/model.ts'
import { ok, type Result } from '../shared/result.ts'
import { readAudit } from './audit-repository.ts'

/** `/invite audit [<email>]`: the latest entries, newest first (`before`: the API's next page, after its last entry). */
export function listAudit(
  deps: Deps,
  cmd: { accountId: string; actor: Actor; email: string | null; limit?: number; before?: { at: Date; id: string } | null },
): Promise<Result<{ email: string | null; entries: AuditEntry[] }, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'audit.list', targetEmail: cmd.email, successCode: 'audit.listed' }, async ({ trx, admin }, email) =>
    ok({ email: email || null, entries: await readAudit(trx, admin.accountId, { email: email || null, limit: Math.min(cmd.limit ?? 20, 100), before: cmd.before ?? null }) }),
  )
}
