import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import type { Actor } from '../invitations/model.ts'
import { isTimeZone } from '../shared/dates.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { lockAccountTimeZone, updateAccountTimeZone } from './account-repository.ts'
import type { TimeZoneInvalid } from './create-account.ts'

export interface SetAccountTimeZone {
  accountId: string
  /** Who asks: the operator at the CLI. */
  actor: Actor
  /** An IANA name (`Europe/Berlin`), checked against the runtime's tz database. */
  timeZone: string
}

export type SetAccountTimeZoneFailure = TimeZoneInvalid | { code: 'account.not_found' }

/**
 * Change the account's time zone (an operator's action, like creating the account): emails queued
 * from now on and the invitee's page show dates in it, and the daily digest follows it
 * (docs/notices.md). Audited with the previous zone, refused or not, in the same transaction.
 */
export async function setAccountTimeZone(deps: Deps, cmd: SetAccountTimeZone): Promise<Result<{ timeZone: string; previous: string }, SetAccountTimeZoneFailure>> {
  const now = deps.clock.now()
  const valid = isTimeZone(cmd.timeZone)
  if (!isUuid(cmd.accountId)) return fail({ code: 'account.not_found' })
  return deps.db.transaction(async (trx) => {
    const previous = await lockAccountTimeZone(trx, cmd.accountId)
    if (previous === null) return fail({ code: 'account.not_found' as const })
    const result: Result<{ timeZone: string; previous: string }, SetAccountTimeZoneFailure> = valid
      ? ok({ timeZone: cmd.timeZone, previous })
      : fail({ code: 'account.time_zone_invalid', input: cmd.timeZone.slice(0, 100) })
    if (result.ok) await updateAccountTimeZone(trx, cmd.accountId, cmd.timeZone)
    await recordAudit(trx, {
      accountId: cmd.accountId,
      at: now,
      actor: cmd.actor,
      action: 'account.set_time_zone',
      targetEmail: null,
      resultCode: result.ok ? 'account.time_zone_set' : result.code,
      ok: result.ok,
      detail: { previous, requested: cmd.timeZone.slice(0, 100) },
    })
    return result
  })
}
