/**
 * The events a product can subscribe to (docs/webhooks.md) and the shape of what is sent: the
 * Standard Webhooks payload `{ type, timestamp, data }`. `data` carries ids, the account, the
 * person's email, names and groups; never an invitation link, a token or a password (a receiver's
 * logs are not a place for a credential).
 */

/** Every event type an endpoint may subscribe to, in the order docs/webhooks.md lists them. */
export const WEBHOOK_EVENT_TYPES = [
  'invitation.sent',
  'invitation.resent',
  'invitation.regenerated',
  'invitation.expired',
  'invitation.accepted',
  'invitation.declined',
  'user.removed',
  'user.groups_changed',
  'email.bounced',
] as const

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** Sent by `inviteops webhooks test` only: never queued, never subscribed to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test'

/** Whom an event is about, as every user event carries it. */
export interface WebhookPerson {
  userId: string
  email: string
  firstName: string
  lastName: string
}

/** The `data` of each event type (docs/webhooks.md shows an example of each). */
export interface WebhookEventData {
  'invitation.sent': WebhookPerson & { accountId: string; invitationId: string; groups: string[]; invitedBy: string | null; expiresAt: string }
  'invitation.resent': WebhookPerson & { accountId: string; invitationId: string; groups: string[]; invitedBy: string | null; expiresAt: string }
  'invitation.regenerated': WebhookPerson & { accountId: string; invitationId: string; replacedInvitationId: string; groups: string[]; invitedBy: string | null; expiresAt: string }
  'invitation.expired': WebhookPerson & { accountId: string; invitationId: string; invitedBy: string | null; expiredAt: string }
  'invitation.accepted': WebhookPerson & { accountId: string; invitationId: string; groups: string[]; acceptedAt: string }
  'invitation.declined': WebhookPerson & { accountId: string; invitationId: string; declinedAt: string }
  'user.removed': WebhookPerson & { accountId: string; previousStatus: string; removedBy: string | null; revokedInvitationId: string | null }
  'user.groups_changed': WebhookPerson & { accountId: string; groups: string[]; previousGroups: string[]; changedBy: string | null }
  'email.bounced': { accountId: string; userId: string | null; invitationId: string | null; email: string; detail: string | null; suppressed: boolean }
}

/** One event to announce, as a use case hands it to `emitWebhookEvent`. */
export type WebhookEvent = { [T in WebhookEventType]: { type: T; accountId: string; data: WebhookEventData[T]; at: Date } }[WebhookEventType]

/** The body posted, as the Standard Webhooks specification recommends. */
export interface WebhookPayload {
  type: string
  timestamp: string
  data: Record<string, unknown>
}

/** Whether `name` is an event type an endpoint can subscribe to. */
export function isWebhookEventType(name: string): name is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(name)
}

/**
 * `--events a,b,c` as a list of known types (duplicates dropped), or the names that are not
 * event types. Empty input is refused too: an endpoint that hears nothing is a mistake.
 */
export function parseEventList(text: string): { ok: true; events: WebhookEventType[] } | { ok: false; unknown: string[] } {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const unknown = names.filter((n) => !isWebhookEventType(n))
  if (names.length === 0 || unknown.length > 0) return { ok: false, unknown: names.length === 0 ? [''] : unknown.map((n) => n.slice(0, 60)) }
  return { ok: true, events: [...new Set(names as WebhookEventType[])] }
}

/** A users row as an event names the person (the names as they are now; '' until the invitee gives theirs). */
export function personOf(user: { id: string; email: string; first_name: string; last_name: string }): WebhookPerson {
  return { userId: user.id, email: user.email, firstName: user.first_name, lastName: user.last_name }
}
