import type { Knex } from 'knex'
import type { ListFilter } from '../commands/types.ts'
import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor, UserView } from '../invitations/model.ts'
import { ok, type Result } from '../shared/result.ts'
import { queryUserViews } from './user-repository.ts'

export interface ListUsers {
  accountId: string
  actor: Actor
  filter: ListFilter
  /** 1-based; past the end shows the last page. */
  page: number
  pageSize?: number
  /** A re-render after a click (audited already): no audit entry of its own. */
  quiet?: boolean
}

export interface UserList {
  filter: ListFilter
  page: number
  pageCount: number
  pageSize: number
  total: number
  users: UserView[]
}

export const DEFAULT_PAGE_SIZE = 10

/** The Users page (docs/commands.md), paged and filtered by the Joined status. */
export function listUsers(deps: Deps, cmd: ListUsers): Promise<Result<UserList, LifecycleFailure>> {
  return adminAction(deps, { ...cmd, action: 'users.list', successCode: 'users.listed' }, async ({ trx, admin, now, detail }) => {
    const pageSize = Math.min(Math.max(cmd.pageSize ?? DEFAULT_PAGE_SIZE, 1), 50)
    const first = await queryUserViews(trx, admin.accountId, { now, filter: cmd.filter, limit: pageSize, offset: (Math.max(cmd.page, 1) - 1) * pageSize })
    const pageCount = Math.max(1, Math.ceil(first.total / pageSize))
    let page = Math.max(1, cmd.page)
    let users = first.users
    if (page > pageCount) {
      page = pageCount
      users = (await queryUserViews(trx, admin.accountId, { now, filter: cmd.filter, limit: pageSize, offset: (page - 1) * pageSize })).users
    }
    detail.filter = cmd.filter
    detail.page = page
    return ok({ filter: cmd.filter, page, pageCount, pageSize, total: first.total, users })
  })
}

/**
 * Every user of the account with the given Joined status, by email: the operator's `users list`
 * (the CLI is the operator's, so no administrator is checked and nothing is audited).
 */
export async function listAccountUsers(db: Knex | Knex.Transaction, accountId: string, opts: { now: Date; filter: ListFilter }): Promise<UserView[]> {
  return (await queryUserViews(db, accountId, { now: opts.now, filter: opts.filter })).users
}

/** The API's page of users: at most `limit`, by email, after a cursor's email (keyset paging). */
export interface ListUsersPage {
  accountId: string
  actor: Actor
  filter: ListFilter
  /** Only this user (exact, normalised by the frame), when given. */
  email?: string | null
  limit: number
  afterEmail: string | null
}

/**
 * Users in email order, `limit` at a time, for the API: a keyset page whose position survives
 * users added or removed between pages (an offset would skip or repeat them). `nextAfterEmail`
 * is null on the last page.
 */
export function listUsersPage(deps: Deps, cmd: ListUsersPage): Promise<Result<{ users: UserView[]; nextAfterEmail: string | null }, LifecycleFailure>> {
  const limit = Math.min(Math.max(Math.trunc(cmd.limit), 1), 100)
  return adminAction(deps, { ...cmd, action: 'users.list', targetEmail: cmd.email ?? null, successCode: 'users.listed' }, async ({ trx, admin, now, detail }, email) => {
    // One more than asked: whether a next page exists, without counting.
    const { users } = await queryUserViews(trx, admin.accountId, {
      now,
      filter: cmd.filter,
      limit: limit + 1,
      count: false,
      ...(email ? { emails: [email] } : {}),
      ...(cmd.afterEmail !== null ? { afterEmail: cmd.afterEmail } : {}),
    })
    detail.filter = cmd.filter
    const page = users.slice(0, limit)
    return ok({ users: page, nextAfterEmail: users.length > limit ? page[page.length - 1]!.email : null })
  })
}
