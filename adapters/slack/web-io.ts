/**
 * The Slack calls InviteOps makes, over the Web API client and `fetch`: answers through
 * `response_url`, `chat.postMessage`, `views.open`. Used by the request handlers (router.ts) and
 * by the channel notices (notices.ts), which need to know whether a failed post is worth retrying.
 */
import { ErrorCode, type WebClient } from '@slack/web-api'
import type { Logger } from '../../src/ports/logger.ts'
import { SLACK_CALL_TIMEOUT_MS } from './config.ts'
import type { PostResult, ResponseBody, SlackIO } from './interactions.ts'

/**
 * Slack's own error names that mean "later" rather than "never"
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
 */
const TRANSIENT_PLATFORM_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'])

/** Sorts a Web API failure into a retryable one (rate limit, network, 5xx) or a lasting one (`not_in_channel`). */
export function describePostError(error: unknown): Extract<PostResult, { ok: false }> {
  const coded = error as { code?: unknown; data?: { error?: unknown }; retryAfter?: unknown; statusCode?: unknown; message?: unknown }
  switch (coded?.code) {
    case ErrorCode.RateLimitedError:
      return { ok: false, error: 'ratelimited', transient: true, retryAfterMs: typeof coded.retryAfter === 'number' ? coded.retryAfter * 1000 : null }
    case ErrorCode.PlatformError: {
      const name = typeof coded.data?.error === 'string' ? coded.data.error : 'unknown_error'
      return { ok: false, error: name, transient: TRANSIENT_PLATFORM_ERRORS.has(name), retryAfterMs: null }
    }
    case ErrorCode.HTTPError:
      return { ok: false, error: `http_${String(coded.statusCode)}`, transient: true, retryAfterMs: null }
    case ErrorCode.RequestError:
      return { ok: false, error: 'request_error', transient: true, retryAfterMs: null }
    default:
      return { ok: false, error: typeof coded?.message === 'string' ? coded.message.slice(0, 200) : 'unknown_error', transient: true, retryAfterMs: null }
  }
}

/** Host check for `response_url`: Slack's own hosts, or the host SLACK_API_URL points at. */
function allowedResponseUrl(url: string, apiUrl: string): boolean {
  try {
    const u = new URL(url)
    const api = new URL(apiUrl)
    if (u.host === api.host && u.protocol === api.protocol) return true
    return u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'))
  } catch {
    return false
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'invalid'
  }
}

export interface SlackResponderOptions {
  apiUrl: string
  logger: Logger
  fetch?: typeof fetch
  /** Deadline of one `response_url` post (default `SLACK_CALL_TIMEOUT_MS`). */
  responseUrlTimeoutMs?: number
}

export interface SlackIOOptions extends SlackResponderOptions {
  /**
   * For `chat.postMessage` and `views.open`, with the token of the request's workspace. Neither
   * is idempotent (a post that timed out may have reached Slack; a trigger_id is single-use), so
   * give it no retries of its own.
   */
  client: WebClient
}

/**
 * Answers through `response_url` only: it needs no token, so a workspace without a working
 * installation (uninstalled, revoked) can still be told how to reinstall.
 */
export function createSlackResponder(opts: SlackResponderOptions): Pick<SlackIO, 'respond'> {
  const { apiUrl, logger } = opts
  const doFetch = opts.fetch ?? fetch
  const responseUrlTimeoutMs = opts.responseUrlTimeoutMs ?? SLACK_CALL_TIMEOUT_MS
  return {
    async respond(responseUrl, body: ResponseBody | { delete_original: true }) {
      if (!allowedResponseUrl(responseUrl, apiUrl)) {
        logger.warn({ host: safeHost(responseUrl) }, 'response_url is not a Slack URL: not posting')
        return
      }
      // Slack allows 5 uses of a response_url within 30 minutes (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses).
      let res: Response
      try {
        res = await doFetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(responseUrlTimeoutMs) })
      } catch (error) {
        // The URL itself is a credential for 30 minutes: the host only, in the log and the error.
        const timedOut = error instanceof Error && error.name === 'TimeoutError'
        logger.warn({ host: safeHost(responseUrl), reason: timedOut ? 'timeout' : 'network', err: error instanceof Error ? error.message : String(error) }, 'response_url post failed')
        throw new Error(timedOut ? `response_url did not answer within ${responseUrlTimeoutMs} ms` : 'response_url could not be reached')
      }
      if (!res.ok) logger.warn({ status: res.status }, 'response_url answered with an error')
    },
  }
}

export function createSlackIO(opts: SlackIOOptions): SlackIO {
  const { client } = opts
  return {
    ...createSlackResponder(opts),
    async postMessage(channel, message) {
      try {
        await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false })
        return { ok: true }
      } catch (error) {
        return describePostError(error)
      }
    },
    async openView(triggerId, view) {
      await client.views.open({ trigger_id: triggerId, view })
    },
  }
}
