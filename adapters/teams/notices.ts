/**
 * The Teams `ChatNotifier` (src/notices/chat-notifier.ts): renders an account's notices as
 * Adaptive Cards (render-notices.ts) and posts them, unprompted, to the conversation chosen with
 * `/invite notices here` (docs/notices.md). The core's notices job does everything else: sweeps,
 * claims, grouping per round, spacing per conversation, fencing, retries.
 *
 * A proactive post needs what Teams gave when `/invite notices here` was typed: the conversation
 * reference (its service URL, conversation id, channel and bot), stored with the destination. The
 * post is botbuilder's `continueConversationAsync` (the bot's own token for that service URL),
 * then `POST {serviceUrl}/v3/conversations/{id}/activities`
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages),
 * under the connector deadline every Teams call has (router.ts, `TEAMS_DEADLINES`).
 *
 * What a refusal means (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit):
 *  - 429: Teams' rate limit; its `Retry-After` becomes the retry time;
 *  - 412, 5xx, a timeout, a network failure: transient, tried again later;
 *  - 401: the bot's credentials were refused: later (the operator fixes them for every account);
 *  - 403, 404: the bot was removed from the team or the channel is gone: permanent, and the
 *    error says what to do;
 *  - any other 4xx: permanent (the card was refused; retrying would not change that).
 */
import type { ConnectorClient } from 'botframework-connector'
import { z } from 'zod'
import type { Logger } from '../../src/ports/logger.ts'
import type { AccountEvent } from '../../src/notices/account-events.ts'
import type { ChatNotifier, NoticeBatch, NoticeContext, NoticeDestination, NoticePostResult } from '../../src/notices/chat-notifier.ts'
import type { TeamsConfig } from './config.ts'
import type { TeamsMessage } from './render.ts'
import { renderTeamsNotices } from './render-notices.ts'
import { createBotAdapter, TEAMS_DEADLINES, type TeamsCloudAdapter } from './router.ts'
import { connectorId, TEAMS } from './schemas.ts'
import { toActivity } from './turn-io.ts'

/**
 * Least time between two notices to one conversation. Teams limits a bot per conversation to
 * about 7 messages a second, 8 in 2 seconds and 60 in 30 seconds (the rate-limit page above); a
 * message every 600 ms (at most 50 in 30 s) stays under all three with room for the bot's own
 * answers to commands in the same channel. One round posts at most a few cards per account, so
 * the hourly limit (1800) is never near.
 */
export const TEAMS_CONVERSATION_GAP_MS = 600

/** When Teams says "later" without a usable Retry-After, the job's own retry delay applies. */
const NO_RETRY_AFTER = null

/** The bounds a Retry-After is clamped to. */
const MIN_RETRY_AFTER_MS = 1000
const MAX_RETRY_AFTER_MS = 60 * 60_000

/** Loopback hosts: the Bot Framework Emulator beside the bot, on plain http. */
const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/

/**
 * The Bot Framework service hosts a proactive post may go to: it carries the bot's bearer token,
 * so a stored reference (a database row) must never send it anywhere else. The Teams service of
 * the public cloud and of the US government clouds (GCC, GCC High, DoD), as Microsoft lists them
 * for proactive messages (Agents SDK `TeamsServiceEndpoints`), and the Bot Framework's own hosts
 * in the public, US government and China clouds.
 */
const SERVICE_HOSTS = new Set(['smba.trafficmanager.net', 'smba.infra.gcc.teams.microsoft.com', 'smba.infra.gov.teams.microsoft.us', 'smba.infra.dod.teams.microsoft.us'])
const SERVICE_DOMAINS = ['.botframework.com', '.botframework.azure.us', '.botframework.azure.cn']

/** Whether a proactive post may go to `url`: https to a Bot Framework service host, or http to loopback where allowed (the Emulator). */
export function isServiceUrlAllowed(url: URL, loopbackHttp: boolean): boolean {
  if (url.username !== '' || url.password !== '') return false
  if (url.protocol === 'http:') return loopbackHttp && LOOPBACK.test(url.hostname)
  if (url.protocol !== 'https:') return false
  const host = url.hostname.toLowerCase()
  return SERVICE_HOSTS.has(host) || SERVICE_DOMAINS.some((domain) => host.endsWith(domain)) || (loopbackHttp && LOOPBACK.test(host))
}

/**
 * The stored conversation reference, as far as a post needs it (botbuilder's
 * `TurnContext.getConversationReference`, saved by `/invite notices here`). Parsed again on each
 * post: it came from outside once, and a stored value may predate this code.
 */
function ConversationReference(opts: { loopbackHttp: boolean }) {
  return z.looseObject({
    serviceUrl: z
      .string()
      .max(2000)
      .refine((value) => {
        try {
          return isServiceUrlAllowed(new URL(value), opts.loopbackHttp)
        } catch {
          return false
        }
      }, 'not a Bot Framework service URL'),
    channelId: connectorId(100).optional(),
    conversation: z.looseObject({ id: connectorId(1000), isGroup: z.boolean().nullish(), conversationType: z.string().max(50).nullish(), tenantId: z.string().max(100).nullish() }),
    bot: z.looseObject({ id: connectorId(500), name: z.string().max(500).nullish() }).optional(),
  })
}

/** What a failed connector call carries (botframework-connector's RestError), read without trusting it. */
const ConnectorError = z.looseObject({
  statusCode: z.number().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  response: z.looseObject({ headers: z.unknown().optional() }).optional(),
})

export interface TeamsNotifierOptions {
  /** Deadline of one connector call (default `TEAMS_DEADLINES.connectorMs`). */
  connectorMs?: number
  /** Extra botbuilder authentication settings, as for the router (a government cloud). */
  authSettings?: Record<string, string>
  /** Least time between two posts to one conversation (default `TEAMS_CONVERSATION_GAP_MS`). */
  conversationGapMs?: number
  logger: Logger
  /** The clock for Retry-After given as a date (default `Date.now`). */
  nowMs?: () => number
}

/** The Teams notifier the notices job is given when Teams is enabled (adapters/server/start.ts). */
export function createTeamsNotifier(config: TeamsConfig, opts: TeamsNotifierOptions): ChatNotifier<TeamsMessage> {
  // No retries inside a call: the job retries, at the time Teams asks for (Retry-After), and a
  // post retried blindly after a 5xx could appear twice.
  const { adapter } = createBotAdapter(config, { connectorMs: opts.connectorMs ?? TEAMS_DEADLINES.connectorMs, authSettings: opts.authSettings, retries: false })
  const reference = ConversationReference({ loopbackHttp: config.appId === null })
  const log = opts.logger.child({ adapter: 'teams', component: 'notices' })
  const nowMs = opts.nowMs ?? Date.now
  return {
    platform: TEAMS,
    conversationGapMs: opts.conversationGapMs ?? TEAMS_CONVERSATION_GAP_MS,
    render(events: readonly AccountEvent[], ctx: NoticeContext): NoticeBatch<TeamsMessage>[] {
      return renderTeamsNotices(events, ctx)
    },
    async post(destination: NoticeDestination, message: TeamsMessage): Promise<NoticePostResult> {
      const parsed = reference.safeParse(destination.reference)
      if (!parsed.success) {
        log.warn({ accountId: destination.accountId, issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'teams notice destination has no usable conversation reference')
        return { ok: false, transient: false, retryAfterMs: null, error: 'the stored conversation reference is unusable; send `/invite notices here` in the channel again' }
      }
      try {
        await postProactively(adapter, config.appId, parsed.data, message)
        return { ok: true }
      } catch (error) {
        const result = describePostError(error, nowMs())
        if (!result.ok) log.info({ accountId: destination.accountId, error: result.error, transient: result.transient }, 'teams notice not posted')
        return result
      }
    },
  }
}

type Reference = z.infer<ReturnType<typeof ConversationReference>>

/**
 * One proactive message. The conversation id loses a channel thread's `;messageid=…` suffix (what
 * `/invite notices here` typed inside a thread gives), and no reply-to id is set, so each notice
 * is a new post in the channel rather than a reply buried in the thread where it was set up.
 */
async function postProactively(adapter: TeamsCloudAdapter, appId: string | null, ref: Reference, message: TeamsMessage): Promise<void> {
  const conversationId = ref.conversation.id.replace(/;messageid=\d+$/, '')
  const conversation = { id: conversationId, isGroup: ref.conversation.isGroup ?? true, conversationType: ref.conversation.conversationType ?? 'channel', tenantId: ref.conversation.tenantId ?? undefined, name: '' }
  const bot = ref.bot ? { id: ref.bot.id, name: ref.bot.name ?? 'InviteOps' } : undefined
  await adapter.continueConversationAsync(appId ?? '', { channelId: ref.channelId ?? 'msteams', serviceUrl: ref.serviceUrl, conversation, ...(bot ? { bot } : {}) }, async (context) => {
    // The turn's own client (its token, its deadline): `sendToConversation`, a new post, where
    // `context.sendActivity` would reply to the continuation's made-up activity id.
    const client = context.turnState.get<ConnectorClient>(adapter.ConnectorClientKey)
    await client.conversations.sendToConversation(conversationId, { ...toActivity(message), ...(bot ? { from: bot } : {}), conversation })
  })
}

/**
 * What a failed post means for the job: later (with Retry-After when Teams gave one) or never,
 * with a note saying what to do. The note does not name the platform: the job prefixes it.
 * Exported for the tests of unusual errors.
 */
export function describePostError(error: unknown, nowMs: number): Extract<NoticePostResult, { ok: false }> {
  const shape = ConnectorError.safeParse(error)
  const status = shape.success ? shape.data.statusCode : undefined
  const detail = (shape.success ? (shape.data.code ?? shape.data.message) : undefined) ?? (error instanceof Error ? error.message : String(error))
  if (status === 429) return { ok: false, transient: true, retryAfterMs: retryAfterMs(shape.success ? shape.data.response?.headers : undefined, nowMs), error: 'rate limited (429)' }
  if (status === undefined || status >= 500 || status === 412) {
    return { ok: false, transient: true, retryAfterMs: NO_RETRY_AFTER, error: `${status ? `http_${status}` : 'no answer'} (${detail.slice(0, 100)})` }
  }
  if (status === 403 || status === 404) {
    return { ok: false, transient: false, retryAfterMs: null, error: `http_${status}: the bot is no longer in that conversation; add InviteOps to the team again, then send \`/invite notices here\` in the channel` }
  }
  // The bot's own credentials were refused: every account's notices fail alike until the operator
  // fixes them, so they wait (up to the job's give-up) rather than being closed at once.
  if (status === 401) return { ok: false, transient: true, retryAfterMs: null, error: 'http_401: the bot could not sign in; check MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD' }
  return { ok: false, transient: false, retryAfterMs: null, error: `http_${status} (${detail.slice(0, 100)})` }
}

/** `Retry-After` (seconds, or an HTTP date) from the connector's response headers, in ms; null when absent or unreadable. */
function retryAfterMs(headers: unknown, nowMs: number): number | null {
  const raw = headerValue(headers, 'retry-after')
  if (raw === null) return null
  const trimmed = raw.trim()
  const ms = /^\d{1,7}$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - nowMs
  // A date already past (or "0") means "now", which would hammer Teams: at least a second; an
  // absurd wait would hold the account's notices for days: at most an hour.
  return Number.isNaN(ms) ? null : Math.min(Math.max(ms, MIN_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS)
}

/** One header from the Azure pipeline's headers (an object with `get`), or a plain record. */
function headerValue(headers: unknown, name: string): string | null {
  if (typeof headers !== 'object' || headers === null) return null
  const getter = (headers as { get?: unknown }).get
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name)
    return typeof value === 'string' ? value : null
  }
  const value = (headers as Record<string, unknown>)[name] ?? (headers as Record<string, unknown>)[name.replace(/(^|-)([a-z])/g, (_m: string, dash: string, c: string) => `${dash}${c.toUpperCase()}`)]
  return typeof value === 'string' ? value : null
}
