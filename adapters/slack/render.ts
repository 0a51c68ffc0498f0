/**
 * Block Kit renderers: pure functions from the core's results to Slack messages (docs/architecture.md).
 * All Slack wording lives here: one exhaustive switch over `CommandOutcome.kind`, one over
 * `LifecycleFailure.code`, so a new kind or code does not compile until Slack says something
 * about it (docs/architecture.md).
 *
 * Limits respected (https://docs.slack.dev/reference/block-kit/blocks): ≤ 50 blocks per message,
 * section text ≤ 3000 characters, overflow menus hold 2 to 5 options, option values ≤ 75.
 */
import type { types as SlackTypes } from '@slack/bolt'
import type { CommandOutcome, ListFilter } from '../../src/commands/types.ts'
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import type { AuditEntry, GroupView, RowAction, UserView } from '../../src/invitations/model.ts'
import { ActionIds, encodeBlockId, encodeListTarget, encodeRowAction, listFilters, type Origin } from './actions.ts'
import { day, dayTime, displayName, joinedCell } from '../../src/users/joined-cell.ts'
import { esc, escLines, escName } from './format.ts'
import { oneLine } from '../../src/shared/names.ts'
import { describeFailure as describeChatFailure, type ChatStyle } from '../chat/describe-failure.ts'
import { filterLabels, rowActionLabels, platformLabel } from '../chat/labels.ts'
import type { ChatPresenter, PresentContext } from '../chat/ports.ts'
import type { NoticeDestinationView } from '../../src/notices/notice-destinations.ts'
import { SLACK } from './schemas.ts'
import type { WorkspaceGone } from './workspaces.ts'

type KnownBlock = SlackTypes.KnownBlock
type Button = SlackTypes.Button
type PlainTextOption = SlackTypes.PlainTextOption

/** A message body: `text` is the notification/accessibility fallback, `blocks` what Slack shows. */
export interface SlackMessage {
  text: string
  blocks: KnownBlock[]
}

/** How one outcome is shown. */
export interface Rendered {
  /** Only for the administrator who asked (ephemeral via `response_url`); null when `announce` says it all. */
  reply: SlackMessage | null
  /** For the whole channel: the outcome changed something. Never carries a link secret. */
  announce: SlackMessage | null
  /** One line, for the banner of a list or card updated in place after a click. */
  summary: string
}

export interface RenderContext {
  now: Date
  /** The Slack user id of the administrator who acted, mentioned in announcements. */
  actorUserId: string
  /** Where the click came from, so prompts can carry it on (defaults to a plain reply). */
  origin?: Origin
  /** The reader's time zone (Slack's `users.info` `tz`); UTC when not given. */
  timeZone?: string
}

/** Most history entries shown on a card, and audit entries in a reply (message size). */
const MAX_HISTORY = 10
const MAX_AUDIT = 25
/** Rows per list message: header, context, filter, banner, divider, paging leave room below 50. */
export const MAX_LIST_ROWS = 40

const plain = (text: string): SlackTypes.PlainTextElement => ({ type: 'plain_text', text: oneLine(text).slice(0, 75), emoji: true })
/**
 * Every mrkdwn object is `verbatim`: Slack then keeps formatting and our explicit `<…>` forms
 * (mentions, links) but does not turn bare web addresses, channel names or mentions in the text
 * into links (https://docs.slack.dev/reference/block-kit/composition-objects/text-object), so a
 * name or a bounce message can never become something to click. Nothing we write relies on that
 * automatic parsing.
 */
const mrkdwn = (text: string): SlackTypes.MrkdwnElement => ({ type: 'mrkdwn', text: text.slice(0, 3000), verbatim: true })
export const section = (text: string, extra: Partial<SlackTypes.SectionBlock> = {}): SlackTypes.SectionBlock => ({ type: 'section', text: mrkdwn(text), ...extra })
export const context = (text: string): SlackTypes.ContextBlock => ({ type: 'context', elements: [mrkdwn(text)] })

function message(text: string, blocks?: KnownBlock[]): SlackMessage {
  return { text, blocks: blocks ?? [section(text)] }
}

const mention = (userId: string): string => `<@${userId}>`
/** Inline code: user text stays escaped (Slack reads `<!here>` and friends even inside code). */
export const code = (text: string): string => `\`${esc(text.replace(/`/g, "'"))}\``

/** Words for every refusal of the core, in Slack's mrkdwn (adapters/chat/describe-failure.ts). */
export function describeFailure(failure: LifecycleFailure, now: Date, timeZone?: string): string {
  return describeChatFailure(failure, now, SLACK_STYLE, timeZone)
}

const SLACK_STYLE: ChatStyle = { esc, escName, code, strong: (text) => `*${text}*`, platform: 'Slack', place: 'workspace', connect: 'slack connect' }

/** A user's name for mrkdwn (escaped as a name), or their address while no name is known. */
function nameOf(user: UserView): string {
  const name = displayName(user)
  return name === user.email ? esc(name) : escName(name)
}

/** Group names for mrkdwn, comma separated. */
const groupList = (groups: readonly string[]): string => groups.map(escName).join(', ')

/** "valid until 3 Dec" for a user's current invitation. */
function validUntil(user: UserView, now: Date, zone?: string): string {
  return user.invitation ? `, valid until ${day(user.invitation.expiresAt, now, zone)}` : ''
}

/** Renders what a command produced. One case per `CommandOutcome.kind` (docs/architecture.md). */
export function renderOutcome(outcome: CommandOutcome, ctx: RenderContext): Rendered {
  const { now, actorUserId, timeZone: zone } = ctx
  const who = mention(actorUserId)
  switch (outcome.kind) {
    case 'help': {
      const text = 'InviteOps: manage your account’s invitations from Slack.'
      return {
        reply: message(text, [section(`*${text}*`), section('```' + escLines(outcome.usage) + '```')]),
        announce: null,
        summary: text,
      }
    }
    case 'usage': {
      const text = outcome.failure.message
      return {
        reply: message(text, [section(`:warning: ${esc(text)}`), section('Usage:\n```' + escLines(outcome.failure.usage) + '```')]),
        announce: null,
        summary: text,
      }
    }
    case 'refused': {
      const text = describeFailure(outcome.failure, now, zone)
      return { reply: message(text, [section(`:no_entry: ${text}`)]), announce: null, summary: text }
    }
    case 'list':
      return { reply: renderList(outcome, now, undefined, zone), announce: null, summary: `${outcome.total} users` }
    case 'show':
      return { reply: renderShow(outcome.user, outcome.history, now, undefined, zone), announce: null, summary: `${outcome.user.email}: ${joinedCell(outcome.user, now, zone)}` }
    case 'added': {
      const u = outcome.user
      const text = `${who} invited ${esc(u.email)} (${nameOf(u)}; ${groupList(u.groups)})${validUntil(u, now, zone)}`
      return { reply: null, announce: message(text), summary: `Invitation sent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'resent': {
      const u = outcome.user
      const text = `${who} resent the invitation to ${esc(u.email)}${validUntil(u, now, zone)}`
      return { reply: null, announce: message(text), summary: `Invitation resent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'regenerated': {
      const u = outcome.user
      const text = `${who} sent a new invitation to ${esc(u.email)}${validUntil(u, now, zone)}`
      return { reply: null, announce: message(text), summary: `New invitation sent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'link': {
      // The link is a secret: this goes to the asker only (ephemeral), never to `announce`.
      const u = outcome.user
      const text = `Invitation link for ${esc(u.email)}, valid until ${day(outcome.expiresAt, now, zone)}. Only you can see it.`
      return {
        reply: message(text, [
          section(`:link: Invitation link for *${esc(u.email)}*, valid until ${day(outcome.expiresAt, now, zone)}:`),
          section('```' + outcome.url + '```'),
          context('Only you can see this message. Send the link to them yourself: it lets whoever holds it join the account as this user.'),
        ]),
        announce: null,
        summary: `Link for ${esc(u.email)} shown to you only`,
      }
    }
    case 'edited': {
      const u = outcome.user
      const text = `${who} changed the groups of ${esc(u.email)} to ${groupList(u.groups)}`
      return { reply: null, announce: message(text), summary: `Groups of ${esc(u.email)} changed by ${who}: ${groupList(u.groups)}` }
    }
    case 'confirm_remove':
      return { reply: renderConfirmRemove(outcome.user, ctx.origin ?? { kind: 'reply' }), announce: null, summary: `Remove ${esc(outcome.user.email)}?` }
    case 'removed': {
      const u = outcome.user
      const text = `${who} removed ${esc(u.email)} from the account`
      return { reply: null, announce: message(text), summary: `${esc(u.email)} removed by ${who}` }
    }
    case 'groups':
      return { reply: renderGroups(outcome.groups), announce: null, summary: `${outcome.groups.length} groups` }
    case 'audit':
      return { reply: renderAudit(outcome.email, outcome.entries, now, zone), announce: null, summary: `${outcome.entries.length} audit entries` }
    case 'notices_set': {
      const d = outcome.destination
      const before = outcome.previous && outcome.previous.conversationId !== d.conversationId ? ` (instead of ${conversationName(outcome.previous)})` : ''
      const text = `${who} made ${conversationName(d)} the channel for InviteOps notices${before}: expired invitations, requests for a new one, answers and the daily digest.`
      return { reply: null, announce: message(text), summary: text }
    }
    case 'notices_off': {
      const text = outcome.previous
        ? `${who} turned InviteOps notices off in Slack: ${conversationName(outcome.previous)} gets no more. ${code('/invite notices here')} in a channel turns them on again.`
        : `InviteOps notices were already off in Slack. ${code('/invite notices here')} in a channel turns them on.`
      return outcome.previous ? { reply: null, announce: message(text), summary: text } : { reply: message(text), announce: null, summary: text }
    }
    case 'notices': {
      const lines = outcome.destinations.map((d) => `• ${esc(platformLabel(d.platform))}: ${conversationName(d)}${d.setBy ? ` (set by ${esc(d.setBy)}, ${day(d.updatedAt, now, zone)})` : ''}`)
      const heading = 'InviteOps notices go to'
      if (lines.length === 0) {
        const text = `InviteOps notices go nowhere yet. ${code('/invite notices here')} in a channel sends them there.`
        return { reply: message(text, [section(text)]), announce: null, summary: '0 notice destinations' }
      }
      // The fallback drops only our own bold heading: names in the lines keep what they hold.
      const fallback = `${heading}\n${lines.join('\n')}`
      return { reply: message(fallback, [section(`*${heading}*\n${lines.join('\n')}`)]), announce: null, summary: `${outcome.destinations.length} notice destinations` }
    }
    default: {
      const unreachable: never = outcome
      return unreachable
    }
  }
}

/** A destination's conversation: a Slack channel as a mention Slack shows by name, another platform's by its name. */
function conversationName(d: NoticeDestinationView): string {
  if (d.platform === SLACK && /^[CG][A-Z0-9]{2,}$/.test(d.conversationId)) return `<#${d.conversationId}>`
  return escName(d.conversationName ?? d.conversationId)
}

/** Who a button acts on: the ids its value carries and the email its confirmation dialog names. */
export interface ButtonTarget {
  userId: string
  email: string
  /** The invitation a regenerate or resend button is about (the core's idempotency key). */
  invitationId: string | null
  /** The expiry the message shows, carried by a resend button (a later one in the core: resent meanwhile). */
  expiresAt?: Date | null
}

function targetOf(user: UserView): ButtonTarget {
  return { userId: user.id, email: user.email, invitationId: user.invitation?.id ?? null, expiresAt: user.invitation?.expiresAt ?? null }
}

/** The value of a row action's button or menu option: the invitation key only where the core uses it. */
function rowValue(action: RowAction, target: ButtonTarget): string {
  if (action === 'regenerate') return encodeRowAction({ action, userId: target.userId, invitationId: target.invitationId })
  if (action === 'resend') return encodeRowAction({ action, userId: target.userId, invitationId: target.invitationId, expiresAt: target.expiresAt ?? null })
  return encodeRowAction({ action, userId: target.userId, invitationId: null })
}

/** A button for one row action. Remove carries Slack's confirmation dialog. */
export function actionButton(action: RowAction, target: ButtonTarget): Button {
  const button: Button = {
    type: 'button',
    action_id: action === 'remove' ? ActionIds.removeConfirmed : `${ActionIds.doPrefix}${action}`,
    text: plain(rowActionLabels[action].replace('…', '')),
    value: rowValue(action, target),
  }
  if (action === 'regenerate') button.style = 'primary'
  if (action === 'remove') {
    button.style = 'danger'
    button.confirm = removeDialog(target.email)
  }
  return button
}

function removeDialog(email: string): SlackTypes.ConfirmationDialog {
  return {
    title: plain('Remove user?'),
    // plain_text: Slack's confirmation dialog does not render mrkdwn (≤ 300 characters).
    text: { type: 'plain_text', text: `Remove ${email} from the account? A pending invitation link stops working and they get an email saying so. They can be invited again later.`.slice(0, 300), emoji: true },
    confirm: plain('Remove'),
    deny: plain('Cancel'),
    style: 'danger',
  }
}

/** The ••• menu of a row: exactly `user.actions`. A single action is a button (a menu needs 2 options). */
function rowAccessory(user: UserView): SlackTypes.Overflow | Button | undefined {
  const [only] = user.actions
  if (only === undefined) return undefined
  // Slack's overflow menu needs 2 to 5 options: a single action is a button (remove keeps its dialog).
  if (user.actions.length === 1) return actionButton(only, targetOf(user))
  const options: PlainTextOption[] = user.actions.slice(0, 5).map((action) => ({
    text: plain(rowActionLabels[action]),
    value: rowValue(action, targetOf(user)),
  }))
  return { type: 'overflow', action_id: ActionIds.rowMenu, options }
}

/** The web Users page as a message: filter, one row per user with its Joined cell and ••• menu, paging. */
export function renderList(list: Extract<CommandOutcome, { kind: 'list' }>, now: Date, banner?: string, zone?: string): SlackMessage {
  const origin: Origin = { kind: 'list', filter: list.filter, page: list.page }
  const pageCount = Math.max(1, list.pageCount)
  const text = `Users (${filterLabels[list.filter]}): ${list.total}, page ${list.page} of ${pageCount}`
  const filterOption = (f: ListFilter): PlainTextOption => ({ text: plain(filterLabels[f]), value: encodeListTarget(f, 1) })
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(`Users · ${filterLabels[list.filter]}`) },
    {
      type: 'section',
      block_id: encodeBlockId(origin, 'filter'),
      text: mrkdwn(`${list.total} ${list.total === 1 ? 'user' : 'users'} · page ${list.page} of ${pageCount}`),
      accessory: {
        type: 'static_select',
        action_id: ActionIds.listFilter,
        placeholder: plain('Filter by status'),
        initial_option: filterOption(list.filter),
        options: listFilters.map(filterOption),
      },
    },
  ]
  if (banner) blocks.push(context(banner))
  blocks.push({ type: 'divider' })
  if (list.users.length === 0) blocks.push(section('_No users match this filter._'))
  for (const user of list.users.slice(0, MAX_LIST_ROWS)) {
    const accessory = rowAccessory(user)
    blocks.push({
      type: 'section',
      block_id: encodeBlockId(origin, `row-${user.id}`),
      text: mrkdwn(`*${esc(user.email)}* · ${nameOf(user)}\n${groupList(user.groups) || '_no group_'}\n${joinedCell(user, now, zone)}`),
      ...(accessory ? { accessory } : {}),
    })
  }
  const paging: Button[] = []
  if (list.page > 1) paging.push({ type: 'button', action_id: ActionIds.listPrev, text: plain('◀ Previous'), value: encodeListTarget(list.filter, list.page - 1) })
  if (list.page < pageCount) paging.push({ type: 'button', action_id: ActionIds.listNext, text: plain('Next ▶'), value: encodeListTarget(list.filter, list.page + 1) })
  if (paging.length > 0) blocks.push({ type: 'actions', block_id: encodeBlockId(origin, 'paging'), elements: paging })
  return { text, blocks }
}

/** One user's card: details, recent history, and a button per action that applies now. */
export function renderShow(user: UserView, history: AuditEntry[], now: Date, banner?: string, zone?: string): SlackMessage {
  const origin: Origin = { kind: 'show', userId: user.id }
  const inv = user.invitation
  const fields: SlackTypes.MrkdwnElement[] = [
    mrkdwn(`*Name*\n${nameOf(user)}`),
    mrkdwn(`*Status*\n${joinedCell(user, now, zone)}`),
    mrkdwn(`*Groups*\n${groupList(user.groups) || '_none_'}`),
  ]
  if (inv) {
    fields.push(mrkdwn(`*Invited*\n${day(inv.createdAt, now, zone)}${inv.invitedBy ? ` by ${esc(inv.invitedBy)}` : ''}`))
    if (inv.delivery) fields.push(mrkdwn(`*Email*\n${inv.delivery.status}${inv.delivery.detail ? `: ${escName(inv.delivery.detail)}` : ''}`))
  }
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(user.email) }]
  if (banner) blocks.push(context(banner))
  blocks.push({ type: 'section', block_id: encodeBlockId(origin, 'details'), fields })
  if (history.length > 0) {
    const lines = history.slice(0, MAX_HISTORY).map((e) => `${dayTime(e.at, now, zone)} · ${esc(e.actor.email ?? e.actor.platformUserId)} · ${esc(e.action)}${e.ok ? '' : ` (refused: ${esc(e.resultCode)})`}`)
    blocks.push(context(`*History*\n${lines.join('\n')}`))
  }
  if (user.actions.length > 0) {
    blocks.push({ type: 'actions', block_id: encodeBlockId(origin, 'actions'), elements: user.actions.map((a) => actionButton(a, targetOf(user))) })
  }
  return { text: `${user.email}: ${joinedCell(user, now, zone)}`, blocks }
}

/** The question `remove` asks before acting (docs/commands.md), with Slack's own confirmation dialog. */
export function renderConfirmRemove(user: UserView, origin: Origin): SlackMessage {
  const text = `Remove ${user.email} from the account?`
  return {
    text,
    blocks: [
      section(`:warning: Remove *${esc(user.email)}* (${nameOf(user)}) from the account? A pending invitation link stops working and they get an email saying so.`),
      {
        type: 'actions',
        block_id: encodeBlockId(origin, 'confirm'),
        elements: [
          actionButton('remove', targetOf(user)),
          { type: 'button', action_id: ActionIds.removeCancel, text: plain('Cancel'), value: encodeRowAction({ action: 'remove', userId: user.id, invitationId: null }) },
        ],
      },
    ],
  }
}

function renderGroups(groups: GroupView[]): SlackMessage {
  if (groups.length === 0) return message('This account has no groups yet.')
  const lines = groups.map((g) => `• *${escName(g.name)}*${g.isAdmin ? ' (administrators)' : ''}: ${g.memberCount} ${g.memberCount === 1 ? 'member' : 'members'}`)
  return { text: `${groups.length} groups`, blocks: [section('*Groups*'), section(lines.join('\n'))] }
}

function renderAudit(email: string | null, entries: AuditEntry[], now: Date, zone?: string): SlackMessage {
  const title = email ? `Audit log for ${esc(email)}` : 'Audit log'
  if (entries.length === 0) return message(`${title}: nothing yet.`)
  const lines = entries.slice(0, MAX_AUDIT).map((e) => {
    const actor = esc(e.actor.email ?? `${e.actor.platform}:${e.actor.platformUserId}`)
    return `${dayTime(e.at, now, zone)} · ${actor} · ${esc(e.action)}${e.targetEmail ? ` ${esc(e.targetEmail)}` : ''} · ${e.ok ? 'ok' : esc(e.resultCode)}`
  })
  return { text: title, blocks: [section(`*${title}*`), section(lines.join('\n'))] }
}

/** What an unlinked workspace is told (docs/security.md): how the operator links it. */
export function renderNotLinked(teamId: string, channelId: string | null): SlackMessage {
  const cmd = `inviteops slack connect --team ${teamId} --account <account id or name>${channelId ? ` --channel ${channelId}` : ''}`
  const text = `This Slack workspace is not linked to an InviteOps account yet. An operator links it with: ${cmd}`
  return message(text, [section(':link: This Slack workspace is not linked to an InviteOps account yet. An operator links it by running:'), section('```' + cmd + '```')])
}

/**
 * What an unlinked workspace is told in distribution mode: the app is installed, and the link to
 * an account comes from an install link the operator creates for that account; opening it and
 * installing again links the workspace when the installer administers that account.
 */
export function renderNotLinkedDistribution(installUrl: string): SlackMessage {
  const cmd = 'inviteops slack install-link --account <account id or name>'
  const text = `This Slack workspace has InviteOps installed but is not linked to an InviteOps account yet. Ask your InviteOps operator for an install link (they create one with: ${cmd}) and open it: installing through it links this workspace to your account, if your Slack email is an administrator there. The plain install page (${installUrl}) does not link anything.`
  return message(text, [
    section(':link: This Slack workspace has InviteOps installed but is not linked to an InviteOps account yet.'),
    section(`Ask your InviteOps operator for an *install link* and open it: installing through it links this workspace to your account, if your Slack email is an administrator there. The operator creates one with:\n\`\`\`${cmd}\`\`\``),
  ])
}

/**
 * What a workspace without a working installation is told (distribution mode): a command is
 * answered in its ack and a click through its `response_url`, neither of which needs a token.
 */
export function renderNotInstalled(gone: WorkspaceGone, installUrl: string): SlackMessage {
  const what = (() => {
    switch (gone) {
      case 'not_installed':
        return 'InviteOps is not installed in this Slack workspace.'
      case 'uninstalled':
        return 'InviteOps was removed from this Slack workspace, so it cannot answer here.'
      case 'revoked':
        return "InviteOps's access to this Slack workspace was revoked, so it cannot answer here."
      case 'expired':
        return "InviteOps's access to this Slack workspace expired and could not be renewed, so it cannot answer here."
      default: {
        const unreachable: never = gone
        return unreachable
      }
    }
  })()
  const how = `To use it here, ask your InviteOps operator for an install link and open it (it also links this workspace to your InviteOps account), or reinstall the app from ${installUrl} .`
  return message(`${what} ${how}`, [section(`:electric_plug: ${what}`), section(`To use it here, ask your InviteOps operator for an *install link* and open it (it also links this workspace to your InviteOps account), or reinstall the app from <${installUrl}|the install page>.`)])
}

/** Why we cannot act for this Slack user, before the core is even asked (docs/security.md). */
export type IdentityProblem = 'deleted' | 'bot' | 'guest' | 'stranger' | 'no_email' | 'unconfirmed_email' | 'lookup_failed'

export function describeIdentityProblem(problem: IdentityProblem): string {
  switch (problem) {
    case 'deleted':
      return 'Your Slack account is deactivated.'
    case 'bot':
      return 'Bots and apps cannot manage invitations.'
    case 'guest':
      return 'Guests of this workspace cannot manage invitations.'
    case 'stranger':
      return 'Only members of this workspace can manage its invitations.'
    case 'no_email':
      return 'I cannot see the email of your Slack account (the app needs the `users:read.email` scope, and your profile an email).'
    case 'unconfirmed_email':
      return 'Your Slack email is not confirmed yet: confirm it, then try again.'
    case 'lookup_failed':
      return 'I could not check who you are with Slack just now. Please try again in a minute.'
    default: {
      const unreachable: never = problem
      return unreachable
    }
  }
}

/** A short, harmless answer to input we could not use (unknown button, stale message, bad payload). */
export function renderProblem(text: string): SlackMessage {
  return message(text, [section(`:warning: ${esc(text)}`)])
}

/** Prepends a banner line to a message (used when a click updates a card in place). */
export function withBanner(msg: SlackMessage, banner: string): SlackMessage {
  return { text: `${banner}\n${msg.text}`, blocks: [context(banner), ...msg.blocks] }
}

/** `callback_id` of the edit-groups modal. */
export const EDIT_MODAL_CALLBACK_ID = 'inviteops.edit'
/** Where the groups are in the modal's state. */
export const EDIT_MODAL_BLOCK_ID = 'groups'
export const EDIT_MODAL_ACTION_ID = 'groups'

/**
 * "Edit groups" from a ••• menu or a card: a modal with the account's groups, the user's ticked.
 * `privateMetadata` carries ids and the list to refresh (Slack returns it with the submission).
 */
export function renderEditModal(user: UserView, groups: GroupView[], privateMetadata: string): SlackTypes.ModalView {
  const option = (name: string): PlainTextOption => ({ text: plain(name), value: name.slice(0, 150) })
  const current = groups.filter((g) => user.groups.includes(g.name)).map((g) => option(g.name))
  return {
    type: 'modal',
    callback_id: EDIT_MODAL_CALLBACK_ID,
    title: plain('Edit groups'),
    submit: plain('Save'),
    close: plain('Cancel'),
    private_metadata: privateMetadata,
    blocks: [
      section(`Groups of *${esc(user.email)}* (${nameOf(user)}). Every user keeps at least one group.`),
      {
        type: 'input',
        block_id: EDIT_MODAL_BLOCK_ID,
        label: plain('Groups'),
        element: {
          type: 'multi_static_select',
          action_id: EDIT_MODAL_ACTION_ID,
          placeholder: plain('Choose groups'),
          options: groups.slice(0, 100).map((g) => option(g.name)),
          ...(current.length > 0 ? { initial_options: current } : {}),
        },
      },
    ],
  }
}

/** What the edit modal carries back to us (Slack returns it with the submission; schemas.ts parses it). */
export interface EditModalState {
  userId: string
  channelId: string | null
  responseUrl: string | null
  list: { filter: ListFilter; page: number } | null
}

/** A notice a click came from, as Slack sent it back: its blocks, and which block was clicked. */
interface NoticeSource {
  actions?: { block_id?: string }[]
  message?: { text?: string; blocks?: { block_id?: string }[] }
}

/**
 * Slack's presenter for the chat session (adapters/chat/ports.ts): Block Kit, with the reader's
 * time zone. A notice keeps its other rows after a click: only the clicked row's buttons give way
 * to the banner (Slack sends the message back with the click, so nothing is looked up again).
 */
export const slackPresenter: ChatPresenter<SlackMessage, SlackTypes.ModalView> = {
  outcome(outcome, ctx) {
    const rendered = renderOutcome(outcome, renderContext(ctx))
    return { private: rendered.reply, public: rendered.announce, summary: rendered.summary }
  },
  list: (list, ctx, banner) => renderList(list, ctx.now, banner, ctx.timeZone),
  show: (shown, ctx, banner) => renderShow(shown.user, shown.history, ctx.now, banner, ctx.timeZone),
  notice({ banner, source }) {
    const click = source as NoticeSource | undefined
    const blockId = click?.actions?.[0]?.block_id
    const blocks = click?.message?.blocks
    if (!blockId || !blocks?.some((b) => b.block_id === blockId)) return null
    const updated = blocks.map((b) => (b.block_id === blockId ? { type: 'context', block_id: blockId, elements: [{ type: 'mrkdwn', text: banner, verbatim: true }] } : b))
    // The blocks are Slack's copy of the notice we posted, passed back as they came.
    return { text: click?.message?.text ?? banner, blocks: updated as unknown as KnownBlock[] }
  },
  bannerOnly: (banner) => message(banner, [section(banner)]),
  problem: renderProblem,
  editForm(user, groups, ctx) {
    const state: EditModalState = { userId: user.id, channelId: null, responseUrl: null, list: ctx.origin.kind === 'list' ? { filter: ctx.origin.filter, page: ctx.origin.page } : null }
    return renderEditModal(user, groups, JSON.stringify(state))
  },
  // Slack shows a link to the asker alone, in place: never elsewhere.
  linkSentPrivately: (email) => renderProblem(`The invitation link for ${email} was shown to you only.`),
  banner: (tone, summary) => `${tone === 'done' ? ':white_check_mark:' : ':information_source:'} ${summary}`,
  noticesNeedMembership: () =>
    message(
      "The InviteOps app is not in this channel, so its notices cannot arrive here yet. Add it: mention @InviteOps in this channel (Slack offers to add it), or open the channel's details, Integrations, Add apps. This channel stays the destination.",
      [section(`:warning: The InviteOps app is not in this channel, so its notices cannot arrive here yet. Add it: mention ${code('@InviteOps')} in this channel (Slack offers to add it), or open the channel's details, *Integrations*, *Add apps*. This channel stays the destination.`)],
    ),
}

function renderContext(ctx: PresentContext): RenderContext {
  return { now: ctx.now, actorUserId: ctx.actor.platformUserId, origin: ctx.origin, timeZone: ctx.timeZone }
}
