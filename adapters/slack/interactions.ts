/**
 * Slack's edge of the chat session (adapters/chat/session.ts): a verified, acknowledged, zod-parsed
 * request becomes the session's caller and click, and the session's answers go out through
 * Slack's I/O (the `SlackIO` port, implemented in web-io.ts). Transport (Bolt, HTTP) stays in
 * router.ts, the words and blocks in render.ts.
 *
 * Where answers go (docs/security.md):
 *  - errors, help, lists, cards, copied links: ephemeral, to the administrator who asked
 *    (`response_url`); a link secret is never posted where others can read it;
 *  - state changes: confirmed in the channel (`chat.postMessage`, or an `in_channel` response
 *    when the bot is not a member of that channel);
 *  - a click updates the message it came from (`replace_original`): the list keeps its filter
 *    and page, a notice loses the clicked row's buttons so nobody acts twice (docs/notices.md).
 */
import type { types as SlackTypes } from '@slack/bolt'
import type { Deps } from '../../src/deps.ts'
import type { ChatIO, ChatOrigin } from '../chat/ports.ts'
import { createChatSession, SESSION_WORDS, type ChatClick, type KnownLinks } from '../chat/session.ts'
import { ActionIds, decodeListTarget, decodeOrigin, decodeRowAction, knownActionId } from './actions.ts'
import { slackActor, type SlackIdentity } from './identity.ts'
import { EDIT_MODAL_ACTION_ID, EDIT_MODAL_BLOCK_ID, EDIT_MODAL_CALLBACK_ID, describeIdentityProblem, renderNotLinked, renderNotLinkedDistribution, slackPresenter, type EditModalState, type SlackMessage } from './render.ts'
import { commandTextFromSlack } from './format.ts'
import { EditModalMetadata, SLACK, type BlockActionsPayload, type SlashCommandBody, type ViewSubmissionPayload } from './schemas.ts'

/** A body for `response_url` (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses). */
export interface ResponseBody extends SlackMessage {
  response_type?: 'ephemeral' | 'in_channel'
  replace_original?: boolean
  delete_original?: boolean
}

/** What `chat.postMessage` did. A refusal says whether trying again later may work. */
export type PostResult = { ok: true } | { ok: false; error: string; transient: boolean; retryAfterMs: number | null }

/** The Slack calls the adapter makes; implemented over fetch + WebClient in web-io.ts. */
export interface SlackIO {
  respond(responseUrl: string, body: ResponseBody | { delete_original: true }): Promise<void>
  postMessage(channel: string, message: SlackMessage): Promise<PostResult>
  openView(triggerId: string, view: SlackTypes.ModalView): Promise<void>
}

/** What a modal submission answers synchronously (Slack shows `errors` under the input). */
export type ViewAck = { response_action: 'errors'; errors: Record<string, string> } | null

/**
 * What one request is answered with: Slack's I/O and the identity lookup over the token of the
 * request's own workspace (workspaces.ts), so each workspace's calls carry its own token.
 */
export interface SlackRequestTools {
  io: SlackIO
  /** `users.info` for a member of `teamId` (cached per team and user: identity.ts). */
  identify(teamId: string, userId: string): Promise<SlackIdentity>
  /**
   * The links of the request's workspace and organisation (`linkIdsOf`), when the delivery
   * ledger's statement for this request read them (router.ts); otherwise they are read here.
   */
  links?: KnownLinks | null
}

/** The workspace (and Enterprise organisation) a request comes from. */
export interface SlackWorkspace {
  teamId: string
  enterpriseId: string | null
}

/** The workspace of a slash command. */
export function commandWorkspace(body: SlashCommandBody): SlackWorkspace {
  return { teamId: body.team_id, enterpriseId: body.enterprise_id ?? null }
}

/** The workspace of a click; null without a team (the click is then ignored). */
export function actionWorkspace(payload: BlockActionsPayload): SlackWorkspace | null {
  const teamId = payload.team?.id ?? payload.user.team_id
  if (!teamId) return null
  return { teamId, enterpriseId: payload.enterprise?.id ?? payload.team?.enterprise_id ?? null }
}

/** The external ids `linkedAccount` may ask about for a workspace: its team id, then its organisation's. */
export function linkIdsOf(workspace: SlackWorkspace): string[] {
  return workspace.enterpriseId && workspace.enterpriseId !== workspace.teamId ? [workspace.teamId, workspace.enterpriseId] : [workspace.teamId]
}

export interface SlackHandlers {
  slashCommand(body: SlashCommandBody, tools: SlackRequestTools): Promise<void>
  blockAction(payload: BlockActionsPayload, tools: SlackRequestTools): Promise<void>
  /** Runs the edit before answering Slack (a refusal is shown in the modal); returns the ack body. */
  viewSubmission(payload: ViewSubmissionPayload, tools: SlackRequestTools): Promise<{ ack: ViewAck; after: () => Promise<void> }>
}

export interface SlackHandlerOptions {
  /**
   * Distribution mode: an unlinked workspace is told to ask for an install link rather than for
   * `inviteops slack connect`, which only an operator of a one-workspace deployment runs.
   */
  distribution?: boolean
  /** The "Add to Slack" page (`${PUBLIC_BASE_URL}/slack/install`), named to unlinked workspaces in distribution mode. */
  installUrl?: string
}

/**
 * `chat.postMessage` refusals that mean the app is not in the channel (or cannot see it): its
 * notices cannot arrive there until someone adds it
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
 */
const NOT_MEMBER_ERRORS = new Set(['not_in_channel', 'channel_not_found'])

/** Where one request came from and can be answered: what Slack's I/O for the session needs. */
interface RequestPlace {
  /** The workspace (and its Enterprise organisation): stored with `/invite notices here`, so a notice is posted with this workspace's token. */
  workspace: SlackWorkspace
  responseUrl: string | null
  channelId: string | null
  channelName?: string | null
  triggerId?: string | null
  origin: ChatOrigin
}

/** The session's I/O over one Slack request. */
function requestIO(io: SlackIO, place: RequestPlace, log: Deps['logger']): ChatIO<SlackMessage, SlackTypes.ModalView> {
  const { responseUrl, channelId } = place
  const respond = async (body: ResponseBody) => {
    if (responseUrl) await io.respond(responseUrl, body)
  }
  const ephemeral = (message: SlackMessage) => respond({ ...message, response_type: 'ephemeral', replace_original: false })
  return {
    sharedCards: false,
    replyPrivately: ephemeral,
    async post(message) {
      // In the channel; when the bot is not a member there, an in-channel response instead.
      if (channelId) {
        const posted = await io.postMessage(channelId, message)
        if (posted.ok) return
        log.info({ channelId, error: posted.error }, 'chat.postMessage refused; answering in channel through response_url')
        await respond({ ...message, response_type: 'in_channel', replace_original: false })
        return NOT_MEMBER_ERRORS.has(posted.error) ? 'not_member' : undefined
      }
      await respond({ ...message, response_type: 'in_channel', replace_original: false })
    },
    async update(message, opts) {
      // Lists and cards are ephemeral (the caller's alone); a notice or prompt others may see is
      // left as it is when the update is for the caller only.
      const callersOwn = place.origin.kind === 'list' || place.origin.kind === 'show'
      if (opts?.onlyForCaller && !callersOwn) return ephemeral(message)
      await respond({ ...message, replace_original: true })
    },
    async openForm(view) {
      if (!place.triggerId) return false
      const state = EditModalMetadata.parse(JSON.parse(view.private_metadata ?? '{}'))
      const metadata: EditModalState = { ...state, channelId, responseUrl }
      await io.openView(place.triggerId, { ...view, private_metadata: JSON.stringify(metadata) })
      return true
    },
    async sendSecret(message) {
      // A new ephemeral message: never replace a message others might see with a link secret.
      await ephemeral(message)
      return 'here'
    },
    conversation: () => (channelId ? { platform: SLACK, id: channelId, name: place.channelName ?? null, reference: { teamId: place.workspace.teamId, enterpriseId: place.workspace.enterpriseId } } : null),
  }
}

export function createSlackHandlers(deps: Deps, opts: SlackHandlerOptions = {}): SlackHandlers {
  const log = deps.logger.child({ adapter: 'slack' })
  const session = createChatSession(deps, SLACK, slackPresenter)

  /**
   * The account of a workspace: linked by its team id, or (after an org-wide install of an
   * Enterprise Grid organisation) by its organisation's id.
   */
  async function linkedAccount(workspace: SlackWorkspace, known: KnownLinks | null): Promise<string | null> {
    const byTeam = await session.linkedAccount(workspace.teamId, known)
    if (byTeam || !workspace.enterpriseId || workspace.enterpriseId === workspace.teamId) return byTeam
    return session.linkedAccount(workspace.enterpriseId, known)
  }

  function notLinked(place: RequestPlace): SlackMessage {
    return opts.distribution ? renderNotLinkedDistribution(opts.installUrl ?? '/slack/install') : renderNotLinked(place.workspace.teamId, place.channelId)
  }

  /** The session's caller; `null` after telling an unlinked workspace what to do. */
  async function caller(tools: SlackRequestTools, userId: string, userName: string | null, place: RequestPlace) {
    const { teamId } = place.workspace
    const accountId = await linkedAccount(place.workspace, tools.links ?? null)
    if (!accountId) {
      if (place.responseUrl) await tools.io.respond(place.responseUrl, { ...notLinked(place), response_type: 'ephemeral', replace_original: false })
      return null
    }
    const identity = await tools.identify(teamId, userId)
    // Without a vouched email the core refuses (`auth.not_admin`) and audits the attempt.
    return session.caller(accountId, {
      actor: slackActor(userId, identity, userName),
      unvouched: identity.ok ? null : describeIdentityProblem(identity.problem),
      timeZone: identity.timeZone ?? null,
    })
  }

  /** What a block action asks, from its action id, block id and value (all ours, still parsed). */
  function clickOf(payload: BlockActionsPayload, action: NonNullable<BlockActionsPayload['actions'][0]>): ChatClick {
    const known = knownActionId.safeParse(action.action_id)
    if (!known.success) return { kind: 'unknown' }
    const id = known.data
    const origin = decodeOrigin(action.block_id)
    if (id === ActionIds.listFilter || id === ActionIds.listPrev || id === ActionIds.listNext) {
      const target = decodeListTarget(id === ActionIds.listFilter ? action.selected_option?.value : action.value)
      return target ? { kind: 'page', ...target } : { kind: 'stale' }
    }
    if (id === ActionIds.removeCancel) return { kind: 'cancel', origin, source: payload }
    const value = decodeRowAction(id === ActionIds.rowMenu ? action.selected_option?.value : action.value)
    if (!value) return { kind: 'stale' }
    const row = { kind: 'row' as const, action: value.action, userId: value.userId, invitationId: value.invitationId, seenExpiresAt: value.expiresAt ?? null, origin, source: payload }
    if (id === ActionIds.removeConfirmed) return value.action === 'remove' ? { ...row, confirmed: true } : { kind: 'stale' }
    if (id !== ActionIds.rowMenu && id !== `${ActionIds.doPrefix}${value.action}`) return { kind: 'stale' }
    // From the menu, remove asks first (the prompt's button carries Slack's confirm dialog).
    return { ...row, confirmed: false }
  }

  return {
    async slashCommand(body, tools) {
      const place: RequestPlace = { workspace: commandWorkspace(body), responseUrl: body.response_url, channelId: body.channel_id, channelName: body.channel_name ?? null, triggerId: body.trigger_id, origin: { kind: 'reply' } }
      const who = await caller(tools, body.user_id, body.user_name ?? null, place)
      if (!who) return
      // Slack formats and escapes the text it sends; the core reads what the person typed. Only
      // this text needs it: the values of buttons, menus and the edit modal come back in JSON as
      // we wrote them (ids, group names), so they are not decoded.
      await session.typed(who, commandTextFromSlack(body.text), requestIO(tools.io, place, log))
    },

    async blockAction(payload, tools) {
      const responseUrl = payload.response_url
      const workspace = actionWorkspace(payload)
      const action = payload.actions[0]
      if (!responseUrl || !workspace || !action) {
        log.warn({ hasResponseUrl: Boolean(responseUrl), teamId: workspace?.teamId }, 'slack block_actions without response_url or team: ignored')
        return
      }
      const channelId = payload.channel?.id ?? payload.container?.channel_id ?? null
      const place: RequestPlace = { workspace, responseUrl, channelId, triggerId: payload.trigger_id ?? null, origin: decodeOrigin(action.block_id) }
      const who = await caller(tools, payload.user.id, payload.user.username ?? payload.user.name ?? null, place)
      if (!who) return
      await session.click(who, clickOf(payload, action), requestIO(tools.io, place, log))
    },

    async viewSubmission(payload, tools) {
      const nothing = async () => {}
      const refuse = (text: string) => ({ ack: { response_action: 'errors' as const, errors: { [EDIT_MODAL_BLOCK_ID]: text } }, after: nothing })
      const teamId = payload.team?.id ?? payload.user.team_id
      const meta = EditModalMetadata.safeParse(safeJson(payload.view.private_metadata))
      if (payload.view.callback_id !== EDIT_MODAL_CALLBACK_ID || !teamId || !meta.success) return refuse(SESSION_WORDS.unknownForm)
      const { userId, channelId, responseUrl, list } = meta.data
      const origin: ChatOrigin = list ? { kind: 'list', filter: list.filter, page: list.page } : { kind: 'show', userId }
      const enterpriseId = payload.enterprise?.id ?? payload.team?.enterprise_id ?? null
      const place: RequestPlace = { workspace: { teamId, enterpriseId }, responseUrl, channelId, origin }
      const who = await caller(tools, payload.user.id, payload.user.username ?? payload.user.name ?? null, place)
      if (!who) return refuse('I cannot find that user in the account linked to this workspace.')
      const chosen = payload.view.state.values[EDIT_MODAL_BLOCK_ID]?.[EDIT_MODAL_ACTION_ID]?.selected_options ?? []
      // Refusals are shown under the input, in Slack's own way (response_action: errors).
      const saved = await session.saveGroups(who, { userId, groupNames: chosen.map((o) => o.value), origin }, requestIO(tools.io, place, log))
      return saved.ok ? { ack: null, after: saved.after } : refuse(saved.error)
    },
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
