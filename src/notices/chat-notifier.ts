import type { ChatPlatform } from '../chat/platform.ts'
import type { AccountEvent } from './account-events.ts'

/**
 * Where one account's notices go on one platform: a conversation (a Slack channel, a Teams
 * channel or chat) chosen with `/invite notices here` or `inviteops slack connect --channel`.
 * `reference` is whatever the platform needs to post there unprompted, stored as the platform
 * gave it (Teams: the conversation reference with its service URL); null when an id suffices.
 */
export interface NoticeDestination {
  accountId: string
  platform: ChatPlatform
  conversationId: string
  reference: unknown
}

/**
 * What posting one message did. A refusal says whether trying again later may work, and when.
 * `held` (with `transient: true`): the destination cannot be posted to until something outside the
 * job changes (a Slack workspace uninstalled the app, revoked its token, or never installed it);
 * the notice waits, however long, and is never given up (docs/notices.md "Held notices").
 */
export type NoticePostResult = { ok: true } | { ok: false; error: string; transient: boolean; retryAfterMs: number | null; held?: boolean }

/** One message a platform will post, and the events it reports (closed once it is posted). */
export interface NoticeBatch<M> {
  message: M
  eventIds: string[]
}

/** What a renderer knows about the reader of a notice. */
export interface NoticeContext {
  now: Date
  /** The account's time zone (IANA name): a channel has many readers, so the account's zone is used. */
  timeZone: string
}

/**
 * The port through which the core's notices job (src/notices/notices-job.ts) reaches one chat
 * platform. The job sweeps, claims, groups, spaces, fences and retries; a notifier only renders
 * and posts. Implemented by each chat adapter (and by the tests' own platform).
 */
export interface ChatNotifier<M = unknown> {
  readonly platform: ChatPlatform
  /** Least time between two posts to one conversation (Slack: about one message a second). */
  readonly conversationGapMs: number
  /** An account's events of one round as a few grouped messages. Pure. */
  render(events: readonly AccountEvent[], ctx: NoticeContext): NoticeBatch<M>[]
  /** Post one message to a destination, within the platform's deadline. Never throws for a refusal. */
  post(destination: NoticeDestination, message: M): Promise<NoticePostResult>
}
