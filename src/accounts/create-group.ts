import type { Knex } from 'knex'
import type { Clock } from '../ports/clock.ts'
import { fail, ok, type Result } from '../shared/result.ts'

/** An operator adds a group to an account; `isAdmin` groups grant administration. */
export async function createGroup(
  db: Knex,
  clock: Clock,
  cmd: { accountId: string; name: string; isAdmin: boolean },
): Promise<Result<{ groupId: string }, { code: 'group.name_taken' | 'group.name_invalid'; name: string }>> {
  const name = cmd.name.trim()
  if (name === '' || name.length > 100 || /[\r\n]/.test(name)) return fail({ code: 'group.name_invalid', name })
  const [row] = await db('groups')
    .insert({ account_id: cmd.accountId, name, is_admin: cmd.isAdmin, created_at: clock.now() })
    .onConflict(db.raw('(account_id, lower(name))'))
    .ignore()
    .returning<{ id: string }[]>('id')
  return row ? ok({ groupId: row.id }) : fail({ code: 'group.name_taken', name })
}
