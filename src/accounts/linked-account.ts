import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import { findChatConnection, listLinkedExternalIds } from './chat-connections.ts'

/**
 * The account a Slack workspace or Teams tenant is linked to (exactly one, docs/security.md), or
 * null: the first question a chat request asks. The adapters' way in; the query behind it is the
 * core's (docs/architecture.md "Persistence").
 */
export async function linkedAccountId(deps: Pick<Deps, 'db'>, platform: ChatPlatform, externalId: string): Promise<string | null> {
  return (await findChatConnection(deps.db, platform, externalId))?.accountId ?? null
}

/**
 * The workspaces (or tenants) of a platform linked to an account, in a stable order: the Slack
 * notifier asks which workspace's bot token to post with when the destination does not say.
 */
export async function linkedExternalIds(deps: Pick<Deps, 'db'>, platform: ChatPlatform, accountId: string): Promise<string[]> {
  return listLinkedExternalIds(deps.db, platform, accountId)
}
