/**
 * What the Slack adapter does with a verified, acknowledged, zod-parsed request: find the linked
 * account, find who is asking, build the command, run it in the core, render, deliver.
 * Transport (Bolt, HTTP) stays in router.ts; Slack I/O goes through the `SlackIO` port so the
 * flow reads top to bottom.
 *
 * Where answers go (docs/security.md):
 *  - errors, help, lists, cards, copied links: ephemeral, to the administrator who asked
 *    (`response_url`); a link secret is never posted where others can read it;
 *  - state changes: confirmed in the channel (`chat.postMessage`, or an `in_channel` response
 *    when the bot is not a member of that channel);
 *  - a click updates the message it came from (`replace_original`): the list keeps its filter
 *    and page, a notice loses its buttons so nobody acts twice (docs/notices.md).
 */
import { findChatConnection } from '../../src/accounts/chat-connections.ts'
import { runCommand, runCommandText } from '../../src/commands/run-command.ts'
import { rowActionCommand, type CommandOutcome, type ListFilter } from '../../src/commands/types.ts'
import type { Deps } from '../../src/deps.ts'
import { alreadySettled } from '../../src/invitations/failures.ts'
import type { Actor, UserView } from '../../src/invitations/model.ts'
import { queryUserViews } from '../../src/users/user-repository.ts'
import type { types as SlackTypes } from '@slack/bolt'
import { ActionIds, decodeListTarget, decodeOrigin, decodeRowAction, knownActionId, type Origin, type RowActionValue } from './actions.ts'
import { slackActor, type IdentityResolver, type SlackIdentity } from './identity.ts'
import {
  EDIT_MODAL_ACTION_ID,
  EDIT_MODAL_BLOCK_ID,
  EDIT_MODAL_CALLBACK_ID,
  describeIdentityProblem,
  renderEditModal,
  renderList,
  renderNotLinked,
  renderOutcome,
  renderProblem,
  renderShow,
  type SlackMessage,
} from './render.ts'
import { commandTextFromSlack } from './format.ts'
import { EditModalMetadata, type BlockActionsPayload, type SlashCommandBody, type ViewSubmissionPayload } from './schemas.ts'

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface Caller {
  accountId: string
  actor: Actor
  identity: SlackIdentity
  userId: string
}

export function createSlackHandlers(deps: Deps, io: SlackIO, identities: IdentityResolver): SlackHandlers {
  const log = deps.logger.child({ adapter: 'slack' })

  /** The linked account and the actor; `null` after telling an unlinked workspace what to do. */
  async function caller(teamId: string, userId: string, userName: string | null, channelId: string | null, responseUrl: string | null): Promise<Caller | null> {
    const link = await findChatConnection(deps.db, 'slack', teamId)
    if (!link) {
      log.info({ teamId }, 'slack request from an unlinked workspace')
      if (responseUrl) await io.respond(responseUrl, { ...renderNotLinked(teamId, channelId), response_type: 'ephemeral', replace_original: false })
      return null
    }
    const identity = await identities.resolve(teamId, userId)
    // Without a vouched email the core refuses (`auth.not_admin`) and audits the attempt.
    return { accountId: link.accountId, actor: slackActor(userId, identity, userName), identity, userId }
  }

  /** Adds why Slack could not vouch for the caller to a not-admin refusal. */
  function explain(outcome: CommandOutcome, who: Caller): CommandOutcome | { problem: string } {
    if (outcome.kind === 'refused' && outcome.failure.code === 'auth.not_admin' && !who.identity.ok) {
      return { problem: `${describeIdentityProblem(who.identity.problem)} Only an active administrator of this account can manage invitations.` }
    }
    return outcome
  }

  /** Ephemeral reply and channel confirmation for a fresh request (slash command). */
  async function deliver(outcome: CommandOutcome, who: Caller, responseUrl: string, channelId: string | null): Promise<void> {
    const explained = explain(outcome, who)
    if ('problem' in explained) {
      await io.respond(responseUrl, { ...renderProblem(explained.problem), response_type: 'ephemeral', replace_original: false })
      return
    }
    const rendered = renderOutcome(explained, { now: deps.clock.now(), actorUserId: who.userId })
    if (rendered.reply) await io.respond(responseUrl, { ...rendered.reply, response_type: 'ephemeral', replace_original: false })
    if (rendered.announce) await announce(rendered.announce, responseUrl, channelId)
  }

  /** Confirms a change in the channel; falls back to an in-channel response when the bot is not a member. */
  async function announce(message: SlackMessage, responseUrl: string | null, channelId: string | null): Promise<void> {
    if (channelId) {
      const posted = await io.postMessage(channelId, message)
      if (posted.ok) return
      log.info({ channelId, error: posted.error }, 'chat.postMessage refused; answering in channel through response_url')
    }
    if (responseUrl) await io.respond(responseUrl, { ...message, response_type: 'in_channel', replace_original: false })
  }

  async function listPage(who: Caller, filter: ListFilter, page: number): Promise<CommandOutcome> {
    return runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'list', filter, page } })
  }

  /**
   * Re-renders the message a click came from, with a banner saying what happened. A notice keeps
   * its other rows: only the clicked row's buttons give way to the banner.
   */
  async function refreshOrigin(who: Caller, origin: Origin, banner: string, responseUrl: string, source?: BlockActionsPayload): Promise<void> {
    const now = deps.clock.now()
    if (origin.kind === 'notice') {
      const blockId = source?.actions[0]?.block_id
      const blocks = source?.message?.blocks
      if (blockId && blocks?.some((b) => b.block_id === blockId)) {
        const updated = blocks.map((b) => (b.block_id === blockId ? { type: 'context', block_id: blockId, elements: [{ type: 'mrkdwn', text: banner, verbatim: true }] } : b))
        // The blocks are Slack's copy of the notice we posted, passed back as they came.
        await io.respond(responseUrl, { text: source?.message?.text ?? banner, blocks: updated as unknown as SlackMessage['blocks'], replace_original: true })
        return
      }
    }
    if (origin.kind === 'list') {
      const list = await listPage(who, origin.filter, origin.page)
      if (list.kind === 'list') {
        await io.respond(responseUrl, { ...renderList(list, now, banner), replace_original: true })
        return
      }
    }
    if (origin.kind === 'show') {
      const user = await userById(who.accountId, origin.userId)
      const shown = user ? await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'show', email: user.email } }) : null
      if (shown?.kind === 'show') {
        await io.respond(responseUrl, { ...renderShow(shown.user, shown.history, now, banner), replace_original: true })
        return
      }
    }
    // A notice or a one-off prompt: replaced by what happened, so its buttons are gone.
    await io.respond(responseUrl, { text: banner, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: banner, verbatim: true } }], replace_original: true })
  }

  /** The account's user behind an id from a button value, or null (another account's id included). */
  async function userById(accountId: string, userId: string): Promise<UserView | null> {
    if (!UUID.test(userId)) return null
    const { users } = await queryUserViews(deps.db, accountId, { now: deps.clock.now(), userIds: [userId] })
    return users[0] ?? null
  }

  async function ephemeral(responseUrl: string, text: string): Promise<void> {
    await io.respond(responseUrl, { ...renderProblem(text), response_type: 'ephemeral', replace_original: false })
  }

  /** One row action (menu, button, confirmed remove) on the user a value names. */
  async function rowAction(who: Caller, value: RowActionValue, origin: Origin, confirmed: boolean, payload: BlockActionsPayload, responseUrl: string): Promise<void> {
    const user = await userById(who.accountId, value.userId)
    if (!user) {
      log.warn({ userId: value.userId, accountId: who.accountId, slackUser: who.userId }, 'slack action on a user outside the linked account')
      await ephemeral(responseUrl, 'I cannot find that user in this account any more. Run `/invite list` for a fresh list.')
      return
    }
    const email = user.email
    const channelId = payload.channel?.id ?? payload.container?.channel_id ?? null
    const command = rowActionCommand(value.action, email)
    if (!command) {
      await openEditModal(who, user, payload, responseUrl, origin, channelId)
      return
    }
    const outcome = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command, confirmed, invitationId: value.invitationId })
    const explained = explain(outcome, who)
    if ('problem' in explained) {
      await ephemeral(responseUrl, explained.problem)
      return
    }
    const rendered = renderOutcome(explained, { now: deps.clock.now(), actorUserId: who.userId, origin })
    switch (explained.kind) {
      case 'link':
        // A new ephemeral message: never replace a message others might see with a link secret.
        if (rendered.reply) await io.respond(responseUrl, { ...rendered.reply, response_type: 'ephemeral', replace_original: false })
        return
      case 'confirm_remove':
        if (rendered.reply) await io.respond(responseUrl, { ...rendered.reply, replace_original: origin.kind !== 'reply' })
        return
      case 'refused': {
        const code = explained.failure.code
        const keepMessage = origin.kind === 'reply' ? code !== 'invitation.already_replaced' : origin.kind === 'notice' && !alreadySettled(code)
        if (keepMessage) {
          // Never let a refused click (a non-admin, a send limit) rewrite a message the channel shares.
          await ephemeral(responseUrl, rendered.summary)
        } else {
          // Someone acted first: the message the click came from is stale, show what happened.
          await refreshOrigin(who, origin, `:information_source: ${rendered.summary}`, responseUrl, payload)
        }
        return
      }
      default:
        if (rendered.announce) await announce(rendered.announce, null, channelId)
        await refreshOrigin(who, origin, `:white_check_mark: ${rendered.summary}`, responseUrl, payload)
    }
  }

  async function openEditModal(who: Caller, user: UserView, payload: BlockActionsPayload, responseUrl: string, origin: Origin, channelId: string | null): Promise<void> {
    // Both go through the core: the administrator check and the audit apply to opening it too.
    const shown = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'show', email: user.email } })
    const groups = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'groups' } })
    if (shown.kind !== 'show' || groups.kind !== 'groups') {
      const refused = shown.kind === 'show' ? groups : shown
      const explained = explain(refused, who)
      await ephemeral(responseUrl, 'problem' in explained ? explained.problem : renderOutcome(explained, { now: deps.clock.now(), actorUserId: who.userId }).summary)
      return
    }
    if (!payload.trigger_id) {
      await ephemeral(responseUrl, `Use \`/invite edit ${user.email} --group <name>\` to change the groups.`)
      return
    }
    const metadata: EditModalMetadata = {
      userId: user.id,
      channelId,
      responseUrl,
      list: origin.kind === 'list' ? { filter: origin.filter, page: origin.page } : null,
    }
    await io.openView(payload.trigger_id, renderEditModal(shown.user, groups.groups, JSON.stringify(metadata)))
  }

  return {
    async slashCommand(body) {
      const who = await caller(body.team_id, body.user_id, body.user_name ?? null, body.channel_id, body.response_url)
      if (!who) return
      // Slack formats and escapes the text it sends; the core reads what the person typed. Only
      // this text needs it: the values of buttons, menus and the edit modal come back in JSON as
      // we wrote them (ids, group names), so they are not decoded.
      const outcome = await runCommandText(deps, { accountId: who.accountId, actor: who.actor, text: commandTextFromSlack(body.text) })
      await deliver(outcome, who, body.response_url, body.channel_id)
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
      const who = await caller(teamId, payload.user.id, payload.user.username ?? payload.user.name ?? null, channelId, responseUrl)
      if (!who) return
      const known = knownActionId.safeParse(action.action_id)
      if (!known.success) {
        await ephemeral(responseUrl, 'That button is not one I know (perhaps from an older version of this app). Nothing was done: run `/invite list` for fresh buttons.')
        return
      }
      const origin = decodeOrigin(action.block_id)
      const stale = () => ephemeral(responseUrl, 'That button does not carry what I expected, so nothing was done. Run `/invite list` for fresh buttons.')
      const id = known.data
      if (id === ActionIds.listFilter || id === ActionIds.listPrev || id === ActionIds.listNext) {
        const target = decodeListTarget(id === ActionIds.listFilter ? action.selected_option?.value : action.value)
        if (!target) return stale()
        const list = await listPage(who, target.filter, target.page)
        if (list.kind === 'list') {
          await io.respond(responseUrl, { ...renderList(list, deps.clock.now()), replace_original: true })
        } else {
          const explained = explain(list, who)
          await ephemeral(responseUrl, 'problem' in explained ? explained.problem : renderOutcome(explained, { now: deps.clock.now(), actorUserId: who.userId }).summary)
        }
        return
      }
      if (id === ActionIds.removeCancel) {
        if (origin.kind === 'reply') await io.respond(responseUrl, { delete_original: true })
        else await refreshOrigin(who, origin, 'Nothing was removed.', responseUrl)
        return
      }
      const value = decodeRowAction(id === ActionIds.rowMenu ? action.selected_option?.value : action.value)
      if (!value) return stale()
      if (id === ActionIds.removeConfirmed) {
        if (value.action !== 'remove') return stale()
        return rowAction(who, value, origin, true, payload, responseUrl)
      }
      if (id !== ActionIds.rowMenu && id !== `${ActionIds.doPrefix}${value.action}`) return stale()
      // From the menu, remove asks first (the prompt's button carries Slack's confirm dialog).
      return rowAction(who, value, origin, false, payload, responseUrl)
    },

    async viewSubmission(payload) {
      const nothing = async () => {}
      const teamId = payload.team?.id ?? payload.user.team_id
      const meta = EditModalMetadata.safeParse(safeJson(payload.view.private_metadata))
      if (payload.view.callback_id !== EDIT_MODAL_CALLBACK_ID || !teamId || !meta.success) {
        return { ack: { response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: 'This form is not one I know: close it and try again from `/invite list`.' } }, after: nothing }
      }
      const who = await caller(teamId, payload.user.id, payload.user.username ?? payload.user.name ?? null, meta.data.channelId, null)
      const user = who ? await userById(who.accountId, meta.data.userId) : null
      if (!who || !user) {
        return { ack: { response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: 'I cannot find that user in the account linked to this workspace.' } }, after: nothing }
      }
      const chosen = payload.view.state.values[EDIT_MODAL_BLOCK_ID]?.[EDIT_MODAL_ACTION_ID]?.selected_options ?? []
      const outcome = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'edit', email: user.email, groups: chosen.map((o) => o.value) } })
      const explained = explain(outcome, who)
      if ('problem' in explained) {
        return { ack: { response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: explained.problem } }, after: nothing }
      }
      const rendered = renderOutcome(explained, { now: deps.clock.now(), actorUserId: who.userId })
      if (explained.kind !== 'edited') {
        // Refusals are shown under the input, in Slack's own way (response_action: errors).
        return { ack: { response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: rendered.summary } }, after: nothing }
      }
      const responseUrl = meta.data.responseUrl
      const list = meta.data.list
      return {
        ack: null,
        after: async () => {
          if (rendered.announce) await announce(rendered.announce, null, meta.data.channelId)
          if (responseUrl) {
            const origin: Origin = list ? { kind: 'list', filter: list.filter, page: list.page } : { kind: 'show', userId: user.id }
            await refreshOrigin(who, origin, `:white_check_mark: ${rendered.summary}`, responseUrl)
          }
        },
      }
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
