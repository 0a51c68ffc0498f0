import { z } from 'zod'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'

/**
 * Every `account_events.type` the notices understand (docs/notices.md). Written by:
 *  - `invitation.expired`: the expiry sweep (src/notices/sweep-expired.ts);
 *  - `invitation.accepted`, `invitation.declined`: the invitee's answer (src/invitations/invitee-link.ts);
 *  - `invitation.new_requested`: the expired-link page (src/invitations/request-new-invitation.ts);
 *  - `email.bounced`, `email.complained`: SES feedback (src/email/record-delivery-event.ts);
 *  - `invitations.expiring_soon`: the daily digest sweep (src/notices/sweep-expiring-soon.ts),
 *    at most one per account per day in the account's time zone (`dedupe_key` = that day);
 *  - `webhook.endpoint_disabled`: the webhook worker, when an endpoint failed for WEBHOOK_DISABLE_AFTER
 *    (src/webhooks/worker.ts).
 */
export const ACCOUNT_EVENT_TYPES = [
  'invitation.expired',
  'invitation.accepted',
  'invitation.declined',
  'invitation.new_requested',
  'email.bounced',
  'email.complained',
  'invitations.expiring_soon',
  'webhook.endpoint_disabled',
] as const

export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number]

// ---- stored payloads (the jsonb column), one schema per type, each mapped to its facts --------

/** An ISO timestamp written into a payload (with `Z` or an offset), read back as a Date. */
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s))
/** An id of ours, by the one uuid test (src/shared/ids.ts). */
const id = z.string().refine(isUuid, 'is not a uuid')
const email = z.string().trim().min(1).max(320)
/** Optional text: a missing key, null and '' all mean "none". */
const optionalText = z
  .string()
  .nullish()
  .transform((s) => (s ? s : null))

/** "First Last", or the email when the user has no name yet (an invitee names themself on accepting). */
function displayName(p: { firstName: string; lastName: string; email: string }): string {
  const name = `${p.firstName.trim()} ${p.lastName.trim()}`.trim()
  return name || p.email
}

const personName = { firstName: z.string().default(''), lastName: z.string().default('') }

const expiredPayload = z
  .object({
    invitationId: id,
    userId: id,
    email,
    ...personName,
    invitedAt: isoDate,
    invitedByEmail: optionalText,
    expiredAt: isoDate,
  })
  .transform((p) => ({
    invitationId: p.invitationId,
    userId: p.userId,
    email: p.email,
    name: displayName(p),
    invitedAt: p.invitedAt,
    invitedByEmail: p.invitedByEmail,
    expiredAt: p.expiredAt,
  }))

/** Accepted and declined share a payload; the stored key for the inviter is `invitedBy`. */
const answerPayload = z
  .object({ email, invitationId: id, invitedBy: optionalText })
  .transform((p) => ({ email: p.email, invitationId: p.invitationId, invitedByEmail: p.invitedBy }))

const newRequestedPayload = z
  .object({ userId: id, email, ...personName, invitationId: id, invitedByEmail: optionalText, expiredAt: isoDate })
  .transform((p) => ({
    userId: p.userId,
    email: p.email,
    name: displayName(p),
    invitationId: p.invitationId,
    invitedByEmail: p.invitedByEmail,
    expiredAt: p.expiredAt,
  }))

/** Bounced and complained share a payload. */
const feedbackPayload = z
  .object({ email, detail: optionalText, suppressed: z.boolean() })
  .transform((p) => ({ email: p.email, detail: p.detail, suppressed: p.suppressed }))

/** One invitation of the daily digest, as stored (the name is derived on reading, as above). */
const expiringInvitation = z
  .object({ invitationId: id, userId: id, email, ...personName, expiresAt: isoDate, invitedByEmail: optionalText })
  .transform((p) => ({
    invitationId: p.invitationId,
    userId: p.userId,
    email: p.email,
    name: displayName(p),
    expiresAt: p.expiresAt,
    invitedByEmail: p.invitedByEmail,
  }))

/**
 * The daily digest: `invitations` is the first few by expiry (the writer caps it), `total` how many
 * there really are, so a renderer can say "and N more". No cap is enforced here, so a writer may
 * change it without making older readers close digests as unreadable.
 */
const expiringSoonPayload = z
  .object({
    /** The day the digest is for in the account's time zone (YYYY-MM-DD), also its `dedupe_key`. */
    day: z.iso.date(),
    total: z.number().int().nonnegative(),
    invitations: z.array(expiringInvitation),
  })
  .refine((p) => p.total >= p.invitations.length, { message: 'total is less than the invitations listed', path: ['total'] })

/** A webhook endpoint the worker disabled: where it pointed, since when it failed, and the last reason. */
const endpointDisabledPayload = z
  .object({ endpointId: id, url: z.string().min(1).max(2000), failingSince: isoDate, lastError: optionalText })
  .transform((p) => ({ endpointId: p.endpointId, url: p.url, failingSince: p.failingSince, lastError: p.lastError }))

export type InvitationExpiredFacts = z.output<typeof expiredPayload>
export type InviteeAnswerFacts = z.output<typeof answerPayload>
export type NewInvitationRequestedFacts = z.output<typeof newRequestedPayload>
export type EmailFeedbackFacts = z.output<typeof feedbackPayload>
export type InvitationsExpiringSoonFacts = z.output<typeof expiringSoonPayload>
export type WebhookEndpointDisabledFacts = z.output<typeof endpointDisabledPayload>

interface Envelope {
  /** The bigserial id, as a string (it may outgrow a JS number; it orders the queue). */
  id: string
  accountId: string
  /** When the event happened (created_at, from the writer's clock). */
  at: Date
  /** How many times the notices job has claimed its delivery (0 when the row was read without a claim). */
  attempts: number
}

/** Something the account's administrators are told in their channel (docs/notices.md). */
export type AccountEvent =
  | (Envelope & { type: 'invitation.expired'; facts: InvitationExpiredFacts })
  | (Envelope & { type: 'invitation.accepted'; facts: InviteeAnswerFacts })
  | (Envelope & { type: 'invitation.declined'; facts: InviteeAnswerFacts })
  | (Envelope & { type: 'invitation.new_requested'; facts: NewInvitationRequestedFacts })
  | (Envelope & { type: 'email.bounced'; facts: EmailFeedbackFacts })
  | (Envelope & { type: 'email.complained'; facts: EmailFeedbackFacts })
  | (Envelope & { type: 'invitations.expiring_soon'; facts: InvitationsExpiringSoonFacts })
  | (Envelope & { type: 'webhook.endpoint_disabled'; facts: WebhookEndpointDisabledFacts })

// ---- the row --------------------------------------------------------------------------------

const rowSchema = z.object({
  // bigserial: a string from pg by default, a number where INT8 is parsed (src/db/open-database.ts).
  id: z.union([z.string().regex(/^[0-9]{1,19}$/), z.number().int().nonnegative(), z.bigint().nonnegative()]).transform(String),
  account_id: z.string().min(1),
  type: z.string(),
  payload: z.unknown(),
  created_at: z.union([z.date(), isoDate]),
  attempts: z.number().int().nonnegative().optional(),
})

const eventType = z.enum(ACCOUNT_EVENT_TYPES)

/** Why a row could not be read, for the log (never shown in a channel). */
export interface UnreadableEvent {
  code: 'event.unreadable'
  /** The row's id when at least that was readable. */
  id: string | null
  type: string | null
  reason: string
}

/**
 * Read one `account_events` row (`id, account_id, type, payload, created_at[, attempts]`) into
 * an `AccountEvent`, or say why it cannot be: an unknown type (written by a newer version, or by
 * hand), a payload that does not match its type. Never throws.
 */
export function readAccountEvent(row: unknown): Result<AccountEvent, UnreadableEvent> {
  const r = rowSchema.safeParse(row)
  if (!r.success) {
    const rawId = typeof row === 'object' && row !== null && 'id' in row ? row.id : null
    return fail({ code: 'event.unreadable' as const, id: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : null, type: null, reason: `row: ${summarise(r.error)}` })
  }
  const { payload } = r.data
  const base: Envelope = { id: r.data.id, accountId: r.data.account_id, at: r.data.created_at, attempts: r.data.attempts ?? 0 }
  const unreadable = (reason: string) => fail({ code: 'event.unreadable' as const, id: base.id, type: r.data.type, reason })
  const t = eventType.safeParse(r.data.type)
  if (!t.success) return unreadable('unknown type')
  const type = t.data
  switch (type) {
    case 'invitation.expired': {
      const f = expiredPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    case 'invitation.accepted':
    case 'invitation.declined': {
      const f = answerPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    case 'invitation.new_requested': {
      const f = newRequestedPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    case 'email.bounced':
    case 'email.complained': {
      const f = feedbackPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    case 'invitations.expiring_soon': {
      const f = expiringSoonPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    case 'webhook.endpoint_disabled': {
      const f = endpointDisabledPayload.safeParse(payload)
      return f.success ? ok({ ...base, type, facts: f.data }) : unreadable(`payload: ${summarise(f.error)}`)
    }
    default: {
      const never: never = type
      return unreadable(`unhandled type ${String(never)}`)
    }
  }
}

/** `readAccountEvent` without the reason: null = unreadable (unknown type, malformed payload or row). */
export function parseAccountEvent(row: unknown): AccountEvent | null {
  const r = readAccountEvent(row)
  return r.ok ? r.value : null
}

/** Paths and messages only: a payload holds emails, which have no place in a warning's text. */
function summarise(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}
