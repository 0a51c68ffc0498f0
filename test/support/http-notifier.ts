/**
 * A chat platform of the tests' own for the notices job: it renders an account's events as one
 * plain message per event type and posts it as JSON over HTTP (played by nock in the tests), the
 * way a real platform adapter would: with a deadline, and an answer sorted into done, "later"
 * (429 with its Retry-After, 5xx, network) or "never" (other 4xx).
 */
import type { AccountEvent } from '../../src/notices/account-events.ts'
import type { ChatNotifier, NoticeBatch } from '../../src/notices/chat-notifier.ts'
import { formatDay } from '../../src/shared/dates.ts'

export const TEST_PLATFORM = 'test-chat'

export interface TestChatMessage {
  text: string
}

/** What the test platform's endpoint receives for one post. */
export interface TestChatPost {
  conversation: string
  reference: unknown
  text: string
}

function line(event: AccountEvent, now: Date, timeZone: string): string {
  switch (event.type) {
    case 'invitation.expired':
      return `expired: ${event.facts.email} (${formatDay(event.facts.expiredAt, now, timeZone)})`
    case 'invitations.expiring_soon':
      return `expiring soon: ${event.facts.invitations.map((i) => i.email).join(', ')} (${event.facts.day})`
    default:
      return `${event.type}: ${'email' in event.facts ? event.facts.email : ''}`
  }
}

/** The test platform's notifier, posting to `${baseUrl}/post`. */
export function createHttpNotifier(baseUrl: string, opts: { conversationGapMs?: number; timeoutMs?: number } = {}): ChatNotifier<TestChatMessage> {
  return {
    platform: TEST_PLATFORM,
    conversationGapMs: opts.conversationGapMs ?? 0,
    render(events, { now, timeZone }) {
      const byType = new Map<string, AccountEvent[]>()
      for (const e of events) byType.set(e.type, [...(byType.get(e.type) ?? []), e])
      return [...byType.values()].map((group): NoticeBatch<TestChatMessage> => ({ message: { text: group.map((e) => line(e, now, timeZone)).join('\n') }, eventIds: group.map((e) => e.id) }))
    },
    async post(destination, message) {
      const body: TestChatPost = { conversation: destination.conversationId, reference: destination.reference, text: message.text }
      try {
        const res = await fetch(`${baseUrl}/post`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
        })
        if (res.ok) return { ok: true }
        const retryAfter = Number(res.headers.get('retry-after'))
        if (res.status === 429) return { ok: false, error: 'rate_limited', transient: true, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null }
        return { ok: false, error: `http_${res.status}`, transient: res.status >= 500, retryAfterMs: null }
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.name : 'network', transient: true, retryAfterMs: null }
      }
    },
  }
}
