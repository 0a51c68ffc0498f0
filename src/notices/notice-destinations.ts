/**
 * Where an account's notices go (docs/notices.md): one conversation per account and platform,
 * chosen by an administrator in chat (`/invite notices here`, `/invite notices off`,
 * `/invite notices`) or by the operator (`inviteops slack connect --channel`). Every change and
 * every look is audited.
 */
import type { Knex } from 'knex'
import { z } from 'zod'
import { accountExists } from '../accounts/account-repository.ts'
import { recordAudit } from '../audit/audit-repository.ts'
import { ChatPlatformName, type ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import { adminAction } from '../invitations/admin-action.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { Actor } from '../invitations/model.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { NoticeDestination } from './chat-notifier.ts'
import { deleteNoticeDestination, listNoticeDestinations, readNoticeDestination, readNoticeTarget, upsertNoticeDestination, type NoticeDestinationRow } from './notice-destination-repository.ts'

/** A destination as administrators are shown it. */
export interface NoticeDestinationView {
  platform: ChatPlatform
  conversationId: string
  conversationName: string | null
  /** Who chose it: an administrator's email, or `cli:<os user>` for the operator. */
  setBy: string | null
  updatedAt: Date
}

/** A destination that cannot be stored (the platform handed us something malformed). */
export interface InvalidDestination {
  code: 'notices.destination_invalid'
  field: 'platform' | 'conversationId' | 'conversationName' | 'reference'
  reason: string
}

export type NoticeDestinationFailure = LifecycleFailure | InvalidDestination

/**
 * The largest conversation reference stored (Teams' is well under 2 kB), in bytes of compact JSON
 * (`JSON.stringify`). The table's CHECK counts the text Postgres prints for the jsonb, which adds a
 * space after every `:` and `,` (at most half again as long for a reference that passes here), so it
 * allows twice this: a backstop that a reference accepted here can never hit.
 */
export const MAX_REFERENCE_BYTES = 8192

/**
 * Why a JSON value cannot be stored as jsonb so that the sizes above keep agreeing, or null when
 * it can: a string with NUL or an unpaired surrogate (jsonb refuses both), a number that is not a
 * safe integer (jsonb prints `1e300` as 301 digits).
 */
function unstorable(value: unknown, depth = 0): string | null {
  if (depth > 32) return 'is nested too deeply'
  if (typeof value === 'string') return value.includes('\u0000') || /\p{Cs}/u.test(value) ? 'holds a character jsonb cannot store' : null
  if (typeof value === 'number') return Number.isSafeInteger(value) ? null : 'holds a number that is not a safe integer'
  if (Array.isArray(value)) {
    for (const item of value) {
      const why = unstorable(item, depth + 1)
      if (why) return why
    }
    return null
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const why = unstorable(key, depth + 1) ?? unstorable(item, depth + 1)
      if (why) return why
    }
  }
  return null
}

/** Printable text: no control characters (they have no place in an id, a log line or a message). */
const printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\p{Cs}]+$/u, 'holds control characters')

const destinationInput = z.object({
  platform: ChatPlatformName,
  conversationId: printable(200),
  conversationName: z
    .string()
    .nullish()
    .transform((s) => (s ? s.replace(/[\p{Cc}\p{Cs}]/gu, ' ').trim().slice(0, 200) || null : null)),
  reference: z.unknown().transform((value, ctx) => {
    if (value === undefined || value === null) return null
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch {
      text = undefined
    }
    // Judged after the round trip (what is stored): an array, or an object whose `toJSON` gives a
    // string or a number, is no object there.
    const roundTripped: unknown = text === undefined ? undefined : JSON.parse(text)
    if (text === undefined || typeof roundTripped !== 'object' || roundTripped === null || Array.isArray(roundTripped)) {
      ctx.addIssue({ code: 'custom', message: 'is not a JSON object' })
      return z.NEVER
    }
    if (Buffer.byteLength(text) > MAX_REFERENCE_BYTES) {
      ctx.addIssue({ code: 'custom', message: `is larger than ${MAX_REFERENCE_BYTES} bytes` })
      return z.NEVER
    }
    // What was measured is what is stored: the JSON round trip drops what JSON cannot hold.
    const stored = roundTripped
    const why = unstorable(stored)
    if (why) {
      ctx.addIssue({ code: 'custom', message: why })
      return z.NEVER
    }
    return stored
  }),
})

function view(row: NoticeDestinationRow): NoticeDestinationView {
  return { platform: row.platform as ChatPlatform, conversationId: row.conversation_id, conversationName: row.conversation_name, setBy: row.set_by, updatedAt: row.updated_at }
}

/**
 * Write an account's destination on one platform inside the caller's transaction (no check, no
 * audit: the use cases below and the CLI's `slack connect --channel` do both). Events from now on
 * go there; deliveries already open follow the destination when they are posted.
 */
export async function storeNoticeDestination(
  trx: Knex.Transaction,
  d: { accountId: string; platform: ChatPlatform; conversationId: string; conversationName: string | null; reference: unknown; setBy: string; now: Date },
): Promise<{ destination: NoticeDestinationView; previous: NoticeDestinationView | null }> {
  const previous = await readNoticeDestination(trx, d.accountId, d.platform, { forUpdate: true })
  const row: NoticeDestinationRow = {
    account_id: d.accountId,
    platform: d.platform,
    conversation_id: d.conversationId,
    reference: d.reference,
    conversation_name: d.conversationName,
    set_by: d.setBy.slice(0, 300),
    updated_at: d.now,
  }
  await upsertNoticeDestination(trx, row)
  return { destination: view(row), previous: previous ? view(previous) : null }
}

/**
 * Where the notices job posts an account's notices on `platform`, and the account's time zone
 * (a channel has many readers: dates are shown in the account's zone). The destination is null
 * when the account has none there (any more).
 */
export async function findNoticeTarget(db: Knex | Knex.Transaction, accountId: string, platform: ChatPlatform): Promise<{ destination: NoticeDestination | null; timeZone: string } | null> {
  if (!isUuid(accountId)) return null
  const row = await readNoticeTarget(db, accountId, platform)
  if (!row) return null
  return {
    timeZone: row.time_zone,
    destination: row.conversation_id ? { accountId, platform, conversationId: row.conversation_id, reference: row.reference ?? null } : null,
  }
}

function firstIssue(error: z.ZodError): InvalidDestination {
  const issue = error.issues[0]
  const field = issue?.path[0]
  return {
    code: 'notices.destination_invalid',
    field: field === 'platform' || field === 'conversationName' || field === 'reference' ? field : 'conversationId',
    reason: issue?.message ?? 'invalid',
  }
}

/** A refused input is audited like any refused attempt (it changes nothing). */
async function auditInvalid(deps: Deps, accountId: string, actor: Actor, action: string, failure: InvalidDestination): Promise<Result<never, InvalidDestination>> {
  await deps.db.transaction(async (trx) => {
    const exists = isUuid(accountId) && (await accountExists(trx, accountId))
    await recordAudit(trx, {
      accountId: exists ? accountId : null,
      at: deps.clock.now(),
      actor,
      action,
      targetEmail: null,
      resultCode: failure.code,
      ok: false,
      detail: { field: failure.field, reason: failure.reason },
    })
  })
  return fail(failure)
}

/**
 * Make a conversation the account's notice destination on `platform` (`/invite notices here`).
 * `reference` is what the platform needs to post there unprompted (Teams: the conversation
 * reference), at most 8 kB of JSON; null when the id suffices (Slack). Administrators only;
 * audited as `notices.destination.set` with the previous destination.
 */
export async function setNoticeDestination(
  deps: Deps,
  input: { accountId: string; actor: Actor; platform: ChatPlatform; conversationId: string; conversationName?: string | null; reference?: unknown },
): Promise<Result<{ destination: NoticeDestinationView; previous: NoticeDestinationView | null }, NoticeDestinationFailure>> {
  const action = 'notices.destination.set'
  const parsed = destinationInput.safeParse({ platform: input.platform, conversationId: input.conversationId, conversationName: input.conversationName, reference: input.reference })
  if (!parsed.success) return auditInvalid(deps, input.accountId, input.actor, action, firstIssue(parsed.error))
  const d = parsed.data
  return adminAction(deps, { accountId: input.accountId, actor: input.actor, action, successCode: 'notices.destination_set' }, async ({ trx, admin, now, detail }) => {
    const stored = await storeNoticeDestination(trx, { accountId: admin.accountId, platform: d.platform, conversationId: d.conversationId, conversationName: d.conversationName, reference: d.reference, setBy: admin.email, now })
    Object.assign(detail, { platform: d.platform, conversationId: d.conversationId, conversationName: d.conversationName, previous: stored.previous?.conversationId ?? null })
    return ok(stored)
  })
}

/**
 * Stop an account's notices on `platform` (`/invite notices off`). Deliveries still open there
 * are closed unposted when their turn comes. Administrators only; audited as
 * `notices.destination.clear` (also when there was none).
 */
export async function clearNoticeDestination(
  deps: Deps,
  input: { accountId: string; actor: Actor; platform: ChatPlatform },
): Promise<Result<{ previous: NoticeDestinationView | null }, NoticeDestinationFailure>> {
  const action = 'notices.destination.clear'
  const platform = ChatPlatformName.safeParse(input.platform)
  if (!platform.success) return auditInvalid(deps, input.accountId, input.actor, action, { code: 'notices.destination_invalid', field: 'platform', reason: platform.error.issues[0]?.message ?? 'invalid' })
  return adminAction(deps, { accountId: input.accountId, actor: input.actor, action, successCode: 'notices.destination_cleared' }, async ({ trx, admin, detail }) => {
    const previous = await readNoticeDestination(trx, admin.accountId, platform.data, { forUpdate: true })
    if (previous) await deleteNoticeDestination(trx, admin.accountId, platform.data)
    Object.assign(detail, { platform: platform.data, previous: previous?.conversation_id ?? null })
    return ok({ previous: previous ? view(previous) : null })
  })
}

/** Where the account's notices go, on every platform (`/invite notices`). Administrators only; audited. */
export async function showNoticeDestinations(deps: Deps, input: { accountId: string; actor: Actor }): Promise<Result<{ destinations: NoticeDestinationView[] }, LifecycleFailure>> {
  return adminAction(deps, { accountId: input.accountId, actor: input.actor, action: 'notices.destination.show', successCode: 'notices.destinations_shown' }, async ({ trx, admin }) => {
    return ok({ destinations: (await listNoticeDestinations(trx, admin.accountId)).map(view) })
  })
}
