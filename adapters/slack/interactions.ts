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
import { createChatSession, SESSION_WORDS, type ChatClick } from '../chat/session.ts'
import { ActionIds, decodeListTarget, decodeOrigin, decodeRowAction, knownActionId } from './actions.ts'
import { slackActor, type IdentityResolver } from './identity.ts'
import { EDIT_MODAL_ACTION_ID, EDIT_MODAL_BLOCK_ID, EDIT_MODAL_CALLBACK_ID, describeIdentityProblem, renderNotLinked, slackPresenter, type EditModalState, type SlackMessage } from './render.ts'
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

export interface SlackHandlers {
  slashCommand(body: SlashCommandBody): Promise<void>
  blockAction(payload: BlockActionsPayload): Promise<void>
  /** Runs the edit before answering Slack (a refusal is shown in the modal); returns the ack body. */
  viewSubmission(payload: ViewSubmissionPayload): Promise<{ ack: ViewAck; after: () => Promise<void> }>
}

/**
 * `chat.postMessage` refusals that mean the app is not in the channel (or cannot see it): its
 * notices cannot arrive there until someone adds it
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
 */
const NOT_MEMBER_ERRORS = new Set(['not_in_channel', 'channel_not_found'])

/** Where one request came from and can be answered: what Slack's I/O for the session needs. */
interface RequestPlace {
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
    conversation: () => (channelId ? { platform: SLACK, id: channelId, name: place.channelName ?? null, reference: null } : null),
  }
}

export function createSlackHandlers(deps: Deps, io: SlackIO, identities: IdentityResolver): SlackHandlers {
  const log = deps.logger.child({ adapter: 'slack' })
  const session = createChatSession(deps, SLACK, slackPresenter)

  /** The session's caller; `null` after telling an unlinked workspace what to do. */
  async function caller(teamId: string, userId: string, userName: string | null, place: RequestPlace) {
    const accountId = await session.linkedAccount(teamId)
    if (!accountId) {
      if (place.responseUrl) await io.respond(place.responseUrl, { ...renderNotLinked(teamId, place.channelId), response_type: 'ephemeral', replace_original: false })
      return null
    }
    const identity = await identities.resolve(teamId, userId)
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
    async slashCommand(body) {
      const place: RequestPlace = { responseUrl: body.response_url, channelId: body.channel_id, channelName: body.channel_name ?? null, triggerId: body.trigger_id, origin: { kind: 'reply' } }
      const who = await caller(body.team_id, body.user_id, body.user_name ?? null, place)
      if (!who) return
      // Slack formats and escapes the text it sends; the core reads what the person typed. Only
      // this text needs it: the values of buttons, menus and the edit modal come back in JSON as
      // we wrote them (ids, group names), so they are not decoded.
      await session.typed(who, commandTextFromSlack(body.text), requestIO(io, place, log))
    },

    async blockAction(payload) {
      const responseUrl = payload.response_url
      const teamId = payload.team?.id ?? payload.user.team_id
      const action = payload.actions[0]
      if (!responseUrl || !teamId || !action) {
        log.warn({ hasResponseUrl: Boolean(responseUrl), teamId }, 'slack block_actions without response_url or team: ignored')
        return
      }
      const channelId = payload.channel?.id ?? payload.container?.channel_id ?? null
      const place: RequestPlace = { responseUrl, channelId, triggerId: payload.trigger_id ?? null, origin: decodeOrigin(action.block_id) }
      const who = await caller(teamId, payload.user.id, payload.user.username ?? payload.user.name ?? null, place)
      if (!who) return
      await session.click(who, clickOf(payload, action), requestIO(io, place, log))
    },

    async viewSubmission(payload) {
      const nothing = async () => {}
      const refuse = (text: string) => ({ ack: { response_action: 'errors' as const, errors: { [EDIT_MODAL_BLOCK_ID]: text } }, after: nothing })
      const teamId = payload.team?.id ?? payload.user.team_id
      const meta = EditModalMetadata.safeParse(safeJson(payload.view.private_metadata))
      if (payload.view.callback_id !== EDIT_MODAL_CALLBACK_ID || !teamId || !meta.success) return refuse(SESSION_WORDS.unknownForm)
      const { userId, channelId, responseUrl, list } = meta.data
      const origin: ChatOrigin = list ? { kind: 'list', filter: list.filter, page: list.page } : { kind: 'show', userId }
      const place: RequestPlace = { responseUrl, channelId, origin }
      const who = await caller(teamId, payload.user.id, payload.user.username ?? payload.user.name ?? null, place)
      if (!who) return refuse('I cannot find that user in the account linked to this workspace.')
      const chosen = payload.view.state.values[EDIT_MODAL_BLOCK_ID]?.[EDIT_MODAL_ACTION_ID]?.selected_options ?? []
      // Refusals are shown under the input, in Slack's own way (response_action: errors).
      const saved = await session.saveGroups(who, { userId, groupNames: chosen.map((o) => o.value), origin }, requestIO(io, place, log))
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
