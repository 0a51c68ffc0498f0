import type { Knex } from 'knex'
import type { ChatPlatform } from '../chat/platform.ts'

/**
 * The chat connection repository: every query on `chat_connections`, the link between a Slack
 * workspace or Teams tenant and an account (docs/security.md, docs/architecture.md
 * "Persistence"). Functions take the caller's connection or transaction.
 */

type Db = Knex | Knex.Transaction

/** The account linked to a workspace/tenant, or null; `forUpdate` locks the link for the caller's transaction. */
export async function findConnectedAccountId(db: Db, platform: ChatPlatform, externalId: string, opts: { forUpdate?: boolean } = {}): Promise<string | null> {
  const q = db('chat_connections').where({ platform, external_id: externalId })
  if (opts.forUpdate) q.forUpdate()
  const row = await q.first<{ account_id: string } | undefined>('account_id')
  return row?.account_id ?? null
}

/** Link a workspace/tenant to an account (the primary key refuses a second link of the same one). */
export async function insertChatConnection(trx: Knex.Transaction, link: { platform: ChatPlatform; externalId: string; accountId: string }): Promise<void> {
  await trx('chat_connections').insert({ platform: link.platform, external_id: link.externalId, account_id: link.accountId })
}

/** Remove a workspace's/tenant's link; returns whether there was one. */
export async function deleteChatConnection(trx: Knex.Transaction, platform: ChatPlatform, externalId: string): Promise<boolean> {
  return (await trx('chat_connections').where({ platform, external_id: externalId }).delete()) > 0
}

/** The workspaces/tenants of a platform linked to an account, oldest link first (chat_connections_account_idx). */
export async function findLinkedExternalIds(db: Db, platform: ChatPlatform, accountId: string): Promise<string[]> {
  const rows = await db('chat_connections').where({ platform, account_id: accountId }).orderBy([{ column: 'created_at' }, { column: 'external_id' }]).select<{ external_id: string }[]>('external_id')
  return rows.map((r) => r.external_id)
}

/**
 * Link a workspace/tenant to an account unless it is linked already (the primary key decides, so
 * of two concurrent links of one workspace exactly one is made). Returns the account it is linked
 * to afterwards: `accountId`, or the one that was there first.
 */
export async function insertChatConnectionIfAbsent(trx: Knex.Transaction, link: { platform: ChatPlatform; externalId: string; accountId: string }): Promise<string | null> {
  await trx('chat_connections').insert({ platform: link.platform, external_id: link.externalId, account_id: link.accountId }).onConflict(['platform', 'external_id']).ignore()
  return findConnectedAccountId(trx, link.platform, link.externalId)
}

/**
 * The links of `externalIds` on `platform` as a query to embed in another statement: it selects
 * `external_id` and `account_id` (as text) of those linked, with its bindings. The delivery
 * ledger (src/chat/deliveries.ts) reads a request's links in the statement that records the
 * request, so the request needs no round trip of its own for them. `externalIds` must not be empty.
 */
export function linkedAccountsQuery(platform: ChatPlatform, externalIds: readonly string[]): { sql: string; bindings: string[] } {
  if (externalIds.length === 0) throw new Error('linkedAccountsQuery: no external ids')
  return {
    sql: `SELECT external_id, account_id::text AS account_id FROM chat_connections
         WHERE platform = ? AND external_id IN (${externalIds.map(() => '?').join(', ')})`,
    bindings: [platform, ...externalIds],
  }
}
