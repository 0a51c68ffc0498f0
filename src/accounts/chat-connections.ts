import type { Knex } from 'knex'

export type ChatPlatform = 'slack' | 'teams'

export interface ChatConnection {
  accountId: string
  channelId: string | null
}

/** The account a Slack workspace or Teams tenant is linked to (exactly one, docs/security.md). */
export async function findChatConnection(db: Knex | Knex.Transaction, platform: ChatPlatform, externalId: string): Promise<ChatConnection | null> {
  const row = await db('chat_connections')
    .where({ platform, external_id: externalId })
    .first<{ account_id: string; channel_id: string | null } | undefined>('account_id', 'channel_id')
  return row ? { accountId: row.account_id, channelId: row.channel_id } : null
}

/**
 * Link a workspace/tenant to an account. Re-linking the same workspace to the same account
 * updates the channel; linking it to another account is refused (it would hand one account's
 * administrators another's users).
 */
export async function connectChat(
  db: Knex,
  cmd: { platform: ChatPlatform; externalId: string; accountId: string; channelId: string | null },
): Promise<{ ok: true } | { ok: false; code: 'chat.linked_elsewhere'; accountId: string }> {
  return db.transaction(async (trx) => {
    const existing = await trx('chat_connections').where({ platform: cmd.platform, external_id: cmd.externalId }).forUpdate().first<{ account_id: string } | undefined>('account_id')
    if (existing && existing.account_id !== cmd.accountId) return { ok: false, code: 'chat.linked_elsewhere', accountId: existing.account_id }
    if (existing) {
      if (cmd.channelId !== null) await trx('chat_connections').where({ platform: cmd.platform, external_id: cmd.externalId }).update({ channel_id: cmd.channelId })
    } else {
      await trx('chat_connections').insert({ platform: cmd.platform, external_id: cmd.externalId, account_id: cmd.accountId, channel_id: cmd.channelId })
    }
    return { ok: true }
  })
}
