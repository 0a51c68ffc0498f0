import { createGroup } from '../../../src/accounts/create-group.ts'
import { queryGroups } from '../../../src/accounts/list-groups.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { accountOrFail, withDatabase, type CliContext } from '../database.ts'
import { nameProblemText } from '../render.ts'

/** `inviteops groups …` (docs/operations.md). */

export function createGroupCommand(cli: CliContext, args: { accountArg: string; name: string; admin: boolean; json: boolean }): Promise<number> {
  const { io } = cli
  const { name } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    const r = await createGroup(deps.db, deps.clock, { accountId: account.id, name, isAdmin: args.admin })
    if (!r.ok) {
      io.err(r.code === 'group.name_taken' ? `The group "${r.name}" already exists in ${account.name}.` : `--name: the group name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`)
      return 1
    }
    io.out(args.json ? JSON.stringify(r.value) : `Created group "${name.trim()}"${args.admin ? ' (administrators)' : ''} in ${account.name}.`)
    return 0
  })
}

export function listGroupsCommand(cli: CliContext, args: { accountArg: string; json: boolean }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    const groups = await queryGroups(deps.db, account.id)
    io.out(args.json ? JSON.stringify(groups) : groups.map((g) => `${oneLine(g.name)}${g.isAdmin ? ' (administrators)' : ''} — ${g.memberCount}`).join('\n'))
    return 0
  })
}
