import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { isUuid } from '../shared/ids.ts'
import { ok, type Result } from '../shared/result.ts'
import { queryUserViews } from './user-repository.ts'

/** At most this many users are read back: a notice shows no more rows (docs/notices.md). */
export const MAX_USERS_BY_IDS = 10

export interface UsersByIds {
  accountId: string
  actor: Actor
  /** The account's users to read; ids that are not uuids or not in the account are left out. */
  userIds: readonly string[]
}

/**
 * A notice re-rendered after a click (the click was audited): its users as they are now, in the
 * order asked, and the account's time zone (a notice is shared by a channel, so its dates are in
 * the account's zone, not the clicker's). The administrator is checked; nothing is audited. One
 * transaction, one query for all the users.
 */
export function usersByIds(deps: Deps, cmd: UsersByIds): Promise<Result<{ users: UserView[]; accountTimeZone: string }, LifecycleFailure>> {
  return adminAction(deps, { accountId: cmd.accountId, actor: cmd.actor, action: 'users.list', successCode: 'users.listed', quiet: true }, async ({ trx, admin, now }) => {
    const ids = [...new Set(cmd.userIds.filter(isUuid))].slice(0, MAX_USERS_BY_IDS)
    const found = ids.length === 0 ? [] : (await queryUserViews(trx, admin.accountId, { now, userIds: ids, count: false })).users
    const byId = new Map(found.map((u) => [u.id, u]))
    const users = ids.flatMap((id) => byId.get(id) ?? [])
    return ok({ users, accountTimeZone: admin.accountTimeZone })
  })
}
