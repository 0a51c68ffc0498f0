import { createAccount, type CreateAccountFailure } from '../../../src/accounts/create-account.ts'
import { listAccounts } from '../../../src/accounts/resolve-account.ts'
import { setAccountTimeZone } from '../../../src/accounts/set-account-time-zone.ts'
import { suggestZone } from '../../../src/shared/dates.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { accountOrFail, operator, withDatabase, type CliContext } from '../database.ts'
import { nameProblemText } from '../render.ts'

/** `inviteops accounts …` (docs/operations.md). */

export function createAccountCommand(cli: CliContext, args: { name: string; admin: string; adminFirst: string; adminLast: string; timeZone: string | undefined; json: boolean }): Promise<number> {
  const { io } = cli
  const { name, admin, timeZone } = args
  return withDatabase(cli, async (deps) => {
    const r = await createAccount(deps.db, deps.clock, { name, adminEmail: admin, adminFirstName: args.adminFirst, adminLastName: args.adminLast, defaultGroup: deps.config.defaultGroup, timeZone })
    if (!r.ok) {
      io.err(accountFailureText(r, admin))
      return 1
    }
    if (args.json) io.out(JSON.stringify(r.value))
    else io.out(`Created account "${r.value.name}" (${r.value.accountId}, time zone ${r.value.timeZone}) with administrator ${admin.toLowerCase()} and groups Administrators, ${deps.config.defaultGroup}.\nNext: link a Slack workspace with: inviteops slack connect --team <T…> --account "${r.value.name}"\nor try it here:   inviteops run --account "${r.value.name}" --as ${admin.toLowerCase()} -- help`)
    return 0
  })
}

export function listAccountsCommand(cli: CliContext, args: { json: boolean }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const rows = await listAccounts(deps.db)
    if (args.json) io.out(JSON.stringify(rows))
    else io.out(rows.length === 0 ? 'No accounts yet. Create one with: inviteops accounts create --name <name> --admin <email>' : rows.map((r) => `${r.id}  ${oneLine(r.name)}  (${r.timeZone})`).join('\n'))
    return 0
  })
}

export function setTimeZoneCommand(cli: CliContext, args: { accountArg: string; zoneArg: string }): Promise<number> {
  const { io } = cli
  const { accountArg, zoneArg } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, accountArg)
    const r = await setAccountTimeZone(deps, { accountId: account.id, actor: operator(), timeZone: zoneArg.trim() })
    if (!r.ok) {
      io.err(r.code === 'account.time_zone_invalid' ? `${timeZoneProblem(r.input)} Nothing was changed.` : `No account "${accountArg}".`)
      return 1
    }
    io.out(r.value.previous === r.value.timeZone ? `${account.name} already uses ${r.value.timeZone}.` : `${account.name} now shows dates in ${r.value.timeZone} (was ${r.value.previous}): emails queued from now on, the invitee's page and the daily digest.`)
    return 0
  })
}

/** Why `accounts create` was refused, naming the flag (or setting) at fault. */
function accountFailureText(r: CreateAccountFailure, admin: string): string {
  switch (r.code) {
    case 'account.name_taken':
      return `An account named "${r.name}" already exists.`
    case 'email.invalid':
      return `"${admin}" is not a valid email address.`
    case 'account.name_invalid':
      return `--name: the account name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'account.admin_name_invalid':
      return `--admin-name: the ${r.part} name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'group.name_invalid':
      return `DEFAULT_GROUP: the group name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'account.time_zone_invalid':
      return `--timezone: ${timeZoneProblem(r.input)} Nothing was created.`
    default: {
      const unhandled: never = r
      return `Refused (${(unhandled as { code: string }).code}).`
    }
  }
}

/** Why a time zone was refused, and what to type instead. */
function timeZoneProblem(input: string): string {
  const better = suggestZone(input)
  if (better) return `"${oneLine(input)}" is not how time zones are named here: use ${better}.`
  return `"${oneLine(input)}" is not a time zone this server knows. Use an IANA name such as Europe/Berlin, America/New_York or UTC (not an offset like +02:00, nor an abbreviation like CET).`
}
