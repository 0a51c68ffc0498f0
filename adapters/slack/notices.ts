/**
 * Slack's side of the notices (docs/notices.md): render an account's events as Block Kit
 * messages (render-notices.ts) and post one to the account's Slack destination. Everything else
 * (sweeps, fan-out, claims, grouping per account, spacing, fencing, retries) is the core's notices
 * job (src/notices/notices-job.ts), which calls this through the `ChatNotifier` port.
 *
 * Which token posts: in one workspace mode, `SLACK_BOT_TOKEN`. In distribution mode, the token of
 * the destination's workspace: the one named in the destination's reference (stored by
 * `/invite notices here`), else the one workspace linked to the account. While that workspace has
 * no working installation (never installed, uninstalled, revoked) the notice is held: the job
 * keeps it, never gives it up, and it goes out once the workspace installs the app again.
 */
import { WebClient } from '@slack/web-api'
import { LogLevel } from '@slack/bolt'
import { linkedExternalIds } from '../../src/accounts/linked-account.ts'
import type { Deps } from '../../src/deps.ts'
import type { ChatNotifier, NoticeDestination, NoticePostResult } from '../../src/notices/chat-notifier.ts'
import { SLACK_CALL_TIMEOUT_MS, type SlackConfig } from './config.ts'
import type { SlackMessage } from './render.ts'
import { renderNotices } from './render-notices.ts'
import { SLACK, SlackDestinationReference } from './schemas.ts'
import { describePostError } from './web-io.ts'
import { createSlackWorkspaces, type SlackWorkspaces, type WorkspaceQuery } from './workspaces.ts'

/** Slack allows about one message a second per channel; a little more keeps clear of it. */
export const SLACK_CONVERSATION_GAP_MS = 1100

/**
 * `chat.postMessage` refusals that mean the token no longer works
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors): in distribution mode the
 * workspace uninstalled the app or revoked its token and the event has not reached us yet. The
 * notice is held like one for a workspace known to be uninstalled, rather than given up; the
 * workspace's clients have already marked its installation revoked (workspaces.ts), so the next
 * round holds its notices without calling Slack.
 */
const DEAD_TOKEN_ERRORS = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'team_access_not_granted'])

export interface SlackNotifierOptions {
  /** Least time between two posts to one channel (default 1.1 s; tests pass 0). */
  conversationGapMs?: number
  /** Distribution mode: the database and the rest, to find each workspace's installation. */
  deps?: Deps
  /** Distribution mode: the tokens of the workspaces (the edge shares its own); default built from `config`. */
  workspaces?: SlackWorkspaces
}

/**
 * The Slack `ChatNotifier`. Its Web API clients give rate limits back to the job
 * (`rejectRateLimitedCalls`) instead of waiting inside the call, do not retry (the job's lease
 * is the retry, and a post is not idempotent), and give up after `SLACK_CALL_TIMEOUT_MS`, so a
 * post that hangs cannot stall a round past its lease.
 */
export function createSlackNotifier(config: SlackConfig, opts: SlackNotifierOptions = {}): ChatNotifier<SlackMessage> {
  const post = config.oauth ? distributionPoster(config, opts) : oneWorkspacePoster(config)
  return {
    platform: SLACK,
    conversationGapMs: opts.conversationGapMs ?? SLACK_CONVERSATION_GAP_MS,
    render: (events, ctx) => renderNotices(events, ctx),
    post,
  }
}

type Poster = (destination: NoticeDestination, message: SlackMessage) => Promise<NoticePostResult>

async function postWith(client: WebClient, destination: NoticeDestination, message: SlackMessage): Promise<NoticePostResult> {
  try {
    await client.chat.postMessage({ channel: destination.conversationId, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false })
    return { ok: true }
  } catch (error) {
    const failed = describePostError(error)
    return { ok: false, error: failed.error, transient: failed.transient, retryAfterMs: failed.retryAfterMs }
  }
}

function oneWorkspacePoster(config: SlackConfig): Poster {
  const client = new WebClient(config.botToken ?? undefined, {
    slackApiUrl: config.apiUrl,
    logLevel: LogLevel.ERROR,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: SLACK_CALL_TIMEOUT_MS,
  })
  return (destination, message) => postWith(client, destination, message)
}

function distributionPoster(config: SlackConfig, opts: SlackNotifierOptions): Poster {
  if (!opts.deps) throw new Error("createSlackNotifier: distribution mode needs deps, to find each workspace's installation")
  const deps: Deps = opts.deps
  const workspaces = opts.workspaces ?? createSlackWorkspaces(deps, config)
  const log = deps.logger.child({ adapter: 'slack', part: 'notices' })

  /** The workspace whose token posts to `destination`, or why none can be chosen. */
  async function workspaceOf(destination: NoticeDestination): Promise<{ ok: true; query: WorkspaceQuery } | { ok: false; linked: number }> {
    const ref = SlackDestinationReference.safeParse(destination.reference)
    if (ref.success) return { ok: true, query: { teamId: ref.data.teamId, enterpriseId: ref.data.enterpriseId ?? null } }
    // Set before the reference was stored (`inviteops slack connect --channel`, or an older
    // deployment): the account's linked workspace, when there is exactly one.
    const linked = await linkedExternalIds(deps, SLACK, destination.accountId)
    const [only] = linked
    if (linked.length !== 1 || only === undefined) return { ok: false, linked: linked.length }
    // An organisation linked after an org-wide install is known by its `E…` id.
    return { ok: true, query: only.startsWith('E') ? { teamId: null, enterpriseId: only, isEnterpriseInstall: true } : { teamId: only, enterpriseId: null } }
  }

  return async (destination, message) => {
    let access
    let query: WorkspaceQuery
    try {
      const where = await workspaceOf(destination)
      if (!where.ok) {
        if (where.linked === 0) {
          // Linked again through an install link, the account's workspace releases the notice.
          return { ok: false, held: true, transient: true, error: 'no_linked_workspace', retryAfterMs: null }
        }
        // Which workspace's channel it is cannot be told: the administrators choose again.
        return { ok: false, transient: false, error: `account linked to ${where.linked} workspaces: set the notice channel again with /invite notices here`, retryAfterMs: null }
      }
      query = where.query
      access = await workspaces.access(query)
    } catch (error) {
      log.error({ accountId: destination.accountId, err: error instanceof Error ? error.message : String(error) }, 'slack notice: installation lookup failed')
      return { ok: false, transient: true, error: 'installation_lookup_failed', retryAfterMs: null }
    }
    if (!access.ok) return { ok: false, held: true, transient: true, error: `workspace_${access.gone}`, retryAfterMs: null }
    const posted = await postWith(access.clients.writes, destination, message)
    if (!posted.ok && DEAD_TOKEN_ERRORS.has(posted.error)) {
      log.warn({ accountId: destination.accountId, ...query, error: posted.error }, 'slack notice: the workspace token no longer works; held until the app is installed again')
      return { ...posted, held: true, transient: true }
    }
    return posted
  }
}
