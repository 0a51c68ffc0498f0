/**
 * Channel notices as Block Kit messages (docs/notices.md): what the notices job posts, through
 * the Slack notifier (notices.ts), to an account's Slack destination.
 *
 *  - Expired invitations, and invitees asking for a new one, get a row each with the buttons
 *    *Send new invitation* and *Remove*. A click acts and then replaces only that row's buttons
 *    with what happened (interactions.ts), so nobody acts twice.
 *  - Many at once are grouped into one message (at most `MAX_NOTICE_ROWS` rows with buttons; the
 *    rest are counted and `/invite list expired` shows them all) instead of flooding the channel.
 *  - Accepted, declined, bounced and complained are lines of one activity message.
 *  - Once a day, invitations expiring within 24 hours are listed with a *Resend invitation*
 *    button each (a resend gives the same link its full validity again).
 *
 * Pure: events in, messages out. Every value that came from a person is escaped.
 */
import type { AccountEvent } from '../../src/notices/account-events.ts'
import { endpointDisabledFacts, expiredRows, renderNoticeGroups, requestedRows, type NoticeRow as Row, type ActivityEvent as Activity, type ExpiredEvent as Expired, type ExpiringSoonEvent as ExpiringSoon, type RequestedEvent as Requested } from '../chat/notice-events.ts'
import type { NoticeBatch, NoticeContext } from '../../src/notices/chat-notifier.ts'
import { compactId, encodeBlockId } from './actions.ts'
import { dayTime } from '../../src/users/joined-cell.ts'
import { esc, escName } from './format.ts'
import { actionButton, code, context, section, type SlackMessage } from './render.ts'

/** Rows with buttons in one notice (Slack allows 50 blocks; two per row keeps it readable). */
export const MAX_NOTICE_ROWS = 10
/** Lines in one activity message. */
export const MAX_ACTIVITY_LINES = 20


/** One message to post and the events it reports (closed once it is posted). */
export type NoticeMessage = NoticeBatch<SlackMessage>

/**
 * The messages for one account's events of one round: expiries first, then requests for a new
 * invitation, then the activity summary. Nothing for no events. Dates are shown in `timeZone`
 * (the account's: a channel has many readers).
 */
export function renderNotices(events: readonly AccountEvent[], ctx: NoticeContext): NoticeMessage[] {
  return renderNoticeGroups(events, ctx, { expired: renderExpiryNotice, requested: renderRequestNotice, activity: renderActivity, digest: renderExpiringSoon })
}

/** A person's name and email, or just the email when that is all we know (the name escaped as a name). */
function who(name: string, email: string): string {
  return name === email ? `*${esc(email)}*` : `*${escName(name)}* (${esc(email)})`
}

/** The buttons of a row; the block id marks the row as part of a notice for the click handler. */
function rowActions(row: Row): SlackMessage['blocks'][number] {
  const target = { userId: row.userId, email: row.email, invitationId: row.invitationId }
  return {
    type: 'actions',
    block_id: encodeBlockId({ kind: 'notice' }, `row-${compactId(row.invitationId)}`),
    elements: [actionButton('regenerate', target), actionButton('remove', target)],
  }
}

interface Headings {
  one: (r: Row) => string
  many: string
  fallbackOne: (r: Row) => string
  fallbackMany: string
}

/** One row: heading, facts, buttons. Several: a count, then a row each (capped), then how many more. */
function grouped(rows: readonly Row[], headings: Headings): SlackMessage {
  const [first] = rows
  if (rows.length === 1 && first) {
    return { text: headings.fallbackOne(first), blocks: [section(headings.one(first)), context(first.facts), rowActions(first)] }
  }
  const shown = rows.slice(0, MAX_NOTICE_ROWS)
  const blocks: SlackMessage['blocks'] = [section(headings.many)]
  for (const row of shown) blocks.push(section(`${who(row.name, row.email)}\n${row.facts}`), rowActions(row))
  if (rows.length > shown.length) {
    blocks.push(context(`…and ${rows.length - shown.length} more. ${code('/invite list expired')} shows every expired invitation with its actions.`))
  }
  return { text: headings.fallbackMany, blocks }
}

export function renderExpiryNotice(events: readonly Expired[], ctx: NoticeContext): NoticeMessage {
  const rows = expiredRows(events, ctx, esc)
  const message = grouped(rows, {
    one: (r) => `:hourglass: The invitation of ${who(r.name, r.email)} has expired.`,
    many: `:hourglass: *${rows.length} invitations have expired.*`,
    fallbackOne: (r) => `The invitation of ${esc(r.email)} has expired.`,
    fallbackMany: `${rows.length} invitations have expired.`,
  })
  return { message, eventIds: events.map((e) => e.id) }
}

export function renderRequestNotice(events: readonly Requested[], ctx: NoticeContext): NoticeMessage {
  const rows = requestedRows(events, ctx, esc)
  const message = grouped(rows, {
    one: (r) => `:raising_hand: ${who(r.name, r.email)} asked for a new invitation.`,
    many: `:raising_hand: *${rows.length} people asked for a new invitation.*`,
    fallbackOne: (r) => `${esc(r.email)} asked for a new invitation.`,
    fallbackMany: `${rows.length} people asked for a new invitation.`,
  })
  return { message, eventIds: events.map((e) => e.id) }
}

function activityLine(event: Activity): string {
  switch (event.type) {
    case 'invitation.accepted':
      return `:tada: *${esc(event.facts.email)}* accepted the invitation and joined.`
    case 'invitation.declined':
      return `:no_entry_sign: *${esc(event.facts.email)}* declined the invitation.`
    case 'email.bounced': {
      const reason = event.facts.detail ? ` (${escName(event.facts.detail.slice(0, 200))})` : ''
      const next = event.facts.suppressed
        ? `InviteOps will not email this address again: check it with ${code(`/invite show ${event.facts.email}`)}.`
        : 'The address is not blocked: a later resend may get through.'
      return `:warning: The invitation email to *${esc(event.facts.email)}* bounced${reason}. ${next}`
    }
    case 'email.complained':
      return `:warning: *${esc(event.facts.email)}* reported the invitation email as spam. InviteOps will not email this address again.`
    case 'webhook.endpoint_disabled': {
      const { host, since, reason } = endpointDisabledFacts(event.facts)
      return `:rotating_light: The webhook endpoint at *${esc(host)}* was disabled: every delivery failed since ${since}${reason ? ` (last: ${escName(reason)})` : ''}. Your product hears nothing until your operator fixes the receiver and runs ${code(`inviteops webhooks enable ${event.facts.endpointId}`)}; events wait meanwhile.`
    }
    default: {
      const unreachable: never = event
      return unreachable
    }
  }
}

export function renderActivity(events: readonly Activity[]): NoticeMessage {
  const shown = events.slice(0, MAX_ACTIVITY_LINES)
  const blocks: SlackMessage['blocks'] = shown.map((e) => section(activityLine(e)))
  if (events.length > shown.length) blocks.push(context(`…and ${events.length - shown.length} more. ${code('/invite audit')} lists everything.`))
  const [first] = events
  const text = events.length === 1 && first ? activityLine(first).replace(/^:[a-z_]+: /, '').replace(/\*/g, '') : `${events.length} invitation updates`
  return { message: { text, blocks }, eventIds: events.map((e) => e.id) }
}

/** The daily digest: who is about to lose their link, each with a Resend button. */
export function renderExpiringSoon(event: ExpiringSoon, { now, timeZone }: NoticeContext): NoticeMessage {
  const { invitations, total } = event.facts
  const shown = invitations.slice(0, MAX_NOTICE_ROWS)
  const [first] = invitations
  const heading =
    total === 1 && first
      ? `:alarm_clock: The invitation of ${who(first.name, first.email)} expires within 24 hours.`
      : `:alarm_clock: *${total} invitations expire within 24 hours.* A resend gives the same link its full validity again.`
  const blocks: SlackMessage['blocks'] = [section(heading)]
  for (const inv of shown) {
    const facts = `Expires ${dayTime(inv.expiresAt, now, timeZone)}${inv.invitedByEmail ? ` · invited by ${esc(inv.invitedByEmail)}` : ''}`
    if (total === 1) blocks.push(context(facts))
    else blocks.push(section(`${who(inv.name, inv.email)}\n${facts}`))
    blocks.push({
      type: 'actions',
      block_id: encodeBlockId({ kind: 'notice' }, `soon-${compactId(inv.invitationId)}`),
      elements: [actionButton('resend', { userId: inv.userId, email: inv.email, invitationId: inv.invitationId, expiresAt: inv.expiresAt })],
    })
  }
  if (total > shown.length) blocks.push(context(`…and ${total - shown.length} more. ${code('/invite list invited')} shows them all.`))
  const text = total === 1 && first ? `The invitation of ${esc(first.email)} expires within 24 hours.` : `${total} invitations expire within 24 hours.`
  return { message: { text, blocks }, eventIds: [event.id] }
}
