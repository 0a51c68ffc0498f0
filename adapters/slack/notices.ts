/**
 * Slack's side of the notices (docs/notices.md): render an account's events as Block Kit
 * messages (render-notices.ts) and post one to the account's Slack destination. Everything else
 * (sweeps, fan-out, claims, grouping per account, spacing, fencing, retries) is the core's notices
 * job (src/notices/notices-job.ts), which calls this through the `ChatNotifier` port.
 */
import { WebClient } from '@slack/web-api'
import { LogLevel } from '@slack/bolt'
import type { ChatNotifier, NoticePostResult } from '../../src/notices/chat-notifier.ts'
import { SLACK_CALL_TIMEOUT_MS, type SlackConfig } from './config.ts'
import type { SlackMessage } from './render.ts'
import { renderNotices } from './render-notices.ts'
import { SLACK } from './schemas.ts'
import { describePostError } from './web-io.ts'

/** Slack allows about one message a second per channel; a little more keeps clear of it. */
export const SLACK_CONVERSATION_GAP_MS = 1100

export interface SlackNotifierOptions {
  /** Least time between two posts to one channel (default 1.1 s; tests pass 0). */
  conversationGapMs?: number
}

/**
 * The Slack `ChatNotifier`. Its Web API client is its own: it gives rate limits back to the job
 * (`rejectRateLimitedCalls`) instead of waiting inside the call, does not retry (the job's lease
 * is the retry, and a post is not idempotent), and gives up after `SLACK_CALL_TIMEOUT_MS`, so a
 * post that hangs cannot stall a round past its lease.
 */
export function createSlackNotifier(config: SlackConfig, opts: SlackNotifierOptions = {}): ChatNotifier<SlackMessage> {
  const client = new WebClient(config.botToken ?? undefined, {
    slackApiUrl: config.apiUrl,
    logLevel: LogLevel.ERROR,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: SLACK_CALL_TIMEOUT_MS,
  })
  return {
    platform: SLACK,
    conversationGapMs: opts.conversationGapMs ?? SLACK_CONVERSATION_GAP_MS,
    render: (events, ctx) => renderNotices(events, ctx),
    async post(destination, message): Promise<NoticePostResult> {
      try {
        await client.chat.postMessage({ channel: destination.conversationId, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false })
        return { ok: true }
      } catch (error) {
        const failed = describePostError(error)
        return { ok: false, error: failed.error, transient: failed.transient, retryAfterMs: failed.retryAfterMs }
      }
    },
  }
}
