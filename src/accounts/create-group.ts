import type { Knex } from 'knex'
import type { Clock } from '../ports/clock.ts'
import { checkName, type NameProblem } from '../shared/names.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { insertGroups } from './group-repository.ts'

export type CreateGroupFailure = { code: 'group.name_taken'; name: string } | { code: 'group.name_invalid'; name: string; problem: NameProblem; limit: number }

/** An operator adds a group to an account; `isAdmin` groups grant administration. The name follows the name rule. */
export async function createGroup(db: Knex, clock: Clock, cmd: { accountId: string; name: string; isAdmin: boolean }): Promise<Result<{ groupId: string }, CreateGroupFailure>> {
  const checked = checkName('group', cmd.name)
  if (!checked.ok) return fail({ code: 'group.name_invalid', name: cmd.name, problem: checked.problem, limit: checked.limit })
  const name = checked.name
  const [row] = await insertGroups(db, cmd.accountId, [{ name, isAdmin: cmd.isAdmin }], clock.now())
  return row ? ok({ groupId: row.id }) : fail({ code: 'group.name_taken', name })
}
