/**
 * Teams renderers: pure functions from the core's results to Teams messages (docs/architecture.md). Text
 * (markdown, escaped) for confirmations, refusals and help; an Adaptive Card 1.4 for `list`,
 * `show`, the removal prompt and the edit form.
 *
 * All Teams wording lives here: one exhaustive switch over `CommandOutcome.kind`, one over
 * `LifecycleFailure.code`, so a new kind or code does not compile until Teams says something
 * about it (docs/architecture.md).
 *
 * Card limits: Teams accepts cards up to about 28 KB
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages);
 * a list page holds at most 50 users (the core's cap), with ids only in button data.
 */
import type { CommandOutcome } from '../../src/commands/types.ts'
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import type { AuditEntry, GroupView, RowAction, UserView } from '../../src/invitations/model.ts'
import { day, dayTime, displayName, joinedCell } from '../../src/users/joined-cell.ts'
import { describeFailure as describeChatFailure, type ChatStyle } from '../chat/describe-failure.ts'
import { filterLabels, rowActionLabels, platformLabel } from '../chat/labels.ts'
import { oneLine } from '../../src/shared/names.ts'
import { code, esc, escCard, escCardName, escName } from './format.ts'
import { invitationKey, INVITEOPS_VERB, listFilters, TEAMS, type CardOrigin, type CardValue } from './schemas.ts'
import type { NoticeDestinationView } from '../../src/notices/notice-destinations.ts'

/** An Adaptive Card element or action: plain JSON (Teams reads it; we only write it). */
export type CardElement = Record<string, unknown>

export interface AdaptiveCard {
  type: 'AdaptiveCard'
  $schema: string
  /** 1.5 where a card has `Action.Execute` buttons: Teams renders Universal Actions only on 1.5 cards. */
  version: '1.4' | '1.5'
  body: CardElement[]
  actions?: CardElement[]
  msteams?: { width: 'Full' }
}

/** What one answer is: markdown text, or a card with a text fallback (notifications, screen readers). */
export type TeamsMessage = { kind: 'text'; text: string } | { kind: 'card'; card: AdaptiveCard; text: string }

export interface Rendered {
  message: TeamsMessage
  /** One line, for the banner on top of a card updated in place after a click. */
  summary: string
}

export interface RenderContext {
  now: Date
  /** Who acted, as Teams names them, for confirmations ("Alice Admin sent …"). */
  actorName: string
  /** Where a click came from, carried on by prompts (removal, edit). */
  origin?: CardOrigin
  /** The reader's time zone (the activity's `clientInfo`); UTC when not given. */
  timeZone?: string
}

const MAX_HISTORY = 10
const MAX_AUDIT = 25

const text = (t: string): TeamsMessage => ({ kind: 'text', text: t })

/** Words for every refusal of the core, in Teams markdown (adapters/chat/describe-failure.ts). */
export function describeFailure(failure: LifecycleFailure, now: Date, timeZone?: string): string {
  return describeChatFailure(failure, now, TEAMS_STYLE, timeZone)
}

const TEAMS_STYLE: ChatStyle = { esc, escName, code, strong: (text) => `**${text}**`, platform: 'Teams', place: 'tenant', connect: 'teams connect' }

/** A user's name for a message (escaped as a name), or their address while no name is known. */
function nameText(user: UserView): string {
  const name = displayName(user)
  return name === user.email ? esc(name) : escName(name)
}

/** A user's name for a card. */
function nameCard(user: UserView): string {
  const name = displayName(user)
  return name === user.email ? escCard(name) : escCardName(name)
}

function validUntil(user: UserView, now: Date, zone?: string): string {
  return user.invitation ? `, valid until ${day(user.invitation.expiresAt, now, zone)}` : ''
}

/** A fenced block for usage and help (Teams markdown keeps it verbatim). */
const fenced = (body: string): string => '```\n' + body.replace(/```/g, "'''") + '\n```'

/** Renders what a command produced. One case per `CommandOutcome.kind` (docs/architecture.md). */
export function renderOutcome(outcome: CommandOutcome, ctx: RenderContext): Rendered {
  const { now, timeZone: zone } = ctx
  const who = `**${escName(ctx.actorName)}**`
  switch (outcome.kind) {
    case 'help': {
      const intro = 'InviteOps: manage your account’s invitations from Teams. Mention me in a channel (@InviteOps list) or write to me directly:'
      return { message: text(`${intro}\n\n${fenced(outcome.usage)}`), summary: intro }
    }
    case 'usage': {
      const msg = outcome.failure.message
      return { message: text(`⚠️ ${esc(msg)}\n\nUsage:\n\n${fenced(outcome.failure.usage)}`), summary: esc(msg) }
    }
    case 'refused': {
      const msg = describeFailure(outcome.failure, now, zone)
      return { message: text(`⛔ ${msg}`), summary: msg }
    }
    case 'list': {
      const card = renderList(outcome, now, undefined, zone)
      return { message: card, summary: `${outcome.total} users` }
    }
    case 'show':
      return { message: renderShow(outcome.user, outcome.history, now, undefined, zone), summary: `${esc(outcome.user.email)}: ${joinedCell(outcome.user, now, zone)}` }
    case 'added': {
      const u = outcome.user
      const msg = `${who} invited ${esc(u.email)} (${nameText(u)}; ${u.groups.map(escName).join(', ')})${validUntil(u, now, zone)}`
      return { message: text(msg), summary: `Invitation sent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'resent': {
      const u = outcome.user
      return { message: text(`${who} resent the invitation to ${esc(u.email)}${validUntil(u, now, zone)}`), summary: `Invitation resent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'regenerated': {
      const u = outcome.user
      return { message: text(`${who} sent a new invitation to ${esc(u.email)}${validUntil(u, now, zone)}`), summary: `New invitation sent to ${esc(u.email)} by ${who}${validUntil(u, now, zone)}` }
    }
    case 'link': {
      // The link is a secret: interactions.ts sends this only in a personal chat (docs/lifecycle.md).
      const u = outcome.user
      const msg = `🔗 Invitation link for **${esc(u.email)}**, valid until ${day(outcome.expiresAt, now, zone)}:\n\n${outcome.url}\n\nSend it to them yourself: it lets whoever holds it join the account as this user.`
      return { message: text(msg), summary: `Link for ${esc(u.email)} sent to you in a private chat` }
    }
    case 'edited': {
      const u = outcome.user
      return { message: text(`${who} changed the groups of ${esc(u.email)} to ${u.groups.map(escName).join(', ')}`), summary: `Groups of ${esc(u.email)} changed by ${who}: ${u.groups.map(escName).join(', ')}` }
    }
    case 'confirm_remove':
      return { message: renderConfirmRemove(outcome.user, ctx.origin ?? { kind: 'reply' }), summary: `Remove ${esc(outcome.user.email)}?` }
    case 'removed': {
      const u = outcome.user
      return { message: text(`${who} removed ${esc(u.email)} from the account`), summary: `${esc(u.email)} removed by ${who}` }
    }
    case 'groups':
      return { message: renderGroups(outcome.groups), summary: `${outcome.groups.length} groups` }
    case 'audit':
      return { message: renderAudit(outcome.email, outcome.entries, now, zone), summary: `${outcome.entries.length} audit entries` }
    case 'notices_set': {
      const d = outcome.destination
      const before = outcome.previous && outcome.previous.conversationId !== d.conversationId ? ` (instead of ${conversationName(outcome.previous)})` : ''
      const msg = `${who} made ${conversationName(d)} the conversation for InviteOps notices${before}: expired invitations, requests for a new one, answers and the daily digest.`
      return { message: text(msg), summary: msg }
    }
    case 'notices_off': {
      const msg = outcome.previous
        ? `${who} turned InviteOps notices off in Teams: ${conversationName(outcome.previous)} gets no more. ${code('/invite notices here')} in a channel turns them on again.`
        : `InviteOps notices were already off in Teams. ${code('/invite notices here')} in a channel turns them on.`
      return { message: text(msg), summary: msg }
    }
    case 'notices': {
      const lines = outcome.destinations.map((d) => `- ${esc(platformLabel(d.platform))}: ${conversationName(d)}${d.setBy ? ` (set by ${esc(d.setBy)}, ${day(d.updatedAt, now, zone)})` : ''}`)
      const msg = lines.length === 0 ? `InviteOps notices go nowhere yet. ${code('/invite notices here')} in a channel sends them there.` : `**InviteOps notices go to**\n\n${lines.join('\n')}`
      return { message: text(msg), summary: `${outcome.destinations.length} notice destinations` }
    }
    default: {
      const unreachable: never = outcome
      return unreachable
    }
  }
}

/** A destination's conversation, by the name it had when it was chosen (else its id). */
function conversationName(d: NoticeDestinationView): string {
  return `**${escName(d.conversationName ?? (d.platform === TEAMS ? 'a Teams conversation' : d.conversationId))}**`
}

/**
 * A card. Version 1.5: its buttons are `Action.Execute`, which Teams renders (and answers with an
 * invoke) only on cards that declare 1.5.
 */
function card(body: CardElement[], actions: CardElement[] = []): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: 'Full' },
  }
}

const block = (t: string, extra: CardElement = {}): CardElement => ({ type: 'TextBlock', text: t, wrap: true, ...extra })

/** The banner a click leaves on top of the card it updated ("New invitation sent …"). */
const bannerBlock = (banner: string): CardElement => ({ type: 'Container', style: 'emphasis', items: [block(banner, { weight: 'Bolder' })] })

/**
 * A button: an `Action.Execute` (Universal Actions) whose data is one of our `CardValue`s, parsed
 * again when it comes back. Teams merges the card's inputs (the filter, the groups) into the data.
 */
function submit(title: string, data: CardValue, style?: 'positive' | 'destructive'): CardElement {
  return { type: 'Action.Execute', title, verb: INVITEOPS_VERB, data, ...(style ? { style } : {}) }
}

/** The button for one row action; regenerate and resend carry the invitation (the core's idempotency key), resend the expiry shown too. */
export function rowButton(action: RowAction, user: UserView, origin: CardOrigin): CardElement {
  const key = invitationKey(action, user.invitation?.id ?? null, user.invitation?.expiresAt ?? null)
  const style = action === 'regenerate' ? 'positive' : action === 'remove' ? 'destructive' : undefined
  return submit(rowActionLabels[action], { inviteops: 'row', action, userId: user.id, ...key, origin }, style)
}

/** The web Users page as a card: filter, one row per user with its Joined cell and exactly its actions, paging. */
export function renderList(list: Extract<CommandOutcome, { kind: 'list' }>, now: Date, banner?: string, zone?: string): TeamsMessage {
  const origin: CardOrigin = { kind: 'list', filter: list.filter, page: list.page }
  const pageCount = Math.max(1, list.pageCount)
  const summary = `Users (${filterLabels[list.filter]}): ${list.total}, page ${list.page} of ${pageCount}`
  const body: CardElement[] = []
  if (banner) body.push(bannerBlock(banner))
  body.push(block(`Users · ${filterLabels[list.filter]}`, { size: 'Medium', weight: 'Bolder' }))
  body.push(block(`${list.total} ${list.total === 1 ? 'user' : 'users'} · page ${list.page} of ${pageCount}`, { isSubtle: true, spacing: 'None' }))
  body.push({
    type: 'ColumnSet',
    columns: [
      {
        type: 'Column',
        width: 'stretch',
        items: [{ type: 'Input.ChoiceSet', id: 'filter', style: 'compact', value: list.filter, choices: listFilters.map((f) => ({ title: filterLabels[f], value: f })) }],
      },
      { type: 'Column', width: 'auto', items: [{ type: 'ActionSet', actions: [submit('Filter', { inviteops: 'list.filter', filter: list.filter })] }] },
    ],
  })
  if (list.users.length === 0) body.push(block('_No users match this filter._', { separator: true }))
  for (const user of list.users) {
    const items: CardElement[] = [
      block(`**${escCard(user.email)}** · ${nameCard(user)}`),
      block(user.groups.map(escCardName).join(', ') || '_no group_', { isSubtle: true, spacing: 'None' }),
      block(joinedCell(user, now, zone), { spacing: 'None' }),
    ]
    if (user.actions.length > 0) items.push({ type: 'ActionSet', actions: user.actions.map((a) => rowButton(a, user, origin)) })
    body.push({ type: 'Container', separator: true, id: `row-${user.id}`, items })
  }
  const paging: CardElement[] = []
  if (list.page > 1) paging.push(submit('◀ Previous', { inviteops: 'list', filter: list.filter, page: list.page - 1 }))
  if (list.page < pageCount) paging.push(submit('Next ▶', { inviteops: 'list', filter: list.filter, page: list.page + 1 }))
  return { kind: 'card', card: card(body, paging), text: summary }
}

/** One user's card: details, recent history, and a button per action that applies now. */
export function renderShow(user: UserView, history: AuditEntry[], now: Date, banner?: string, zone?: string): TeamsMessage {
  const origin: CardOrigin = { kind: 'show', userId: user.id }
  const inv = user.invitation
  const facts = [
    { title: 'Name', value: nameCard(user) },
    { title: 'Status', value: joinedCell(user, now, zone) },
    { title: 'Groups', value: user.groups.map(escCardName).join(', ') || 'none' },
  ]
  if (inv) {
    facts.push({ title: 'Invited', value: `${day(inv.createdAt, now, zone)}${inv.invitedBy ? ` by ${escCard(inv.invitedBy)}` : ''}` })
    if (inv.delivery) facts.push({ title: 'Email', value: `${inv.delivery.status}${inv.delivery.detail ? `: ${escCardName(inv.delivery.detail)}` : ''}` })
  }
  const body: CardElement[] = []
  if (banner) body.push(bannerBlock(banner))
  body.push(block(escCard(user.email), { size: 'Medium', weight: 'Bolder' }))
  body.push({ type: 'FactSet', facts })
  if (history.length > 0) {
    body.push(block('History', { weight: 'Bolder', separator: true }))
    for (const e of history.slice(0, MAX_HISTORY)) {
      body.push(block(`${dayTime(e.at, now, zone)} · ${escCard(e.actor.email ?? e.actor.platformUserId)} · ${escCard(e.action)}${e.ok ? '' : ` (refused: ${escCard(e.resultCode)})`}`, { isSubtle: true, spacing: 'None', size: 'Small' }))
    }
  }
  return { kind: 'card', card: card(body, user.actions.map((a) => rowButton(a, user, origin))), text: `${user.email}: ${joinedCell(user, now, zone)}` }
}

/** The question `remove` asks before acting (docs/commands.md): a second card with Remove and Cancel. */
export function renderConfirmRemove(user: UserView, origin: CardOrigin): TeamsMessage {
  const body = [
    block(`⚠️ Remove **${escCard(user.email)}** (${nameCard(user)}) from the account?`, { weight: 'Bolder' }),
    block('A pending invitation link stops working and they get an email saying so. They can be invited again later.', { isSubtle: true }),
  ]
  const actions = [submit('Remove', { inviteops: 'remove.confirmed', userId: user.id, origin }, 'destructive'), submit('Cancel', { inviteops: 'cancel', origin })]
  return { kind: 'card', card: card(body, actions), text: `Remove ${user.email} from the account?` }
}

/** "Edit groups": the account's groups as a multi-select, the user's ticked (values are group ids). */
export function renderEditCard(user: UserView, groups: GroupView[], origin: CardOrigin): TeamsMessage {
  const current = groups.filter((g) => user.groups.includes(g.name)).map((g) => g.id)
  const body = [
    block(`Groups of **${escCard(user.email)}** (${nameCard(user)}). Every user keeps at least one group.`),
    { type: 'Input.ChoiceSet', id: 'groups', isMultiSelect: true, style: 'expanded', value: current.join(','), choices: groups.slice(0, 100).map((g) => ({ title: oneLine(g.name), value: g.id })) },
  ]
  const actions = [submit('Save', { inviteops: 'edit.save', userId: user.id, origin }, 'positive'), submit('Cancel', { inviteops: 'cancel', origin })]
  return { kind: 'card', card: card(body, actions), text: `Edit the groups of ${user.email}` }
}

function renderGroups(groups: GroupView[]): TeamsMessage {
  if (groups.length === 0) return text('This account has no groups yet.')
  const lines = groups.map((g) => `- **${escName(g.name)}**${g.isAdmin ? ' (administrators)' : ''}: ${g.memberCount} ${g.memberCount === 1 ? 'member' : 'members'}`)
  return text(`**Groups**\n\n${lines.join('\n')}`)
}

function renderAudit(email: string | null, entries: AuditEntry[], now: Date, zone?: string): TeamsMessage {
  const title = email ? `Audit log for ${esc(email)}` : 'Audit log'
  if (entries.length === 0) return text(`${title}: nothing yet.`)
  const lines = entries.slice(0, MAX_AUDIT).map((e) => {
    const actor = esc(e.actor.email ?? `${e.actor.platform}:${e.actor.platformUserId}`)
    return `- ${dayTime(e.at, now, zone)} · ${actor} · ${esc(e.action)}${e.targetEmail ? ` ${esc(e.targetEmail)}` : ''} · ${e.ok ? 'ok' : esc(e.resultCode)}`
  })
  return text(`**${title}**\n\n${lines.join('\n')}`)
}

/** A card replaced by what happened (no buttons left, so nobody acts twice). */
export function renderBannerOnly(banner: string): TeamsMessage {
  return { kind: 'card', card: card([bannerBlock(banner)]), text: banner }
}

/** What an unlinked tenant is told (docs/operations.md): how the operator links it. */
export function renderNotLinked(tenantId: string | null): TeamsMessage {
  if (!tenantId) return text('This message did not say which Microsoft 365 tenant it comes from, so I cannot tell which account it is for. Nothing was done.')
  return text(`🔗 This Microsoft 365 tenant is not linked to an InviteOps account yet. An operator links it by running:\n\n${fenced(`npx inviteops teams connect --tenant ${tenantId} --account <name>`)}`)
}

/** Why Teams could not vouch for the caller, before the core is even asked (docs/security.md). */
export type IdentityProblem = 'lookup_failed' | 'no_email' | 'guest' | 'stranger'

export function describeIdentityProblem(problem: IdentityProblem): string {
  switch (problem) {
    case 'lookup_failed':
      return 'I could not check who you are with Teams just now, so nothing was done. Please try again in a minute.'
    case 'no_email':
      return 'Teams does not show me an email for your account, so I cannot tell whether you are an administrator.'
    case 'guest':
      return 'Guests of this Teams organisation cannot manage invitations.'
    case 'stranger':
      return 'Only members of the organisation linked to this account can manage its invitations.'
    default: {
      const unreachable: never = problem
      return unreachable
    }
  }
}

/** A short, harmless answer to input we could not use (unknown button, stale card, bad payload). */
export function renderProblem(problem: string): TeamsMessage {
  return text(`⚠️ ${problem}`)
}

/** What a link asked for in a channel or group chat says there: where the link went, not the link. */
export function renderLinkSentPrivately(email: string, actorName: string): TeamsMessage {
  return text(`🔒 **${escName(actorName)}**, I sent you the invitation link for ${esc(email)} in a private chat: links are never posted where others can read them.`)
}

/** The one answer to an outage (logged with details; the user gets no stack trace). */
export const SOMETHING_WENT_WRONG = 'Something went wrong on our side. Check with `/invite show <email>` before trying again.'
