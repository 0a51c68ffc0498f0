/**
 * Channel notices as Adaptive Cards (docs/notices.md): what the notices job posts to an account's
 * Teams notice channel, grouped like Slack's (adapters/slack/render-notices.ts).
 *
 *  - Expired invitations, and invitees asking for a new one: a card with a row each (at most
 *    `MAX_NOTICE_ROWS`; the rest counted, with a pointer to `/invite list expired`), each row with
 *    **Send new invitation** and **Remove user…** (which asks first).
 *  - Accepted, declined, bounced and complained: lines of one activity card.
 *  - The daily digest: invitations expiring within 24 hours, each with **Resend invitation**.
 *
 * Every button is an `Action.Execute` (Universal Actions,
 * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/overview):
 * a click reaches the bot as an `adaptiveCard/action` invoke the bot answers with the updated card,
 * and the bot also updates the posted card for everyone. Its data holds ids only, and an origin
 * naming the notice and the users of its rows, so a click can re-render the whole card from the
 * current state of those users (`renderNoticeNow`): each row says what happened meanwhile, and
 * nobody acts twice.
 *
 * Pure: events (or users) in, cards out. Every value that came from a person is escaped for card
 * markdown; dates are in the account's time zone (a channel has many readers).
 */
import type { AccountEvent } from '../../src/notices/account-events.ts'
import { endpointDisabledFacts, expiredRows, renderNoticeGroups, requestedRows, type NoticeRow as Row, type ActivityEvent as Activity, type ExpiredEvent as Expired, type ExpiringSoonEvent as ExpiringSoon, type RequestedEvent as Requested } from '../chat/notice-events.ts'
import type { NoticeBatch, NoticeContext } from '../../src/notices/chat-notifier.ts'
import type { RowAction, UserView } from '../../src/invitations/model.ts'
import { formatDay, formatDayTime } from '../../src/shared/dates.ts'
import { joinedCell } from '../../src/users/joined-cell.ts'
import { rowActionLabels } from '../chat/labels.ts'
import type { NoticeKind } from '../chat/ports.ts'
import { escCard, escCardName } from './format.ts'
import { invitationKey, INVITEOPS_VERB } from './schemas.ts'
import type { AdaptiveCard, CardElement, TeamsMessage } from './render.ts'

/** Rows with buttons in one notice card (as on Slack; a card stays far below Teams' 28 KB). */
export const MAX_NOTICE_ROWS = 10
/** Lines in one activity card. */
export const MAX_ACTIVITY_LINES = 20

/** Where a click on a notice card came from: the notice and the users of its rows (≤ 10 ids). */
export interface NoticeOrigin {
  kind: 'notice'
  notice: NoticeKind
  userIds: string[]
}


/**
 * The cards for one account's events of one round: expiries first, then requests for a new
 * invitation, then the activity summary, then each digest. Nothing for no events.
 */
export function renderTeamsNotices(events: readonly AccountEvent[], ctx: NoticeContext): NoticeBatch<TeamsMessage>[] {
  return renderNoticeGroups(events, ctx, { expired: renderExpiryNotice, requested: renderRequestNotice, activity: renderActivity, digest: renderExpiringSoon })
}

/**
 * A notice card. Version 1.5: Teams renders `Action.Execute` (and answers its invoke) only on cards
 * that declare 1.5 (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards).
 */
function card(body: CardElement[]): AdaptiveCard {
  return { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body, msteams: { width: 'Full' } }
}

const block = (t: string, extra: CardElement = {}): CardElement => ({ type: 'TextBlock', text: t, wrap: true, ...extra })

/** A person's name and email for a card, or just the email when that is all we know. */
function who(name: string, email: string): string {
  return name === email ? `**${escCard(email)}**` : `**${escCardName(name)}** (${escCard(email)})`
}

/**
 * One `Action.Execute` of a notice row. Regenerate carries the expired invitation's id, resend the
 * pending one's and the expiry the card shows (the core's idempotency keys: a second click cannot
 * send a second email); remove only asks, the session's confirmation card acts.
 */
export function noticeButton(
  action: Extract<RowAction, 'regenerate' | 'remove' | 'resend'>,
  userId: string,
  invitationId: string | null,
  origin: NoticeOrigin,
  expiresAt: Date | null = null,
): CardElement {
  const style = action === 'regenerate' ? 'positive' : action === 'remove' ? 'destructive' : undefined
  return {
    type: 'Action.Execute',
    title: rowActionLabels[action],
    verb: INVITEOPS_VERB,
    data: { inviteops: 'row', action, userId, ...invitationKey(action, invitationId, expiresAt), origin },
    ...(style ? { style } : {}),
  }
}

/** The buttons a notice offers on a row. */
function rowButtons(notice: NoticeKind, userId: string, invitationId: string | null, origin: NoticeOrigin, expiresAt: Date | null): CardElement[] {
  if (notice === 'expiring_soon') return [noticeButton('resend', userId, invitationId, origin, expiresAt)]
  return [noticeButton('regenerate', userId, invitationId, origin), noticeButton('remove', userId, invitationId, origin)]
}

/**
 * One row of a notice card: who, a line of facts, and the buttons while they apply (or, instead,
 * what happened). The same layout when first posted and when re-rendered after a click; the
 * container's id (`row-<userId>`) finds the row again.
 */
export function noticeRow(opts: { userId: string; heading: string | null; facts: string; buttons: CardElement[]; banner?: string | null }): CardElement {
  const items: CardElement[] = []
  if (opts.heading) items.push(block(opts.heading))
  items.push(block(opts.facts, { isSubtle: true, spacing: 'None' }))
  if (opts.banner) items.push({ type: 'Container', style: 'emphasis', items: [block(opts.banner, { weight: 'Bolder' })] })
  if (opts.buttons.length > 0) items.push({ type: 'ActionSet', actions: opts.buttons })
  return { type: 'Container', id: `row-${opts.userId}`, separator: true, items }
}

interface Headings {
  one: (r: Row) => string
  many: (n: number) => string
  fallbackOne: (r: Row) => string
  fallbackMany: (n: number) => string
  /** What shows them all, for "…and N more". */
  more: string
}

/** A count, then a row each (capped), then how many more. One row: its heading says who. */
function grouped(notice: NoticeKind, rows: readonly Row[], headings: Headings): TeamsMessage {
  const shown = rows.slice(0, MAX_NOTICE_ROWS)
  const origin: NoticeOrigin = { kind: 'notice', notice, userIds: shown.map((r) => r.userId) }
  const [first] = rows
  const single = rows.length === 1 && first !== undefined
  const body: CardElement[] = [block(single ? headings.one(first) : headings.many(rows.length), { weight: 'Bolder' })]
  for (const row of shown) body.push(noticeRow({ userId: row.userId, heading: single ? null : who(row.name, row.email), facts: row.facts, buttons: rowButtons(notice, row.userId, row.invitationId, origin, null) }))
  if (rows.length > shown.length) body.push(block(`…and ${rows.length - shown.length} more. \`${headings.more}\` shows them all with their actions.`, { isSubtle: true, separator: true }))
  return { kind: 'card', card: card(body), text: single ? headings.fallbackOne(first) : headings.fallbackMany(rows.length) }
}

const EXPIRED_HEADINGS: Headings = {
  one: (r) => `⌛ The invitation of ${who(r.name, r.email)} has expired.`,
  many: (n) => `⌛ ${n} invitations have expired.`,
  fallbackOne: (r) => `The invitation of ${r.email} has expired.`,
  fallbackMany: (n) => `${n} invitations have expired.`,
  more: '/invite list expired',
}

const REQUESTED_HEADINGS: Headings = {
  one: (r) => `🙋 ${who(r.name, r.email)} asked for a new invitation.`,
  many: (n) => `🙋 ${n} people asked for a new invitation.`,
  fallbackOne: (r) => `${r.email} asked for a new invitation.`,
  fallbackMany: (n) => `${n} people asked for a new invitation.`,
  more: '/invite list expired',
}

/** Expired invitations: who, when invited, by whom, when it expired; oldest expiry first. */
export function renderExpiryNotice(events: readonly Expired[], ctx: NoticeContext): NoticeBatch<TeamsMessage> {
  const rows = expiredRows(events, ctx, escCard)
  return { message: grouped('expired', rows, EXPIRED_HEADINGS), eventIds: events.map((e) => e.id) }
}

/** Invitees who asked for a new invitation from their expired link's page. */
export function renderRequestNotice(events: readonly Requested[], ctx: NoticeContext): NoticeBatch<TeamsMessage> {
  const rows = requestedRows(events, ctx, escCard)
  return { message: grouped('requested', rows, REQUESTED_HEADINGS), eventIds: events.map((e) => e.id) }
}

function activityLine(event: Activity): string {
  switch (event.type) {
    case 'invitation.accepted':
      return `🎉 **${escCard(event.facts.email)}** accepted the invitation and joined.`
    case 'invitation.declined':
      return `🚫 **${escCard(event.facts.email)}** declined the invitation.`
    case 'email.bounced': {
      const reason = event.facts.detail ? ` (${escCardName(event.facts.detail.slice(0, 200))})` : ''
      const next = event.facts.suppressed
        ? `InviteOps will not email this address again: check it with \`/invite show ${escCard(event.facts.email)}\`.`
        : 'The address is not blocked: a later resend may get through.'
      return `⚠️ The invitation email to **${escCard(event.facts.email)}** bounced${reason}. ${next}`
    }
    case 'email.complained':
      return `⚠️ **${escCard(event.facts.email)}** reported the invitation email as spam. InviteOps will not email this address again.`
    case 'webhook.endpoint_disabled': {
      const { host, since, reason } = endpointDisabledFacts(event.facts)
      return `🚨 The webhook endpoint at **${escCard(host)}** was disabled: every delivery failed since ${since}${reason ? ` (last: ${escCardName(reason)})` : ''}. Your product hears nothing until your operator fixes the receiver and runs \`inviteops webhooks enable ${event.facts.endpointId}\`; events wait meanwhile.`
    }
    default: {
      const unreachable: never = event
      return unreachable
    }
  }
}

/** Accepted, declined, bounced and complained: one card, a line each (capped). */
export function renderActivity(events: readonly Activity[]): NoticeBatch<TeamsMessage> {
  const shown = events.slice(0, MAX_ACTIVITY_LINES)
  const body: CardElement[] = shown.map((e, i) => block(activityLine(e), i > 0 ? { spacing: 'Small' } : {}))
  if (events.length > shown.length) body.push(block(`…and ${events.length - shown.length} more. \`/invite audit\` lists everything.`, { isSubtle: true, separator: true }))
  const [first] = events
  const text = events.length === 1 && first ? plainActivity(first) : `${events.length} invitation updates`
  return { message: { kind: 'card', card: card(body), text }, eventIds: events.map((e) => e.id) }
}

/** The one-line summary of a single activity, for the card's fallback text (notifications). */
function plainActivity(event: Activity): string {
  switch (event.type) {
    case 'invitation.accepted':
      return `${event.facts.email} accepted the invitation and joined.`
    case 'invitation.declined':
      return `${event.facts.email} declined the invitation.`
    case 'email.bounced':
      return `The invitation email to ${event.facts.email} bounced.`
    case 'email.complained':
      return `${event.facts.email} reported the invitation email as spam.`
    case 'webhook.endpoint_disabled':
      return `The webhook endpoint at ${endpointDisabledFacts(event.facts).host} was disabled.`
    default: {
      const unreachable: never = event
      return unreachable
    }
  }
}

/** The daily digest: who is about to lose their link, each with Resend invitation. */
export function renderExpiringSoon(event: ExpiringSoon, ctx: NoticeContext): NoticeBatch<TeamsMessage> {
  const { now, timeZone } = ctx
  const { invitations, total } = event.facts
  const shown = invitations.slice(0, MAX_NOTICE_ROWS)
  const origin: NoticeOrigin = { kind: 'notice', notice: 'expiring_soon', userIds: shown.map((i) => i.userId) }
  const [first] = invitations
  const single = total === 1 && first !== undefined
  const heading = single ? `⏰ The invitation of ${who(first.name, first.email)} expires within 24 hours.` : `⏰ ${total} invitations expire within 24 hours. A resend gives the same link its full validity again.`
  const body: CardElement[] = [block(heading, { weight: 'Bolder' })]
  for (const inv of shown) {
    const facts = `Expires ${formatDayTime(inv.expiresAt, now, timeZone)}${inv.invitedByEmail ? ` · invited by ${escCard(inv.invitedByEmail)}` : ''}`
    body.push(noticeRow({ userId: inv.userId, heading: single ? null : who(inv.name, inv.email), facts, buttons: rowButtons('expiring_soon', inv.userId, inv.invitationId, origin, inv.expiresAt) }))
  }
  if (total > shown.length) body.push(block(`…and ${total - shown.length} more. \`/invite list invited\` shows them all.`, { isSubtle: true, separator: true }))
  const text = single ? `The invitation of ${first.email} expires within 24 hours.` : `${total} invitations expire within 24 hours.`
  return { message: { kind: 'card', card: card(body), text }, eventIds: [event.id] }
}

/** What the re-rendered card says for the clicked row, and on top. */
export interface NoticeBanner {
  /** The row clicked. */
  userId: string
  /** What happened, one line of card markdown, already escaped ("✅ New invitation sent to …"). */
  text: string
}

const DAY_MS = 86_400_000

/** Whether a row of `notice` still offers its buttons for `user` now. */
function stillOpen(notice: NoticeKind, user: UserView, now: Date): boolean {
  switch (notice) {
    case 'expired':
    case 'requested':
      return user.actions.includes('regenerate')
    case 'expiring_soon':
      // Once resent (or acted on otherwise), the link is no longer about to expire.
      return user.actions.includes('resend') && user.invitation !== null && user.invitation.expiresAt.getTime() - now.getTime() <= DAY_MS
    default: {
      const unreachable: never = notice
      return unreachable
    }
  }
}

/**
 * A notice card re-rendered after a click from the current state of its users (in the order of
 * `origin.userIds`): a row whose invitation is still open keeps its buttons; any other row says
 * where the user stands now, without buttons, so nobody acts twice; the clicked row carries the
 * banner. A user no longer found (removed from the data) is left out. Pure.
 */
export function renderNoticeNow(origin: NoticeOrigin, users: readonly UserView[], ctx: NoticeContext & { banner?: NoticeBanner | null }): TeamsMessage {
  const { now, timeZone } = ctx
  const byId = new Map(users.map((u) => [u.id, u]))
  const rows = origin.userIds.flatMap((id) => byId.get(id) ?? [])
  const open = rows.filter((u) => stillOpen(origin.notice, u, now)).length
  const heading = headingNow(origin.notice, rows.length, open)
  const body: CardElement[] = [block(heading, { weight: 'Bolder' })]
  for (const user of rows) {
    const name = `${user.firstName} ${user.lastName}`.trim() || user.email
    const isOpen = stillOpen(origin.notice, user, now)
    const inv = user.invitation
    const facts = isOpen && inv ? factsNow(origin.notice, inv, now, timeZone) : `Now: ${escCard(joinedCell(user, now, timeZone))}`
    const banner = ctx.banner?.userId === user.id ? ctx.banner.text : null
    body.push(noticeRow({ userId: user.id, heading: who(name, user.email), facts, banner, buttons: isOpen ? rowButtons(origin.notice, user.id, inv?.id ?? null, origin, inv?.expiresAt ?? null) : [] }))
  }
  const more = origin.notice === 'expiring_soon' ? '/invite list invited' : '/invite list expired'
  body.push(block(`\`${more}\` shows every invitation in this state with its actions.`, { isSubtle: true, separator: true }))
  const text = ctx.banner ? stripMarkdown(ctx.banner.text) : heading
  return { kind: 'card', card: card(body), text }
}

function headingNow(notice: NoticeKind, rows: number, open: number): string {
  const waiting = open === 0 ? 'all handled' : `${open} still to handle`
  switch (notice) {
    case 'expired':
      return `⌛ Expired invitations: ${waiting}.`
    case 'requested':
      return `🙋 Requests for a new invitation: ${waiting}.`
    case 'expiring_soon':
      return `⏰ Invitations expiring within 24 hours: ${rows === 0 ? 'none left' : waiting}.`
    default: {
      const unreachable: never = notice
      return unreachable
    }
  }
}

function factsNow(notice: NoticeKind, inv: NonNullable<UserView['invitation']>, now: Date, timeZone: string): string {
  const by = inv.invitedBy ? ` by ${escCard(inv.invitedBy)}` : ''
  if (notice === 'expiring_soon') return `Expires ${formatDayTime(inv.expiresAt, now, timeZone)}${inv.invitedBy ? ` · invited by ${escCard(inv.invitedBy)}` : ''}`
  return `Invited ${formatDay(inv.createdAt, now, timeZone)}${by} · expired ${formatDay(inv.expiresAt, now, timeZone)}`
}

/** Card markdown to plain text for a fallback line (notifications show it verbatim). */
function stripMarkdown(text: string): string {
  return text.replace(/\*\*/g, '').replace(/\\([\\`*_{}[\]()#+!|~>.-])/g, '$1')
}
