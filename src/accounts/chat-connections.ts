import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-repository.ts'
import type { ChatPlatform } from '../chat/platform.ts'
import type { Actor } from '../invitations/model.ts'
import { isUuid } from '../shared/ids.ts'
import { storeNoticeDestination } from '../notices/notice-destinations.ts'
import { deleteChatConnection, findConnectedAccountId, findLinkedExternalIds, insertChatConnection } from './chat-connection-repository.ts'

export type { ChatPlatform } from '../chat/platform.ts'

export interface ChatConnection {
  accountId: string
}

/** The account a Slack workspace or Teams tenant is linked to (exactly one, docs/security.md). */
export async function findChatConnection(db: Knex | Knex.Transaction, platform: ChatPlatform, externalId: string): Promise<ChatConnection | null> {
  const accountId = await findConnectedAccountId(db, platform, externalId)
  return accountId === null ? null : { accountId }
}

/** The workspaces/tenants of a platform linked to an account, oldest link first. */
export async function listLinkedExternalIds(db: Knex | Knex.Transaction, platform: ChatPlatform, accountId: string): Promise<string[]> {
  if (!isUuid(accountId)) return []
  return findLinkedExternalIds(db, platform, accountId)
}

/** The operator, when no actor is named (`inviteops … connect`). */
const OPERATOR: Actor = { platform: 'cli', platformUserId: 'operator', email: null }

/**
 * Link a workspace/tenant to an account. Re-linking the same workspace to the same account
 * changes nothing; linking it to another account is refused (it would hand one account's
 * administrators another's users).
 *
 * `channelId` (`inviteops slack connect --channel`) also makes that conversation the account's
 * notice destination on the platform (docs/notices.md), in the same transaction, audited as
 * `notices.destination.set` by `actor` (default: the operator) at `now` (default: the system's
 * time). `reference` is stored with that destination, for a platform that needs more than the
 * conversation id to post there (the Slack CLI passes `{ teamId }`: which workspace's token posts).
 */
export async function connectChat(
  db: Knex,
  cmd: { platform: ChatPlatform; externalId: string; accountId: string; channelId: string | null; reference?: unknown; actor?: Actor; now?: Date },
): Promise<{ ok: true } | { ok: false; code: 'chat.linked_elsewhere'; accountId: string }> {
  return db.transaction(async (trx) => {
    const existing = await findConnectedAccountId(trx, cmd.platform, cmd.externalId, { forUpdate: true })
    if (existing !== null && existing !== cmd.accountId) return { ok: false, code: 'chat.linked_elsewhere', accountId: existing }
    if (existing === null) await insertChatConnection(trx, { platform: cmd.platform, externalId: cmd.externalId, accountId: cmd.accountId })
    if (cmd.channelId !== null) {
      const actor = cmd.actor ?? OPERATOR
      const now = cmd.now ?? new Date()
      const { previous } = await storeNoticeDestination(trx, {
        accountId: cmd.accountId,
        platform: cmd.platform,
        conversationId: cmd.channelId,
        conversationName: null,
        reference: cmd.reference ?? null,
        setBy: `${actor.platform}:${actor.platformUserId}`,
        now,
      })
      await recordAudit(trx, {
        accountId: cmd.accountId,
        at: now,
        actor,
        action: 'notices.destination.set',
        targetEmail: null,
        resultCode: 'notices.destination_set',
        ok: true,
        detail: { platform: cmd.platform, conversationId: cmd.channelId, previous: previous?.conversationId ?? null, via: `${cmd.platform} connect`, externalId: cmd.externalId },
      })
    }
    return { ok: true }
  })
}

/**
 * Remove the link of a workspace/tenant (`inviteops slack disconnect`): its requests are then told
 * it is not linked, and an install link of any account can link it again. With `accountId`, only
 * a link to that account is removed (a guard against a mistyped team id). Audited
 * `chat.disconnected` on the account it was linked to, by `actor` (default: the operator). The
 * workspace's installation, and the account's notice destination, are left as they are.
 */
export async function disconnectChat(
  db: Knex,
  cmd: { platform: ChatPlatform; externalId: string; accountId?: string | null; actor?: Actor; now?: Date },
): Promise<{ ok: true; accountId: string } | { ok: false; code: 'chat.not_linked' } | { ok: false; code: 'chat.linked_elsewhere'; accountId: string }> {
  return db.transaction(async (trx) => {
    const existing = await findConnectedAccountId(trx, cmd.platform, cmd.externalId, { forUpdate: true })
    if (existing === null) return { ok: false, code: 'chat.not_linked' }
    if (cmd.accountId != null && existing !== cmd.accountId) return { ok: false, code: 'chat.linked_elsewhere', accountId: existing }
    await deleteChatConnection(trx, cmd.platform, cmd.externalId)
    await recordAudit(trx, {
      accountId: existing,
      at: cmd.now ?? new Date(),
      actor: cmd.actor ?? OPERATOR,
      action: 'chat.disconnected',
      targetEmail: null,
      resultCode: 'chat.disconnected',
      ok: true,
      detail: { platform: cmd.platform, externalId: cmd.externalId },
    })
    return { ok: true, accountId: existing }
  })
}
