import type { Knex } from 'knex'
import type { ChatPlatform } from '../chat/platform.ts'

/**
 * The notice destination repository: every query on `notice_destinations` (docs/notices.md,
 * docs/architecture.md "Persistence"). Functions take the caller's connection or transaction;
 * none opens a transaction of its own, and none checks who asks (the use cases in
 * notice-destinations.ts do).
 */

type Db = Knex | Knex.Transaction

/** One row of `notice_destinations`. `reference` is the jsonb as pg parses it (null for Slack). */
export interface NoticeDestinationRow {
  account_id: string
  platform: string
  conversation_id: string
  reference: unknown
  conversation_name: string | null
  set_by: string | null
  updated_at: Date
}

/** The account's destination on `platform`, or null; `forUpdate` locks it for the caller's transaction. */
export async function readNoticeDestination(db: Db, accountId: string, platform: ChatPlatform, opts: { forUpdate?: boolean } = {}): Promise<NoticeDestinationRow | null> {
  const q = db('notice_destinations').where({ account_id: accountId, platform })
  if (opts.forUpdate) q.forUpdate()
  return ((await q.first()) as NoticeDestinationRow | undefined) ?? null
}

/**
 * Insert or replace the account's destination on the row's platform (one per account and
 * platform). The reference is written as JSON text; the table's CHECK is a backstop to the
 * size the use case checks (notice-destinations.ts).
 */
export async function upsertNoticeDestination(trx: Knex.Transaction, row: NoticeDestinationRow): Promise<void> {
  await trx('notice_destinations')
    .insert({ ...row, reference: row.reference === null ? null : JSON.stringify(row.reference) })
    .onConflict(['account_id', 'platform'])
    .merge(['conversation_id', 'reference', 'conversation_name', 'set_by', 'updated_at'])
}

/** Remove the account's destination on `platform` (nothing when there is none). */
export async function deleteNoticeDestination(trx: Knex.Transaction, accountId: string, platform: ChatPlatform): Promise<void> {
  await trx('notice_destinations').where({ account_id: accountId, platform }).delete()
}

/** Every destination of the account, by platform name. */
export async function listNoticeDestinations(db: Db, accountId: string): Promise<NoticeDestinationRow[]> {
  return (await db('notice_destinations').where({ account_id: accountId }).orderBy('platform')) as NoticeDestinationRow[]
}

/**
 * The account's time zone and its destination on `platform` (null columns when it has none
 * there), in one read: what the notices job needs to render and post. Null when the account does
 * not exist.
 */
export async function readNoticeTarget(db: Db, accountId: string, platform: ChatPlatform): Promise<{ time_zone: string; conversation_id: string | null; reference: unknown } | null> {
  const row = (await db('accounts as a')
    .leftJoin('notice_destinations as d', function () {
      this.on('d.account_id', '=', 'a.id').andOnVal('d.platform', '=', platform)
    })
    .where('a.id', accountId)
    .first('a.time_zone', 'd.conversation_id', 'd.reference')) as { time_zone: string; conversation_id: string | null; reference: unknown } | undefined
  return row ?? null
}
