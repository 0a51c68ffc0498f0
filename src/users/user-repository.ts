import type { Knex } from 'knex'
import { pendingInvitations, type InvitationRow, type StatementPart } from '../invitations/invitation-repository.ts'
import type { DisplayStatus, InvitationView, UserView } from '../invitations/model.ts'
import type { UserRow } from './user-row.ts'
import { displayStatus, rowActions } from '../invitations/rules.ts'

type Db = Knex | Knex.Transaction

export type { UserRow } from './user-row.ts'

/** The membership of `email` in the account, locked for the rest of the transaction when asked. */
export async function findUserByEmail(db: Db, accountId: string, email: string, opts: { forUpdate?: boolean } = {}): Promise<UserRow | null> {
  const q = db<UserRow>('users').where({ account_id: accountId, email }).first()
  if (opts.forUpdate) q.forUpdate()
  return (await q) ?? null
}

/** The user `id` of the account (scoped: another account's user is not found), locked when asked. */
export async function findUserById(db: Db, accountId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<UserRow | null> {
  const q = db<UserRow>('users').where({ account_id: accountId, id }).first()
  if (opts.forUpdate) q.forUpdate()
  return (await q) ?? null
}

/** A user's "First Last" (trimmed; '' when they have no name yet), or null when there is no such user. */
export async function userFullName(db: Db, userId: string): Promise<string | null> {
  const row = await db('users').where({ id: userId }).first<{ first_name: string; last_name: string } | undefined>('first_name', 'last_name')
  return row ? `${row.first_name} ${row.last_name}`.trim() : null
}

/**
 * The Active administrator of the account with this (normalised) email: their row and the
 * account's name and time zone. One query: found means the account exists.
 */
export async function findActiveAdmin(
  db: Db,
  accountId: string,
  email: string,
): Promise<{ id: string; email: string; first_name: string; last_name: string; account_name: string; time_zone: string } | null> {
  const row = await db('users as u')
    .join('accounts as a', 'a.id', 'u.account_id')
    .join('user_groups as ug', 'ug.user_id', 'u.id')
    .join('groups as g', 'g.id', 'ug.group_id')
    .where({ 'u.account_id': accountId, 'u.email': email, 'u.status': 'active', 'g.is_admin': true })
    .first<{ id: string; email: string; first_name: string; last_name: string; account_name: string; time_zone: string } | undefined>(
      'u.id',
      'u.email',
      'u.first_name',
      'u.last_name',
      'a.name as account_name',
      'a.time_zone',
    )
  return row ?? null
}

/** What `findActiveAdmin` returns. */
export type ActiveAdminRow = NonNullable<Awaited<ReturnType<typeof findActiveAdmin>>>

// One round trip for the frame of an administrator action on a user: the actor's administrator
// row (as findActiveAdmin reads it) and the target's users row. The target is read, and locked
// when asked, only when the administrator was found: a refused actor locks nothing. FOR UPDATE in
// the LATERAL sub-select locks the users row alone, as findUserByEmail/findUserById do; whatever
// the caller reads after it, in later statements, sees what a concurrent holder of the lock committed.
const ADMIN_AND_TARGET_SQL = (targetColumn: 'email' | 'id', forUpdate: boolean) => `
  SELECT a.id AS admin_id, a.email AS admin_email, a.first_name AS admin_first_name, a.last_name AS admin_last_name,
         a.account_name AS admin_account_name, a.time_zone AS admin_time_zone, t.*
    FROM (SELECT 1) one
    LEFT JOIN (SELECT u.id, u.email, u.first_name, u.last_name, ac.name AS account_name, ac.time_zone
                 FROM users u
                 JOIN accounts ac ON ac.id = u.account_id
                 JOIN user_groups ug ON ug.user_id = u.id
                 JOIN groups g ON g.id = ug.group_id
                WHERE u.account_id = ? AND u.email = ? AND u.status = 'active' AND g.is_admin
                LIMIT 1) a ON true
    LEFT JOIN LATERAL (SELECT * FROM users
                        WHERE account_id = ? AND ${targetColumn} = ? AND a.id IS NOT NULL
                        LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}) t ON true`

/**
 * The Active administrator `adminEmail` of the account (as `findActiveAdmin`) and, when found,
 * the target user by email or id (as `findUserByEmail` / `findUserById`, locked when asked), in one
 * query. The target is null when the administrator is not found, or the user is not.
 */
export async function findActiveAdminAndTarget(
  db: Db,
  accountId: string,
  adminEmail: string,
  target: { email: string } | { userId: string },
  opts: { forUpdate?: boolean } = {},
): Promise<{ admin: ActiveAdminRow | null; target: UserRow | null }> {
  const byId = 'userId' in target
  const { rows } = await db.raw<{ rows: Record<string, unknown>[] }>(ADMIN_AND_TARGET_SQL(byId ? 'id' : 'email', opts.forUpdate === true), [
    accountId,
    adminEmail,
    accountId,
    byId ? target.userId : target.email,
  ])
  const row = rows[0]
  if (!row || row.admin_id === null) return { admin: null, target: null }
  const { admin_id, admin_email, admin_first_name, admin_last_name, admin_account_name, admin_time_zone, ...user } = row
  const admin = { id: admin_id, email: admin_email, first_name: admin_first_name, last_name: admin_last_name, account_name: admin_account_name, time_zone: admin_time_zone } as ActiveAdminRow
  return { admin, target: user.id === null ? null : (user as unknown as UserRow) }
}

/**
 * A new membership: Invited (`add`), or Active from the start (an account's first administrator,
 * who acts from chat rather than through an emailed link). Null when the email already has a
 * membership in the account: the unique (account, email) index decides, and a concurrent insert of
 * the same email waits for the first transaction, then gets null.
 */
export async function insertUser(
  trx: Knex.Transaction,
  u: { accountId: string; email: string; firstName: string; lastName: string; status: 'invited' | 'active'; now: Date },
): Promise<UserRow | null> {
  const [row] = await trx<UserRow>('users')
    .insert({
      account_id: u.accountId,
      email: u.email,
      first_name: u.firstName,
      last_name: u.lastName,
      status: u.status,
      joined_at: u.status === 'active' ? u.now : null,
      created_at: u.now,
      updated_at: u.now,
    })
    .onConflict(['account_id', 'email'])
    .ignore()
    .returning('*')
  return row ?? null
}

/** Undo `insertUser` inside its transaction (a refusal found after the insert must change nothing). */
export async function deleteUser(trx: Knex.Transaction, userId: string): Promise<void> {
  await trx('users').where({ id: userId }).delete()
}

/** Invited again after declining or removal: the names given, no join date, no password. */
export async function reinviteUser(trx: Knex.Transaction, userId: string, u: { firstName: string; lastName: string; now: Date }): Promise<UserRow> {
  const [row] = await trx<UserRow>('users')
    .where({ id: userId })
    .update({ status: 'invited', first_name: u.firstName, last_name: u.lastName, joined_at: null, password_hash: null, updated_at: u.now })
    .returning('*')
  if (!row) throw new Error(`user ${userId} vanished inside its own transaction`)
  return row
}

/**
 * The invitee registered: Active from now, with the names and password they chose (no password
 * when they were handed over to the product's own sign-up, which keeps their credentials).
 */
export async function activateUser(trx: Knex.Transaction, userId: string, u: { firstName: string; lastName: string; passwordHash: string | null; now: Date }): Promise<void> {
  await trx('users')
    .where({ id: userId })
    .update({ status: 'active', joined_at: u.now, first_name: u.firstName, last_name: u.lastName, password_hash: u.passwordHash, updated_at: u.now })
}

/** A stored status change: the invitee declined, or an administrator removed the user. */
export async function setUserStatus(trx: Knex.Transaction, userId: string, status: 'declined' | 'removed', now: Date): Promise<void> {
  await trx('users').where({ id: userId }).update({ status, updated_at: now })
}

/** The user changed in another table (their groups): `updated_at` says so. */
export async function touchUser(trx: Knex.Transaction, userId: string, now: Date): Promise<void> {
  await trx('users').where({ id: userId }).update({ updated_at: now })
}

/** Active administrators of the account, not counting `exceptUserId`. */
export async function countActiveAdmins(db: Db, accountId: string, exceptUserId: string | null): Promise<number> {
  const q = db('users as u')
    .join('user_groups as ug', 'ug.user_id', 'u.id')
    .join('groups as g', 'g.id', 'ug.group_id')
    .where({ 'u.account_id': accountId, 'u.status': 'active', 'g.is_admin': true })
    .countDistinct<{ n: number }[]>({ n: 'u.id' })
  if (exceptUserId) q.whereNot('u.id', exceptUserId)
  const [row] = await q
  return Number(row?.n ?? 0)
}

/** Names of the user's groups, sorted. */
export async function userGroupNames(db: Db, userId: string): Promise<string[]> {
  const rows = await db('user_groups').join('groups', 'groups.id', 'user_groups.group_id').where('user_groups.user_id', userId).orderBy('groups.name').select<{ name: string }[]>('groups.name')
  return rows.map((r) => r.name)
}

/**
 * Replace a user's groups. The ids are a set: names resolve case-insensitively, so one command can
 * name the same group twice ("Engineering", "engineering").
 */
export async function setUserGroups(db: Db, userId: string, groupIds: string[]): Promise<void> {
  const distinct = [...new Set(groupIds)]
  await db('user_groups').where({ user_id: userId }).delete()
  if (distinct.length > 0) await db('user_groups').insert(distinct.map((group_id) => ({ user_id: userId, group_id })))
}

/**
 * `setUserGroups` as parts of the caller's write statement (a data-modifying CTE): `ungrouped`
 * deletes the user's groups that are not in `groupIds`, `grouped` adds those missing. Neither
 * touches a row the other does, so their order within the statement does not matter.
 */
export function setUserGroupsParts(userId: string, groupIds: readonly string[]): StatementPart[] {
  const distinct = [...new Set(groupIds)]
  return [
    { name: 'ungrouped', sql: 'DELETE FROM user_groups WHERE user_id = ?::uuid AND group_id <> ALL (?::uuid[])', bindings: [userId, distinct] },
    { name: 'grouped', sql: 'INSERT INTO user_groups (user_id, group_id) SELECT ?::uuid, g FROM unnest(?::uuid[]) g ON CONFLICT DO NOTHING', bindings: [userId, distinct] },
  ]
}

/**
 * `insertUser`, and in the same round trip the sorted names of the groups `groupIds` (what the
 * user's group names will be once `setUserGroups` gave them these) and the one-row facts sub-select
 * `facts` (the send limits) as `facts`. The user is null when the email already has a membership
 * (the unique index decides, as for insertUser). The facts do not depend on the insert.
 */
export async function insertUserWithFacts<F>(
  trx: Knex.Transaction,
  u: { accountId: string; email: string; firstName: string; lastName: string; status: 'invited' | 'active'; now: Date },
  groupIds: readonly string[],
  facts: { sql: string; bindings: unknown[]; columns: readonly string[] },
): Promise<{ user: UserRow | null; groupNames: string[]; facts: F }> {
  const { rows } = await trx.raw<{ rows: Record<string, unknown>[] }>(
    `WITH inserted AS (
       INSERT INTO users (account_id, email, first_name, last_name, status, joined_at, created_at, updated_at)
       VALUES (?::uuid, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz, ?::timestamptz)
       ON CONFLICT (account_id, email) DO NOTHING
       RETURNING *)
     SELECT i.*,
            ARRAY(SELECT name FROM groups WHERE id = ANY (?::uuid[]) ORDER BY name) AS group_names,
            ${facts.columns.map((c) => `f.${c}`).join(', ')}
       FROM (SELECT 1) one
       LEFT JOIN inserted i ON true
      CROSS JOIN (${facts.sql}) f`,
    [u.accountId, u.email, u.firstName, u.lastName, u.status, u.status === 'active' ? u.now : null, u.now, u.now, [...groupIds], ...facts.bindings] as Knex.RawBinding[],
  )
  const row = rows[0]
  if (!row) throw new Error('the insert query returned no row')
  const { group_names, ...rest } = row
  const factValues: Record<string, unknown> = {}
  for (const c of facts.columns) {
    factValues[c] = rest[c]
    delete rest[c]
  }
  return { user: rest.id === null ? null : (rest as unknown as UserRow), groupNames: group_names as string[], facts: factValues as F }
}

function invitationView(row: InvitationRow): InvitationView {
  return {
    id: row.id,
    state: row.state,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    invitedBy: row.invited_by_email,
    sentCount: row.sent_count,
    lastSentAt: row.last_sent_at,
    delivery: row.delivery_status ? { status: row.delivery_status, detail: row.delivery_detail, messageId: row.delivery_message_id } : null,
  }
}

/** The SQL form of `displayStatus`, for filtering in the database. */
const DISPLAY_STATUS_SQL = `CASE WHEN u.status = 'invited' AND (pi.expires_at IS NULL OR pi.expires_at <= ?) THEN 'expired' ELSE u.status END`

export interface UserPage {
  users: UserView[]
  total: number
}

/** The invitations columns `queryUserViews` reads of each user's latest invitation, as `li_<column>`. */
const LATEST_COLUMNS = [
  'id',
  'account_id',
  'user_id',
  'link_id',
  'token_hash',
  'state',
  'created_at',
  'expires_at',
  'invited_by_user_id',
  'invited_by_email',
  'sent_count',
  'last_sent_at',
  'ended_at',
  'replaced_by',
  'ended_by_email',
  'delivery_status',
  'delivery_detail',
  'delivery_message_id',
  'expiry_noticed_at',
] as const satisfies readonly (keyof InvitationRow)[]

const LATEST_SELECT = LATEST_COLUMNS.map((c) => `li.${c} AS li_${c}`).join(', ')

/**
 * The Users page: one view per user with groups, latest invitation, the Joined status and the
 * actions that apply now. One query for any page size (no N+1):
 *  - `p`, the page: the account's users (filtered, in email order, limited), each with their
 *    pending link's expiry, and the number of users the filter matches (a sub-select evaluated
 *    once: a window count over the rows before LIMIT would join and sort every matching user
 *    just to show ten, where the page alone walks the email index and stops);
 *  - per user of the page only (the joins sit above the LIMIT): their group names, sorted, and
 *    their latest invitation (newest `created_at`, then id; invitations_user_idx).
 * A page past the end has no row to carry the count: the total is then counted on its own.
 */
export async function queryUserViews(
  db: Db,
  accountId: string,
  opts: {
    now: Date
    filter?: DisplayStatus | 'all'
    emails?: string[]
    userIds?: string[]
    limit?: number
    offset?: number
    count?: boolean
    /** Keyset paging (the API's cursor): only users whose email sorts after this one. */
    afterEmail?: string
  },
): Promise<UserPage> {
  const base = db('users as u')
    .leftJoin(pendingInvitations(db).as('pi'), 'pi.user_id', 'u.id')
    .where('u.account_id', accountId)
  if (opts.emails) base.whereIn('u.email', opts.emails)
  if (opts.userIds) base.whereIn('u.id', opts.userIds)
  // The (account_id, email) unique index serves both the filter and the order.
  if (opts.afterEmail !== undefined) base.where('u.email', '>', opts.afterEmail)
  if (opts.filter && opts.filter !== 'all') base.whereRaw(`${DISPLAY_STATUS_SQL} = ?`, [opts.now, opts.filter])

  // The total is for paging; a lookup by id or email does not need it.
  const counted = opts.count !== false
  const page = base.clone().select('u.*', 'pi.expires_at as pending_expires_at').orderBy('u.email')
  // An uncorrelated sub-select: counted once (an InitPlan), with the plan the count had on its own.
  if (counted) page.select(base.clone().count('*').as('total_count'))
  if (opts.limit !== undefined) page.limit(opts.limit)
  if (opts.offset !== undefined) page.offset(opts.offset)
  const rows = (await db
    .from(page.as('p'))
    .select(
      'p.*',
      db.raw('ARRAY(SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = p.id ORDER BY g.name) AS group_names'),
      db.raw(LATEST_SELECT),
    )
    .joinRaw('LEFT JOIN LATERAL (SELECT * FROM invitations i WHERE i.user_id = p.id ORDER BY i.created_at DESC, i.id DESC LIMIT 1) li ON true')
    .orderBy('p.email')) as Record<string, unknown>[]
  if (rows.length === 0) {
    const count = counted ? ((await base.clone().count<{ count: number }[]>({ count: '*' })) as [{ count: number }])[0].count : 0
    return { users: [], total: Number(count) }
  }

  const users = rows.map((r) => {
    const user = r as unknown as UserRow & { pending_expires_at: Date | null }
    const latest = r.li_id === null ? null : (Object.fromEntries(LATEST_COLUMNS.map((c) => [c, r[`li_${c}`]])) as unknown as InvitationRow)
    return toUserView(user, { pendingExpiresAt: user.pending_expires_at, groups: r.group_names as string[], latest, now: opts.now })
  })
  return { users, total: counted ? Number(rows[0]!.total_count) : users.length }
}

/**
 * A user's view from rows already in hand: the user, the expiry of their pending invitation (if
 * any), their groups and their latest invitation. `queryUserViews` reads these for any number of
 * users; a use case that just wrote them builds the view without reading them back.
 */
export function toUserView(row: UserRow, facts: { pendingExpiresAt: Date | null; groups: string[]; latest: InvitationRow | null; now: Date }): UserView {
  const status: DisplayStatus = displayStatus(row.status, facts.pendingExpiresAt, facts.now)
  return {
    id: row.id,
    accountId: row.account_id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    status,
    groups: facts.groups,
    joinedAt: row.joined_at,
    invitation: facts.latest ? invitationView(facts.latest) : null,
    actions: rowActions(status),
  }
}

/** One user's view (after a change, inside the same transaction). */
export async function loadUserView(db: Db, accountId: string, userId: string, now: Date): Promise<UserView> {
  const { users } = await queryUserViews(db, accountId, { now, userIds: [userId], count: false })
  const user = users[0]
  if (!user) throw new Error(`user ${userId} vanished inside its own transaction`)
  return user
}
