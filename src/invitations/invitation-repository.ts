import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import type { Deps } from '../deps.ts'
import type { SendLimitFacts } from '../email/outbox-repository.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { UserRow } from '../users/user-row.ts'
import type { LinkCode } from './codes.ts'
import { isWellFormedToken, linkToken, newLinkId, tokenHash, tokenMatches } from './links.ts'
import type { DeliveryStatus, InvitationState } from './model.ts'

/**
 * The invitation repository: every query on `invitations` and `invitation_requests` that the use
 * cases make, and the one way a link token is resolved (docs/architecture.md "Persistence").
 * Functions take the caller's connection or transaction; none opens a transaction of its own.
 */

type Db = Knex | Knex.Transaction

export interface InvitationRow {
  id: string
  account_id: string
  user_id: string
  link_id: string
  token_hash: string
  state: InvitationState
  created_at: Date
  expires_at: Date
  invited_by_user_id: string | null
  invited_by_email: string | null
  sent_count: number
  last_sent_at: Date | null
  ended_at: Date | null
  replaced_by: string | null
  ended_by_email: string | null
  delivery_status: DeliveryStatus | null
  delivery_detail: string | null
  delivery_message_id: string | null
  /** When this link's expiry stopped needing a notice: announced, or the link ended first. */
  expiry_noticed_at: Date | null
}

/**
 * The `expiry_noticed_at` value for an invitation being ended: an ended link's expiry needs no
 * notice (a CHECK requires it set), and one already announced keeps its time.
 */
export function endedExpiry(db: Db, now: Date): Knex.Raw {
  return db.raw('coalesce(expiry_noticed_at, ?)', [now])
}

/** The one pending invitation of a user (a partial unique index guarantees at most one). */
export async function findPendingInvitation(db: Db, userId: string): Promise<InvitationRow | null> {
  return (await db<InvitationRow>('invitations').where({ user_id: userId, state: 'pending' }).first()) ?? null
}

/** What an action on a user's pending link decides on, read in one query by `pendingLinkFacts`. */
export interface PendingLinkFacts {
  pending: InvitationRow | null
  /** The state of the link `clickedId` names, when it is one of this user's. */
  clickedState: InvitationState | null
  /** The user's group names, sorted (the email and the webhook event list them). */
  groups: string[]
  /** The send-limit facts of the sub-select the caller passed (`sendLimitFactsQuery`). */
  sendable: SendLimitFacts
}

// One round trip for the reads of regenerate and resend, made after the user's row is locked (so
// each sees what the previous holder of that lock committed):
//  - p: the user's pending invitation, if any (a partial unique index: at most one);
//  - clicked_state: the link a button named, when it is this user's (a uuid, or null: no row);
//  - group_names: the user's groups, sorted by name;
//  - f: the suppression and send-limit facts (a one-row sub-select, src/email/outbox-repository.ts).
const PENDING_LINK_FACTS_SQL = (sendLimits: string) => `
  SELECT p.*,
         (SELECT c.state FROM invitations c WHERE c.id = ?::uuid AND c.user_id = ?::uuid) AS clicked_state,
         ARRAY(SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = ?::uuid ORDER BY g.name) AS group_names,
         f.suppressed_reason, f.suppressed_detail, f.admin_blocking, f.recipient_blocking
    FROM (SELECT 1) one
    LEFT JOIN invitations p ON p.user_id = ?::uuid AND p.state = 'pending'
    CROSS JOIN (${sendLimits}) f`

/** The user's pending link, the state of a clicked link, their groups and the send limits: one query. */
export async function pendingLinkFacts(db: Db, userId: string, opts: { clickedId: string | null; sendLimits: { sql: string; bindings: unknown[] } }): Promise<PendingLinkFacts> {
  const { rows } = await db.raw<{ rows: Record<string, unknown>[] }>(PENDING_LINK_FACTS_SQL(opts.sendLimits.sql), [
    opts.clickedId,
    userId,
    userId,
    userId,
    ...opts.sendLimits.bindings,
  ] as Knex.RawBinding[])
  const row = rows[0]
  if (!row) throw new Error('the facts query returned no row')
  const { clicked_state, group_names, suppressed_reason, suppressed_detail, admin_blocking, recipient_blocking, ...pending } = row
  return {
    pending: pending.id === null ? null : (pending as unknown as InvitationRow),
    clickedState: (clicked_state as InvitationState | null) ?? null,
    groups: group_names as string[],
    sendable: { suppressed_reason, suppressed_detail, admin_blocking, recipient_blocking } as SendLimitFacts,
  }
}

/** An invitation by id (a uuid: check ids from outside with `isUuid` first). */
export async function findInvitation(db: Db, id: string): Promise<InvitationRow | null> {
  return (await db<InvitationRow>('invitations').where({ id }).first()) ?? null
}

/** A part of a use case's write statement: `name AS (sql)` in its WITH list. */
export interface StatementPart {
  name: string
  sql: string
  bindings: unknown[]
}

/** WITH parts and a final SELECT as one statement, bindings in order. */
function withParts(parts: readonly StatementPart[], select: string): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `WITH ${parts.map((p) => `${p.name} AS (${p.sql})`).join(',\n')}\n${select}`,
    bindings: parts.flatMap((p) => p.bindings) as Knex.RawBinding[],
  }
}

/**
 * Regenerate's writes in one statement (one round trip), with the caller's other writes of the
 * same change (`also`: the email, the webhook messages, the audit entry) as further parts:
 *  - `ended` ends the old link for good (`replaced`) and points it at its successor, whose id is
 *    chosen here; the foreign key on `replaced_by` is checked at the end of the statement, when
 *    the successor exists;
 *  - `created` inserts the successor from `ended`'s row, so it runs after it: the partial unique
 *    index allows one pending link per user, and the old one is no longer pending by then. No row
 *    when the old link was not found (nothing is written then: the caller throws, rolling back).
 * The caller holds the user's row lock (regenerate serialises on it), as before.
 */
export async function replaceInvitation(
  deps: Pick<Deps, 'config'>,
  trx: Knex.Transaction,
  r: { pendingId: string; user: UserRow; invitedBy: { userId: string | null; email: string }; now: Date; also: (invitation: NewInvitation) => StatementPart[] },
): Promise<InvitationRow> {
  const next = newInvitation(deps, r.user, r.invitedBy, r.now)
  const parts: StatementPart[] = [
    {
      name: 'ended',
      sql: `UPDATE invitations SET state = 'replaced', ended_at = ?::timestamptz, ended_by_email = ?, expiry_noticed_at = coalesce(expiry_noticed_at, ?::timestamptz), replaced_by = ?::uuid
             WHERE id = ?::uuid AND state = 'pending' RETURNING id`,
      bindings: [r.now, r.invitedBy.email, r.now, next.id, r.pendingId],
    },
    { name: 'created', sql: `${INSERT_INVITATION_SQL} FROM ended RETURNING *`, bindings: newInvitationBindings(next) },
    ...r.also(next),
  ]
  const { sql, bindings } = withParts(parts, 'SELECT * FROM created')
  const { rows } = await trx.raw<{ rows: InvitationRow[] }>(sql, bindings)
  const row = rows[0]
  if (!row) throw new Error('the pending invitation to replace vanished inside its own transaction')
  return row
}

/**
 * Insert a new pending link for a user, sent by the administrator `invitedBy`, valid for
 * INVITE_TTL from now, in one statement with the caller's other writes of the same change:
 * `before` (parts that need not follow anything, such as the user's groups) and `also` (the
 * email, the webhook messages, the audit entry, which name the new link), as parts of a
 * data-modifying CTE: one round trip.
 */
export async function insertInvitationWith(
  deps: Pick<Deps, 'config'>,
  trx: Knex.Transaction,
  r: { user: UserRow; invitedBy: { userId: string | null; email: string }; now: Date; before: readonly StatementPart[]; also: (invitation: NewInvitation) => StatementPart[] },
): Promise<InvitationRow> {
  const next = newInvitation(deps, r.user, r.invitedBy, r.now)
  const { sql, bindings } = withParts(
    [...r.before, { name: 'created', sql: `${INSERT_INVITATION_SQL} RETURNING *`, bindings: newInvitationBindings(next) }, ...r.also(next)],
    'SELECT * FROM created',
  )
  const { rows } = await trx.raw<{ rows: InvitationRow[] }>(sql, bindings)
  const row = rows[0]
  if (!row) throw new Error('insert into invitations returned no row')
  return row
}

/** A new link's values, chosen before it is written (its id too: other parts of the statement name it). */
export interface NewInvitation {
  id: string
  accountId: string
  userId: string
  linkId: string
  tokenHash: string
  createdAt: Date
  expiresAt: Date
  invitedByUserId: string | null
  invitedByEmail: string
}

function newInvitation(deps: Pick<Deps, 'config'>, user: UserRow, invitedBy: { userId: string | null; email: string }, now: Date): NewInvitation {
  const linkId = newLinkId()
  return {
    id: randomUUID(),
    accountId: user.account_id,
    userId: user.id,
    linkId,
    tokenHash: tokenHash(linkToken(deps.config.inviteSecret, linkId)),
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.inviteTtlMs),
    invitedByUserId: invitedBy.userId,
    invitedByEmail: invitedBy.email,
  }
}

// A new pending link, sent once now: its email is queued in the same statement (`also`).
const INSERT_INVITATION_SQL = `INSERT INTO invitations (id, account_id, user_id, link_id, token_hash, state, created_at, expires_at, invited_by_user_id, invited_by_email, sent_count, last_sent_at, delivery_status)
  SELECT ?::uuid, ?::uuid, ?::uuid, ?::text, ?::text, 'pending', ?::timestamptz, ?::timestamptz, ?::uuid, ?::text, 1, ?::timestamptz, 'queued'`

function newInvitationBindings(n: NewInvitation): unknown[] {
  return [n.id, n.accountId, n.userId, n.linkId, n.tokenHash, n.createdAt, n.expiresAt, n.invitedByUserId, n.invitedByEmail, n.createdAt]
}

/**
 * Resend: the pending link is valid until `expiresAt` again and counts one more send, in one
 * statement with the caller's other writes of the same change (`also`: the email, the webhook
 * messages, the audit entry), as parts of a data-modifying CTE: one round trip. The caller holds
 * the user's row lock.
 */
export async function extendInvitationWith(
  trx: Knex.Transaction,
  pending: InvitationRow,
  expiresAt: Date,
  now: Date,
  also: readonly StatementPart[],
): Promise<InvitationRow> {
  const { sql, bindings } = withParts(
    [
      {
        name: 'extended',
        // Valid until expiresAt again, one more send, its email queued by `also`. The new expiry
        // is announced when it comes, even if a sweep on another replica (its clock a few ms ahead)
        // already announced the old one; the last delivery's facts are cleared.
        sql: `UPDATE invitations SET expires_at = ?::timestamptz, sent_count = ?::int, last_sent_at = ?::timestamptz, delivery_status = 'queued',
                     expiry_noticed_at = NULL, delivery_detail = NULL, delivery_message_id = NULL
               WHERE id = ?::uuid RETURNING *`,
        bindings: [expiresAt, pending.sent_count + 1, now, pending.id],
      },
      ...also,
    ],
    'SELECT * FROM extended',
  )
  const { rows } = await trx.raw<{ rows: InvitationRow[] }>(sql, bindings)
  const invitation = rows[0]
  if (!invitation) throw new Error('the pending invitation vanished inside its own transaction')
  return invitation
}

/**
 * End a link for good: `replaced` (a new one follows), `revoked` (the user was removed) by an
 * administrator, or the invitee's `accepted` / `declined`.
 */
export async function endInvitation(
  trx: Knex.Transaction,
  invitationId: string,
  end: { state: Exclude<InvitationState, 'pending'>; now: Date; byEmail?: string | null },
): Promise<void> {
  await trx('invitations')
    .where({ id: invitationId })
    .update({ state: end.state, ended_at: end.now, ...(end.byEmail !== undefined ? { ended_by_email: end.byEmail } : {}), expiry_noticed_at: endedExpiry(trx, end.now) })
}

// ---- link tokens ---------------------------------------------------------------------------

/** What a token names: the invitation, its user and its account. */
export interface LinkTarget {
  invitation: InvitationRow
  user: UserRow
  accountName: string
  /** The account's time zone (IANA name): the invitee's page shows times in it. */
  accountTimeZone: string
}

/**
 * The invitation a link token names, whatever its state; null when the token names nothing we
 * issued (docs/security.md). Malformed, unknown and known tokens take the same path: one indexed
 * lookup by hash (a malformed token's hash matches nothing), then the hash match is confirmed in
 * constant time against the secret-derived token. The invitee's page, accept, decline and
 * "request a new invitation" all find their link here.
 */
export async function resolveLinkToken(db: Db, secret: Buffer, token: string, opts: { forUpdate?: boolean } = {}): Promise<LinkTarget | null> {
  // A malformed token still costs a lookup, so timing does not tell it from an unknown one.
  const wellFormed = isWellFormedToken(token)
  const hash = tokenHash(wellFormed ? token : `malformed:${token.slice(0, 200)}`)
  const q = db<InvitationRow>('invitations').where({ token_hash: hash }).first()
  if (opts.forUpdate) q.forUpdate()
  const invitation = await q
  if (!invitation || !wellFormed || !tokenMatches(secret, invitation.link_id, token)) return null
  const user = await db<UserRow>('users').where({ id: invitation.user_id }).first()
  const account = await db('accounts').where({ id: invitation.account_id }).first<{ name: string; time_zone: string } | undefined>('name', 'time_zone')
  if (!user || !account) return null
  return { invitation, user, accountName: account.name, accountTimeZone: account.time_zone }
}

/**
 * The invitation `invitationId` (a uuid) with its user and account, as `resolveLinkToken` gives
 * them, whatever its state; null when there is none. For what names an invitation without its
 * link (a hand-over code); `forUpdate` locks the invitation row.
 */
export async function findLinkTarget(db: Db, invitationId: string, opts: { forUpdate?: boolean } = {}): Promise<LinkTarget | null> {
  const q = db<InvitationRow>('invitations').where({ id: invitationId }).first()
  if (opts.forUpdate) q.forUpdate()
  const invitation = await q
  if (!invitation) return null
  const user = await db<UserRow>('users').where({ id: invitation.user_id }).first()
  const account = await db('accounts').where({ id: invitation.account_id }).first<{ name: string; time_zone: string } | undefined>('name', 'time_zone')
  if (!user || !account) return null
  return { invitation, user, accountName: account.name, accountTimeZone: account.time_zone }
}

/** Why a link that was found does not open the welcome screen now; null while it does. */
export function linkRefusal(invitation: InvitationRow, now: Date): LinkCode | null {
  switch (invitation.state) {
    case 'replaced':
      return 'link.replaced'
    case 'accepted':
      return 'link.accepted'
    case 'declined':
      return 'link.declined'
    case 'revoked':
      return 'link.revoked'
    case 'pending':
      return now.getTime() >= invitation.expires_at.getTime() ? 'link.expired' : null
  }
}

/** A link that opens now (pending, unexpired), or why not: `resolveLinkToken` and `linkRefusal`. */
export async function openLink(db: Db, secret: Buffer, token: string, now: Date, opts: { forUpdate?: boolean } = {}): Promise<Result<LinkTarget, { code: LinkCode }>> {
  const link = await resolveLinkToken(db, secret, token, opts)
  if (!link) return fail({ code: 'link.invalid' })
  const refusal = linkRefusal(link.invitation, now)
  return refusal ? fail({ code: refusal }) : ok(link)
}

// ---- requests for a new invitation -----------------------------------------------------------

/** When this link last asked the administrators for a new invitation, if it ever did. */
export async function lastNewInvitationRequest(db: Db, invitationId: string): Promise<Date | null> {
  const last = await db('invitation_requests').where({ invitation_id: invitationId }).orderBy('requested_at', 'desc').first<{ requested_at: Date } | undefined>('requested_at')
  return last?.requested_at ?? null
}

/** Record that the invitee of `invitation` asked for a new one. */
export async function insertNewInvitationRequest(trx: Knex.Transaction, invitation: InvitationRow, now: Date): Promise<void> {
  await trx('invitation_requests').insert({ account_id: invitation.account_id, user_id: invitation.user_id, invitation_id: invitation.id, requested_at: now })
}

// ---- email delivery status -------------------------------------------------------------------

/**
 * What the email outbox and SES's feedback say about an invitation's latest email (shown by
 * `/invite show`). A field left out keeps its stored value; null clears it.
 */
export interface InvitationDelivery {
  status: DeliveryStatus
  detail?: string | null
  messageId?: string | null
}

/**
 * Set the delivery status of the invitations `ids` (one or many). Returns how many rows changed.
 * The email worker calls it only after its fenced close of the outbox row succeeded, in the same
 * transaction, so a worker that lost its claim changes nothing here either.
 */
export async function setInvitationDelivery(db: Db, ids: string | readonly string[], delivery: InvitationDelivery): Promise<number> {
  const list = typeof ids === 'string' ? [ids] : [...ids]
  if (list.length === 0) return 0
  return db('invitations')
    .whereIn('id', list)
    .update({
      delivery_status: delivery.status,
      ...(delivery.detail !== undefined ? { delivery_detail: delivery.detail } : {}),
      ...(delivery.messageId !== undefined ? { delivery_message_id: delivery.messageId } : {}),
    })
}

/**
 * The pending invitation of every user, as a subquery of `user_id` and `expires_at` to join
 * (`.leftJoin(pendingInvitations(db).as('pi'), 'pi.user_id', 'u.id')`): the Users page filters and
 * shows each user's status from it in the same query. At most one row per user (a partial unique
 * index).
 */
export function pendingInvitations(db: Db): Knex.QueryBuilder {
  return db('invitations').where({ state: 'pending' }).select('user_id', 'expires_at')
}

// ---- announcing expiries (the notices job's sweeps, docs/notices.md) -------------------------

/** ISO 8601 in UTC with milliseconds, as `Date#toISOString` writes it (what the event readers parse). */
const isoUtcText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The rows a sweep takes (bindings: now, limit): newly expired pending invitations, oldest expiry
 * first. Exported so a test can ask the planner about exactly this query (it must use
 * invitations_expiry_unnoticed_idx, docs/performance.md).
 */
export const SWEEP_SELECT_SQL = `SELECT id FROM invitations WHERE state = 'pending' AND expiry_noticed_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`

// One statement, so the mark and the event commit together or not at all:
//  - `due` locks up to `limit` newly expired pending invitations, oldest expiry first, through
//    invitations_expiry_unnoticed_idx (docs/performance.md). SKIP LOCKED: a row another sweeper (or a
//    regenerate, a remove) holds is left to it. A row another sweeper marked and committed after
//    our snapshot is re-checked on locking (READ COMMITTED re-evaluates the WHERE on the newest
//    version), so it no longer qualifies: each expiry gets exactly one event, whatever the replicas.
//  - `noticed` marks them, by primary key;
//  - the INSERT writes one `invitation.expired` account event per marked invitation, with the
//    user's name as it is now (see src/notices/account-events.ts for the payload's reader).
// Only index lookups: on 100k invitations plain joins here were planned as whole-table scans of
// invitations and users (bench/expiry-sweep.ts counts the rows read by sequential scans).
const SWEEP_SQL = `
  WITH due AS (
    ${SWEEP_SELECT_SQL}
    FOR UPDATE SKIP LOCKED
  ), noticed AS (
    -- By primary key: a join to due is planned as a hash join over the whole table.
    UPDATE invitations i SET expiry_noticed_at = ?
     WHERE i.id = ANY (ARRAY(SELECT id FROM due))
    RETURNING i.id, i.account_id, i.user_id, i.created_at, i.expires_at, i.invited_by_email
  )
  INSERT INTO account_events (account_id, type, payload, created_at)
  SELECT n.account_id, 'invitation.expired',
         jsonb_build_object(
           'invitationId', n.id,
           'userId', n.user_id,
           'email', u.email,
           'firstName', u.first_name,
           'lastName', u.last_name,
           'invitedAt', ${isoUtcText('n.created_at')},
           'invitedByEmail', n.invited_by_email,
           'expiredAt', ${isoUtcText('n.expires_at')}
         ),
         ?
    FROM noticed n
    -- One index lookup per invitation (a plain join reads every user: bench/expiry-sweep.ts).
    CROSS JOIN LATERAL (SELECT email, first_name, last_name FROM users WHERE id = n.user_id) u
   ORDER BY n.expires_at, n.id
  RETURNING id, account_id, payload, created_at`

/**
 * Mark up to `limit` pending invitations whose `expires_at` is at or before `now` and whose expiry
 * was not announced yet as announced, and write one `invitation.expired` account event for each,
 * in one statement (see SWEEP_SQL). Returns how many were announced.
 */
export async function announceExpiredInvitations(db: Db, now: Date, limit: number): Promise<number> {
  return (await announceExpiredInvitationEvents(db, now, limit)).length
}

/** `announceExpiredInvitations`, returning the account events it wrote (for announcing them further in the same transaction). */
export async function announceExpiredInvitationEvents(db: Db, now: Date, limit: number): Promise<{ id: string; account_id: string; payload: Record<string, unknown>; created_at: Date }[]> {
  const result = await db.raw<{ rows: { id: string; account_id: string; payload: Record<string, unknown>; created_at: Date }[] }>(SWEEP_SQL, [now, limit, now, now])
  return result.rows
}

/**
 * The invitations a digest may list (bindings: now, now + 24 h): pending, still valid, expiring
 * within the window. Exported so a test can ask the planner about exactly this query (it must use
 * invitations_pending_expiry_idx, docs/performance.md: a range of the index, not a scan).
 */
export const EXPIRING_SOON_RANGE_SQL = `SELECT id, account_id, user_id, expires_at, invited_by_email FROM invitations WHERE state = 'pending' AND expires_at > ? AND expires_at <= ?`

// One statement per time zone, one digest per account per local day, whatever the replicas and
// the rounds:
//  - `soon` reads the window through invitations_pending_expiry_idx, for the accounts of one
//    time zone (the zone's accounts by primary key);
//  - `ranked` drops accounts that already have today's digest (a probe of account_events_dedupe_idx,
//    so a later round builds no JSON and burns no sequence value for them), then numbers each
//    account's invitations by expiry and counts them all;
//  - `listed` keeps the first few per account, with the user's name as it is now: one primary-key
//    lookup per listed invitation. A plain join was planned as a whole-table scan of users on 100k
//    users, and so was a LATERAL subquery without the LIMIT (the planner flattens it into the same
//    join); the LIMIT, harmless on a primary key, keeps it a per-row lookup.
//  - the INSERT writes one event per account. The NOT EXISTS alone is not enough: sweeps that start
//    together all see "no digest yet". ON CONFLICT on account_events_dedupe_idx is the guarantee:
//    a second sweep's insert waits for the first one's row to commit, then does nothing.
//    ORDER BY account_id: every sweep inserts in the same order, so two sweeps waiting on each
//    other's uncommitted rows cannot deadlock.
const DIGEST_SQL = `
  WITH soon AS (
    ${EXPIRING_SOON_RANGE_SQL} AND account_id = ANY (ARRAY(SELECT id FROM accounts WHERE time_zone = ?))
  ), ranked AS (
    SELECT s.*,
           row_number() OVER (PARTITION BY s.account_id ORDER BY s.expires_at, s.id) AS n,
           count(*) OVER (PARTITION BY s.account_id) AS total
      FROM soon s
     WHERE NOT EXISTS (
             SELECT 1 FROM account_events e
              WHERE e.account_id = s.account_id AND e.type = 'invitations.expiring_soon' AND e.dedupe_key = ?::text)
  ), listed AS (
    SELECT r.*, u.email, u.first_name, u.last_name
      FROM ranked r
      CROSS JOIN LATERAL (SELECT email, first_name, last_name FROM users WHERE id = r.user_id LIMIT 1) u
     WHERE r.n <= ?
  )
  INSERT INTO account_events (account_id, type, dedupe_key, payload, created_at)
  SELECT l.account_id, 'invitations.expiring_soon', ?::text,
         jsonb_build_object(
           'day', ?::text,
           'total', max(l.total),
           'invitations', jsonb_agg(
             jsonb_build_object(
               'invitationId', l.id,
               'userId', l.user_id,
               'email', l.email,
               'firstName', l.first_name,
               'lastName', l.last_name,
               'expiresAt', ${isoUtcText('l.expires_at')},
               'invitedByEmail', l.invited_by_email
             ) ORDER BY l.n)
         ),
         ?
    FROM listed l
   GROUP BY l.account_id
   ORDER BY l.account_id
  ON CONFLICT (account_id, type, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
  RETURNING id`

/** The account time zones in use, as stored, in the same order on every replica. */
export async function accountTimeZones(db: Db): Promise<string[]> {
  const rows = (await db('accounts').distinct('time_zone').orderBy('time_zone')) as { time_zone: string }[]
  return rows.map((r) => r.time_zone)
}

/**
 * Write the `invitations.expiring_soon` digest of `day` for every account stored with the time
 * zone `storedZone` that has pending invitations expiring in (now, until] and no digest of that day
 * yet, listing the first `listLimit` by expiry, in one statement (see DIGEST_SQL). Returns how
 * many digests were written.
 */
export async function insertExpiringSoonDigests(db: Db, d: { now: Date; until: Date; storedZone: string; day: string; listLimit: number }): Promise<number> {
  const result = await db.raw<{ rows: unknown[] }>(DIGEST_SQL, [d.now, d.until, d.storedZone, d.day, d.listLimit, d.day, d.day, d.now])
  return result.rows.length
}
