/**
 * How every chat platform groups one account's events of a round into notices (docs/notices.md):
 * expiries, requests for a new invitation, the activity lines (accepted, declined, bounced,
 * complained, a webhook endpoint disabled) and the daily digests. One exhaustive switch, so a new event type does not compile
 * until it has a place; each platform's notice renderer words and lays out the groups.
 */
import type { AccountEvent } from '../../src/notices/account-events.ts'
import { formatDay } from '../../src/shared/dates.ts'

export type ExpiredEvent = Extract<AccountEvent, { type: 'invitation.expired' }>
export type RequestedEvent = Extract<AccountEvent, { type: 'invitation.new_requested' }>
export type ExpiringSoonEvent = Extract<AccountEvent, { type: 'invitations.expiring_soon' }>
export type ActivityEvent = Exclude<AccountEvent, ExpiredEvent | RequestedEvent | ExpiringSoonEvent>

export interface NoticeGroups {
  expired: ExpiredEvent[]
  requested: RequestedEvent[]
  activity: ActivityEvent[]
  digests: ExpiringSoonEvent[]
}

/** `events` sorted into the groups a notice is made of, each in the order given. */
export function groupNoticeEvents(events: readonly AccountEvent[]): NoticeGroups {
  const groups: NoticeGroups = { expired: [], requested: [], activity: [], digests: [] }
  for (const event of events) {
    switch (event.type) {
      case 'invitation.expired':
        groups.expired.push(event)
        break
      case 'invitation.new_requested':
        groups.requested.push(event)
        break
      case 'invitations.expiring_soon':
        groups.digests.push(event)
        break
      case 'invitation.accepted':
      case 'invitation.declined':
      case 'email.bounced':
      case 'email.complained':
      case 'webhook.endpoint_disabled':
        groups.activity.push(event)
        break
      default: {
        const unreachable: never = event
        return unreachable
      }
    }
  }
  return groups
}

/** A platform's renderer of each group (what its notices look like). */
export interface NoticeGroupRenderers<B, C> {
  expired(events: readonly ExpiredEvent[], ctx: C): B
  requested(events: readonly RequestedEvent[], ctx: C): B
  activity(events: readonly ActivityEvent[], ctx: C): B
  digest(event: ExpiringSoonEvent, ctx: C): B
}

/**
 * The notices for one account's events of one round, in the order every platform posts them:
 * expiries first, then requests for a new invitation, then the activity summary, then each
 * digest. Nothing for no events.
 */
export function renderNoticeGroups<B, C>(events: readonly AccountEvent[], ctx: C, render: NoticeGroupRenderers<B, C>): B[] {
  const { expired, requested, activity, digests } = groupNoticeEvents(events)
  const out: B[] = []
  if (expired.length > 0) out.push(render.expired(expired, ctx))
  if (requested.length > 0) out.push(render.requested(requested, ctx))
  if (activity.length > 0) out.push(render.activity(activity, ctx))
  for (const digest of digests) out.push(render.digest(digest, ctx))
  return out
}

/** One row of an expiry or request notice: whom it is about, and a line of facts (escaped by the platform). */
export interface NoticeRow {
  userId: string
  invitationId: string
  email: string
  name: string
  facts: string
}

/**
 * Rows of an expiry notice, oldest expiry first: when invited, by whom, when it expired. Dates
 * in `timeZone` (a channel's readers share the account's); `esc` escapes an address for the
 * platform's markup.
 */
export function expiredRows(events: readonly ExpiredEvent[], ctx: { now: Date; timeZone: string }, esc: (text: string) => string): NoticeRow[] {
  const { now, timeZone } = ctx
  return [...events]
    .sort((a, b) => a.facts.expiredAt.getTime() - b.facts.expiredAt.getTime())
    .map((e) => ({
      userId: e.facts.userId,
      invitationId: e.facts.invitationId,
      email: e.facts.email,
      name: e.facts.name,
      facts: `Invited ${formatDay(e.facts.invitedAt, now, timeZone)}${e.facts.invitedByEmail ? ` by ${esc(e.facts.invitedByEmail)}` : ''} · expired ${formatDay(e.facts.expiredAt, now, timeZone)}`,
    }))
}

/** Rows of a request notice: when they asked, when their link expired, who invited them. */
export function requestedRows(events: readonly RequestedEvent[], ctx: { now: Date; timeZone: string }, esc: (text: string) => string): NoticeRow[] {
  const { now, timeZone } = ctx
  return events.map((e) => ({
    userId: e.facts.userId,
    invitationId: e.facts.invitationId,
    email: e.facts.email,
    name: e.facts.name,
    facts: `Asked for a new invitation ${formatDay(e.at, now, timeZone)} · their link expired ${formatDay(e.facts.expiredAt, now, timeZone)}${e.facts.invitedByEmail ? ` (invited by ${esc(e.facts.invitedByEmail)})` : ''}`,
  }))
}

/**
 * What a notice says of a disabled webhook endpoint: its host (not the whole URL: a path or query
 * may hold a token of the product's), since when it failed (UTC, as the operator's tools say it)
 * and the last reason, shortened.
 */
export function endpointDisabledFacts(facts: { url: string; failingSince: Date; lastError: string | null }): { host: string; since: string; reason: string | null } {
  let host: string
  try {
    host = new URL(facts.url).host
  } catch {
    host = 'an unreadable URL'
  }
  const since = `${facts.failingSince.toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return { host, since, reason: facts.lastError ? facts.lastError.slice(0, 200) : null }
}
