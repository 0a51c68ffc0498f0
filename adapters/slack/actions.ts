/**
 * The vocabulary of our interactive elements: action ids, what their values carry, and where a
 * click came from (a list, a `show` card, a confirmation prompt).
 *
 * Values carry only ids (a user id, an invitation id) and view state (filter, page): never an
 * email address to trust, never a link secret. Everything decoded here is re-checked by the core
 * (is the clicker an administrator of *this* account, does this user belong to it, is the
 * invitation still the one the button was about).
 */
import { z } from 'zod'
import { displayStatuses, type RowAction } from '../../src/invitations/model.ts'
import type { ListFilter } from '../../src/commands/types.ts'
import { isUuid } from '../../src/shared/ids.ts'
import type { ChatOrigin } from '../chat/ports.ts'

/** Action ids. Buttons in one actions block need distinct ids, hence one per row action. */
export const ActionIds = {
  /** The ••• menu of a list row; its option values are `RowActionValue`s. */
  rowMenu: 'inviteops.row',
  /** A button for one row action (show card, single-action row, notices): `inviteops.do.<action>`. */
  doPrefix: 'inviteops.do.',
  /** Remove, after the administrator confirmed it in Slack's dialog. */
  removeConfirmed: 'inviteops.remove.confirmed',
  /** Back out of a removal prompt. */
  removeCancel: 'inviteops.remove.cancel',
  /** The status filter of the list (static select). */
  listFilter: 'inviteops.list.filter',
  listPrev: 'inviteops.list.prev',
  listNext: 'inviteops.list.next',
} as const

export const rowActions = ['resend', 'regenerate', 'link', 'edit', 'remove'] as const satisfies readonly RowAction[]

export const listFilters = [...displayStatuses, 'all'] as const satisfies readonly ListFilter[]

/** Every action id we handle: anything else gets a polite "unknown button" answer. */
export const knownActionId = z.union([
  z.literal(ActionIds.rowMenu),
  z.literal(ActionIds.removeConfirmed),
  z.literal(ActionIds.removeCancel),
  z.literal(ActionIds.listFilter),
  z.literal(ActionIds.listPrev),
  z.literal(ActionIds.listNext),
  z.templateLiteral([ActionIds.doPrefix, z.enum(rowActions)]),
])
export type KnownActionId = z.infer<typeof knownActionId>

/** A page number inside a value or block id ("1" … "100000"). */
const pagePart = z
  .string()
  .regex(/^[1-9][0-9]{0,5}$/)
  .transform(Number)

/**
 * The core's ids are uuids. In values they travel as 22 base64url characters, because Slack
 * caps an option's value at 75 characters and `regenerate|<user>|<invitation>` with two dashed
 * uuids would not fit.
 */
export function compactId(uuid: string): string {
  if (!isUuid(uuid)) throw new Error('compactId: not a uuid')
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url')
}

function expandId(compact: string): string {
  const hex = Buffer.from(compact, 'base64url').toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** A compact uuid: exactly 22 base64url characters (16 bytes), expanded back to the dashed form. */
const idPart = z
  .string()
  .regex(/^[A-Za-z0-9_-]{21}[AQgw]$/)
  .transform(expandId)

/** What a row action value carries: `<action>|<userId>[|<invitationId>[|<expiresAt epoch seconds>]]`. */
export interface RowActionValue {
  action: RowAction
  userId: string
  /** For regenerate and resend: the link the button was about (the core's idempotency key). */
  invitationId: string | null
  /** For resend: the expiry the message showed, to whole seconds (a later one means someone resent meanwhile). */
  expiresAt?: Date | null
}

export function encodeRowAction(v: RowActionValue): string {
  const invitation = v.invitationId ? [compactId(v.invitationId), ...(v.expiresAt ? [String(Math.floor(v.expiresAt.getTime() / 1000))] : [])] : []
  return [v.action, compactId(v.userId), ...invitation].join('|')
}

/** Epoch seconds, as a resend button carries the expiry it showed. */
const epochPart = z
  .string()
  .regex(/^[0-9]{1,12}$/)
  .transform((s) => new Date(Number(s) * 1000))

const rowActionValue = z
  .string()
  .max(90)
  .transform((s) => s.split('|'))
  .pipe(
    z.union([
      z.tuple([z.enum(rowActions), idPart]),
      z.tuple([z.enum(rowActions), idPart, idPart]),
      z.tuple([z.enum(rowActions), idPart, idPart, epochPart]),
    ]),
  )
  .transform(([action, userId, invitationId, expiresAt]): RowActionValue => ({ action, userId, invitationId: invitationId ?? null, ...(expiresAt ? { expiresAt } : {}) }))

/** Parses a row action value; `null` when it is not one of ours. */
export function decodeRowAction(value: string | undefined): RowActionValue | null {
  const r = rowActionValue.safeParse(value)
  return r.success ? r.data : null
}

/**
 * Where an interactive element lives. Encoded in `block_id` (not in the value) so that a click
 * can re-render the message it came from: the list with the same filter and page, the same card,
 * the channel notice with only the clicked row changed.
 */
export type Origin = ChatOrigin

/** `block_id`s must be unique within a message, hence the `suffix`. */
export function encodeBlockId(origin: Origin, suffix: string): string {
  switch (origin.kind) {
    case 'list':
      return `inviteops|list|${origin.filter}|${origin.page}|${suffix}`
    case 'show':
      return `inviteops|show|${compactId(origin.userId)}|${suffix}`
    case 'notice':
      return `inviteops|notice|${suffix}`
    case 'reply':
      return `inviteops|reply|${suffix}`
    default: {
      const unreachable: never = origin
      return unreachable
    }
  }
}

const originFromBlockId = z
  .string()
  .max(255)
  .transform((s) => s.split('|'))
  .pipe(
    z.union([
      z.tuple([z.literal('inviteops'), z.literal('list'), z.enum(listFilters), pagePart, z.string()]),
      z.tuple([z.literal('inviteops'), z.literal('show'), idPart, z.string()]),
      z.tuple([z.literal('inviteops'), z.literal('notice'), z.string()]),
      z.tuple([z.literal('inviteops'), z.literal('reply'), z.string()]),
    ]),
  )
  .transform((parts): Origin => {
    if (parts[1] === 'list') return { kind: 'list', filter: parts[2], page: parts[3] }
    if (parts[1] === 'show') return { kind: 'show', userId: parts[2] }
    if (parts[1] === 'notice') return { kind: 'notice' }
    return { kind: 'reply' }
  })

/** Where a click came from; an unknown or foreign block id counts as a plain reply. */
export function decodeOrigin(blockId: string | undefined): Origin {
  const r = originFromBlockId.safeParse(blockId)
  return r.success ? r.data : { kind: 'reply' }
}

/** Value of the prev/next buttons and the filter select: the page to show. */
export function encodeListTarget(filter: ListFilter, page: number): string {
  return `${filter}|${page}`
}

const listTarget = z
  .string()
  .max(150)
  .transform((s) => s.split('|'))
  .pipe(z.tuple([z.enum(listFilters), pagePart]))
  .transform(([filter, page]) => ({ filter, page }))

export function decodeListTarget(value: string | undefined): { filter: ListFilter; page: number } | null {
  const r = listTarget.safeParse(value)
  return r.success ? r.data : null
}
