/**
 * Zod schemas for every byte Teams sends us (docs/architecture.md): the activity botbuilder has already
 * authenticated, the data of our own card buttons coming back, and the connector's member answer.
 * Only the fields we use are required; Microsoft adds fields freely, so objects are not strict.
 *
 * References:
 *  - activity: https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference#activity-object
 *  - Teams channelData / conversationType: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/conversation-messages
 *  - Action.Submit data: https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-actions#adaptive-cards-actions
 *  - TeamsChannelAccount (getMember): https://learn.microsoft.com/microsoftteams/platform/bots/how-to/get-teams-context#get-single-member-details
 */
import { z } from 'zod'
import type { ChatPlatform } from '../../src/chat/platform.ts'
import { displayStatuses } from '../../src/invitations/model.ts'
import { isUuid } from '../../src/shared/ids.ts'
import type { ListFilter } from '../../src/commands/types.ts'
import type { RowAction } from '../../src/invitations/model.ts'
import { noticeKinds } from '../chat/ports.ts'

/** Teams' name as a chat platform: its linked tenants, its actors, its notice destination. */
export const TEAMS: ChatPlatform = 'teams'

export const rowActions = ['resend', 'regenerate', 'link', 'edit', 'remove'] as const satisfies readonly RowAction[]
export const listFilters = [...displayStatuses, 'all'] as const satisfies readonly ListFilter[]

/**
 * An id botbuilder puts in a connector URL path or header (`x-ms-conversation-id`): conversation,
 * user, bot and activity ids. Teams ids are printable ASCII; anything else cannot be a header
 * value (Node refuses a character outside Latin-1), so it is refused here rather than failing the
 * turn's reply.
 */
export const connectorId = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x20-\x7e]+$/, 'not printable ASCII')

const account = z.object({
  id: connectorId(500),
  name: z.string().max(500).optional(),
  aadObjectId: z.string().max(100).optional(),
})

/** A language tag (BCP 47, as Teams sends `en-US`), the only shape of `locale` we pass on. */
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/

/** Loopback hosts: the Bot Framework Emulator runs beside the bot, on plain http. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/**
 * Where the connector is (`serviceUrl`): an https URL, as every Bot Framework channel sends. Plain
 * http only when `loopbackHttp` (unauthenticated mode, for the Emulator on the same machine) and
 * only to a loopback host, so no reply, with whatever token, leaves the machine in clear text.
 * Printable ASCII without spaces: botbuilder builds every connector URL by appending to it.
 */
function serviceUrl(loopbackHttp: boolean) {
  return z
    .string()
    .max(2000)
    .regex(/^[\x21-\x7e]+$/, 'not printable ASCII')
    .refine((value) => {
      let url: URL
      try {
        url = new URL(value)
      } catch {
        return false
      }
      if (url.username !== '' || url.password !== '') return false
      if (url.protocol === 'https:') return true
      return loopbackHttp && url.protocol === 'http:' && isLoopback(url.hostname)
    }, 'not an https URL')
}

/**
 * An account as botbuilder copies it into replies (`from` and `recipient` swapped). Its serializer
 * checks each field's type and fails the reply on a wrong one, so each is checked here; the
 * fields not checked here are dropped (no reply needs them).
 */
const envelopeAccount = z.object({
  id: connectorId(500),
  name: z.string().max(500).nullish(),
  aadObjectId: z.string().max(100).nullish(),
  role: z.string().max(50).nullish(),
})

/**
 * The envelope of any activity, checked before botbuilder sees it: what botbuilder reads to
 * answer (`serviceUrl` builds its connector client, for every activity type) and what it copies
 * into each reply (TurnContext.getConversationReference: `channelId`, `locale`, `serviceUrl`,
 * `conversation`, `from`/`recipient`, and `id` as the reply's `replyToId`). A wrong type there
 * makes botbuilder throw (a 500) or fails the reply's serialization after the work is done (the
 * user is never answered), so a malformed envelope is refused with a 400 and nothing runs.
 *
 * Everything else passes through untouched (text, value, channelData, entities: the turn parses
 * what it reads). An unreadable `locale` is dropped rather than refused: it is only a hint for
 * the reply, and the message is otherwise fine.
 */
export function ActivityEnvelope(opts: { loopbackHttp: boolean }) {
  return z.looseObject({
    type: z.string().min(1).max(100),
    serviceUrl: serviceUrl(opts.loopbackHttp),
    id: connectorId(500).optional(),
    replyToId: connectorId(500).nullish(),
    channelId: connectorId(100).optional(),
    locale: z.string().max(35).regex(LANGUAGE_TAG).optional().catch(undefined),
    from: envelopeAccount.optional(),
    recipient: envelopeAccount.optional(),
    conversation: envelopeAccount
      .extend({
        id: connectorId(1000),
        conversationType: z.string().max(50).nullish(),
        tenantId: z.string().max(100).nullish(),
        isGroup: z.boolean().nullish(),
      })
      .optional(),
  })
}

/** A message activity, as far as we read it. `text` is absent on a card click (`value` instead). */
export const MessageActivity = z.object({
  type: z.literal('message'),
  id: connectorId(500),
  channelId: z.string().max(100),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  text: z.string().max(10_000).optional(),
  value: z.unknown().optional(),
  replyToId: connectorId(500).optional(),
  from: account,
  recipient: account,
  conversation: z.object({
    id: connectorId(1000),
    conversationType: z.string().max(50).optional(),
    tenantId: z.string().max(100).optional(),
    isGroup: z.boolean().optional(),
  }),
  channelData: z
    .object({
      tenant: z.object({ id: z.string().max(100) }).optional(),
      team: z.object({ id: z.string().max(500) }).optional(),
      channel: z.object({ id: z.string().max(500).optional(), name: z.string().max(500).optional() }).optional(),
    })
    .optional()
    // Unreadable channelData does not stop a message: the tenant can still come from the conversation.
    .catch(undefined),
  /** Where the client says its zone: a `clientInfo` entity (others, such as mentions, are not read here). */
  entities: z
    .array(z.unknown())
    .max(50)
    .optional()
    .catch(undefined),
  localTimezone: z.string().max(64).optional().catch(undefined),
})
export type MessageActivity = z.infer<typeof MessageActivity>

/** The `clientInfo` entity Teams adds to what a person sends: their client's time zone. */
const ClientInfo = z.object({ type: z.literal('clientInfo'), timezone: z.string().max(64) })

/** The sender's time zone as their Teams client gives it (`clientInfo`, else `localTimezone`), unchecked; null when absent. */
export function clientTimeZone(activity: MessageActivity): string | null {
  for (const entity of activity.entities ?? []) {
    const info = ClientInfo.safeParse(entity)
    if (info.success) return info.data.timezone
  }
  return activity.localTimezone ?? null
}

/** The tenant an activity comes from: channelData first (Teams always sends it), then the conversation. */
export function tenantOf(activity: MessageActivity): string | null {
  return activity.channelData?.tenant?.id ?? activity.conversation.tenantId ?? null
}

/** A personal (1:1) chat: the only place a link secret may be posted (docs/lifecycle.md, "copy link"). */
export function isPersonal(activity: MessageActivity): boolean {
  return activity.conversation.conversationType === 'personal'
}

const uuid = z.string().refine(isUuid, 'not a uuid')
const page = z.number().int().min(1).max(100_000)

/**
 * Where a card was: a list page (filter, page), a user's card, a channel notice (which one, and
 * the users of its rows, so a click re-renders it whole: render-notices.ts), or a one-off reply.
 */
export const CardOrigin = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('list'), filter: z.enum(listFilters), page }),
  z.object({ kind: z.literal('show'), userId: uuid }),
  z.object({ kind: z.literal('notice'), notice: z.enum(noticeKinds), userIds: z.array(uuid).min(1).max(10) }),
  z.object({ kind: z.literal('reply') }),
])
export type CardOrigin = z.infer<typeof CardOrigin>

/** The verb of every `Action.Execute` of ours: the data says what to do. */
export const INVITEOPS_VERB = 'inviteops'

/**
 * What our buttons carry (we wrote it; still parsed on the way in): the `data` of an
 * `Action.Execute` with the verb `INVITEOPS_VERB`, or the `value`
 * of an older card's Action.Submit, which keeps working. Ids only, never an email to trust or a
 * link secret; everything is re-checked by the core.
 */
export const CardValue = z.discriminatedUnion('inviteops', [
  /** A row action; remove only asks (a second card), `remove.confirmed` acts. */
  /** `expiresAt` (resend): the expiry the card showed, in epoch seconds. */
  z.object({
    inviteops: z.literal('row'),
    action: z.enum(rowActions),
    userId: uuid,
    invitationId: uuid.nullable().optional(),
    expiresAt: z.number().int().min(0).max(1e11).optional(),
    origin: CardOrigin,
  }),
  z.object({ inviteops: z.literal('remove.confirmed'), userId: uuid, origin: CardOrigin }),
  /** Back out of a removal or an edit: the card it came from is shown again. */
  z.object({ inviteops: z.literal('cancel'), origin: CardOrigin }),
  /** Paging and the status filter (an Input.ChoiceSet named `filter` sends its choice beside the data). */
  z.object({ inviteops: z.literal('list'), filter: z.enum(listFilters), page }),
  z.object({ inviteops: z.literal('list.filter'), filter: z.enum(listFilters) }),
  /** The edit card's submit: the multi-select `groups` arrives as "<id>,<id>" beside the data (group ids: names may hold commas). */
  z.object({ inviteops: z.literal('edit.save'), userId: uuid, origin: CardOrigin, groups: z.string().max(5000).optional() }),
])
export type CardValue = z.infer<typeof CardValue>

/** `GET /v3/conversations/{id}/members/{userId}`: the slice we decide on (docs/security.md). */
export const TeamsMember = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  aadObjectId: z.string().optional(),
  email: z.string().max(320).optional().nullable(),
  userPrincipalName: z.string().max(320).optional().nullable(),
  tenantId: z.string().optional().nullable(),
  userRole: z.string().optional().nullable(),
})
export type TeamsMember = z.infer<typeof TeamsMember>

/** `POST /v3/conversations` answer: the new 1:1 conversation's id. */
export const ConversationResource = z.object({ id: z.string().min(1).max(1000) })

/** The invitation a row button names, where the core uses it: regenerate's id, resend's id and shown expiry (epoch seconds). */
export function invitationKey(action: RowAction, invitationId: string | null, expiresAt: Date | null): { invitationId: string | null; expiresAt?: number } {
  if (action === 'regenerate') return { invitationId }
  if (action === 'resend' && invitationId && expiresAt) return { invitationId, expiresAt: Math.floor(expiresAt.getTime() / 1000) }
  return { invitationId: null }
}
