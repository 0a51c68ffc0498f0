import type { DisplayStatus } from '../../../src/invitations/model.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { listAccountUsers } from '../../../src/users/list-users.ts'
import { accountOrFail, withDatabase, type CliContext } from '../database.ts'
import { joinedCell } from '../render.ts'

/** `inviteops users list` (docs/operations.md). */
export function listUsersCommand(cli: CliContext, args: { accountArg: string; status: DisplayStatus | 'all'; json: boolean }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    const now = deps.clock.now()
    const users = await listAccountUsers(deps.db, account.id, { now, filter: args.status })
    if (args.json) io.out(JSON.stringify(users))
    else io.out(users.length === 0 ? 'No users.' : users.map((u) => `${oneLine(u.email).padEnd(32)} ${oneLine(`${u.firstName} ${u.lastName}`.trim()).padEnd(24)} ${oneLine(u.groups.join(', ')).padEnd(24)} ${joinedCell(u, now)}`).join('\n'))
    return 0
  })
}
