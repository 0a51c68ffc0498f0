import type { Knex } from 'knex'
import type { Clock } from '../ports/clock.ts'
import { isTimeZone, UTC } from '../shared/dates.ts'
import { normaliseEmail, type EmailProblem } from '../shared/email-address.ts'
import { checkName, type NameProblem } from '../shared/names.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { insertUser, setUserGroups } from '../users/user-repository.ts'
import { insertAccount } from './account-repository.ts'
import { insertGroups } from './group-repository.ts'

export const ADMIN_GROUP = 'Administrators'

/** A time zone name this runtime does not know (an offset, an abbreviation, a typo). */
export interface TimeZoneInvalid {
  code: 'account.time_zone_invalid'
  input: string
}

export interface CreateAccount {
  name: string
  adminEmail: string
  adminFirstName: string
  adminLastName: string
  /** The group new users get by default (DEFAULT_GROUP), created beside Administrators. */
  defaultGroup: string
  /** The account's time zone, an IANA name (`Europe/Berlin`); default UTC. */
  timeZone?: string
}

export type CreateAccountFailure =
  | { code: 'account.name_taken'; name: string }
  | { code: 'account.name_invalid'; problem: NameProblem; limit: number }
  | { code: 'account.admin_name_invalid'; part: 'first' | 'last'; problem: NameProblem; limit: number }
  | { code: 'group.name_invalid'; name: string; problem: NameProblem; limit: number }
  | { code: 'email.invalid'; input: string; reason: EmailProblem }
  | TimeZoneInvalid

/**
 * An operator creates an account with its first administrator (Active at once: they act from
 * chat, not through an emailed link) and the groups "Administrators" and the default group.
 * Names follow the one name rule (src/shared/names.ts); the administrator's name may be left empty
 * (chat then shows their address), and is checked part by part when given.
 */
export async function createAccount(
  db: Knex,
  clock: Clock,
  cmd: CreateAccount,
): Promise<Result<{ accountId: string; name: string; adminUserId: string; timeZone: string }, CreateAccountFailure>> {
  const checked = checkName('account', cmd.name)
  if (!checked.ok) return fail({ code: 'account.name_invalid', problem: checked.problem, limit: checked.limit })
  const name = checked.name
  const adminName = { first: '', last: '' }
  for (const part of ['first', 'last'] as const) {
    const input = part === 'first' ? cmd.adminFirstName : cmd.adminLastName
    if (input.trim() === '') continue
    const partName = checkName('personPart', input)
    if (!partName.ok) return fail({ code: 'account.admin_name_invalid', part, problem: partName.problem, limit: partName.limit })
    adminName[part] = partName.name
  }
  const defaultGroup = checkName('group', cmd.defaultGroup)
  if (!defaultGroup.ok) return fail({ code: 'group.name_invalid', name: cmd.defaultGroup, problem: defaultGroup.problem, limit: defaultGroup.limit })
  const timeZone = cmd.timeZone ?? UTC
  if (!isTimeZone(timeZone)) return fail({ code: 'account.time_zone_invalid', input: (cmd.timeZone ?? '').slice(0, 100) })
  const email = normaliseEmail(cmd.adminEmail)
  if (!email.ok) return fail({ code: 'email.invalid', input: cmd.adminEmail, reason: email.reason })
  const now = clock.now()
  return db.transaction(async (trx) => {
    const accountId = await insertAccount(trx, { name, timeZone, now })
    if (!accountId) return fail({ code: 'account.name_taken', name })
    const groups = [{ name: ADMIN_GROUP, isAdmin: true }]
    if (defaultGroup.name.toLowerCase() !== ADMIN_GROUP.toLowerCase()) groups.push({ name: defaultGroup.name, isAdmin: false })
    const inserted = await insertGroups(trx, accountId, groups, now)
    const adminGroup = inserted.find((g) => g.is_admin)
    // A new account has no groups and no users: neither insert can meet a conflict.
    const admin = await insertUser(trx, { accountId, email: email.email, firstName: adminName.first, lastName: adminName.last, status: 'active', now })
    if (!adminGroup || !admin) throw new Error('a new account already had its groups or its administrator')
    await setUserGroups(trx, admin.id, [adminGroup.id])
    return ok({ accountId, name, adminUserId: admin.id, timeZone })
  })
}
