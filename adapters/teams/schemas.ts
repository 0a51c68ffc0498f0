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
import { displayStatuses } from '../../src/invitations/model.ts'
import type { ListFilter } from '../../src/commands/types.ts'
import type { RowAction } from '../../src/invitations/model.ts'

export const rowActions = ['resend', 'regenerate', 'link', 'edit', 'remove'] as const satisfies readonly RowAction[]
export const listFilters = [...displayStatuses, 'all'] as const satisfies readonly ListFilter[]

const account = z.object({
  id: z.string().min(1).max(500),
  name: z.string().max(500).optional(),
  aadObjectId: z.string().max(100).optional(),
})

/** A message activity, as far as we read it. `text` is absent on a card click (`value` instead). */
export const MessageActivity = z.object({
  type: z.literal('message'),
  id: z.string().min(1).max(500),
  channelId: z.string().max(100),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  text: z.string().max(10_000).optional(),
  value: z.unknown().optional(),
  replyToId: z.string().max(500).optional(),
  from: account,
  recipient: account,
  conversation: z.object({
    id: z.string().min(1).max(1000),
    conversationType: z.string().max(50).optional(),
    tenantId: z.string().max(100).optional(),
    isGroup: z.boolean().optional(),
  }),
  channelData: z
    .object({
      tenant: z.object({ id: z.string().max(100) }).optional(),
      team: z.object({ id: z.string().max(500) }).optional(),
    })
    .optional()
    // Unreadable channelData does not stop a message: the tenant can still come from the conversation.
    .catch(undefined),
})
export type MessageActivity = z.infer<typeof MessageActivity>

/** The tenant an activity comes from: channelData first (Teams always sends it), then the conversation. */
export function tenantOf(activity: MessageActivity): string | null {
  return activity.channelData?.tenant?.id ?? activity.conversation.tenantId ?? null
}

/** A personal (1:1) chat: the only place a link secret may be posted (docs/lifecycle.md, "copy link"). */
export function isPersonal(activity: MessageActivity): boolean {
  return activity.conversation.conversationType === 'personal'
}

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
const page = z.number().int().min(1).max(100_000)

/** Where a card was: a list page (filter, page), a user's card, or a one-off reply. */
export const CardOrigin = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('list'), filter: z.enum(listFilters), page }),
  z.object({ kind: z.literal('show'), userId: uuid }),
  z.object({ kind: z.literal('reply') }),
])
export type CardOrigin = z.infer<typeof CardOrigin>

/**
 * What our Action.Submit buttons carry (we wrote it; still parsed on the way in). Ids only, never
 * an email to trust or a link secret; everything is re-checked by the core.
 */
export const CardValue = z.discriminatedUnion('inviteops', [
  /** A row action; remove only asks (a second card), `remove.confirmed` acts. */
  z.object({ inviteops: z.literal('row'), action: z.enum(rowActions), userId: uuid, invitationId: uuid.nullable().optional(), origin: CardOrigin }),
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
