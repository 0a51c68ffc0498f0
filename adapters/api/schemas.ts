/**
 * The API's zod schemas (docs/api.md): what the router validates requests with and what its
 * answers look like. The OpenAPI document is generated from these same objects (openapi.ts), so
 * the document cannot say something the router does not do. Field names are snake_case, dates
 * ISO 8601 in UTC.
 */
import { z } from 'zod'
import 'zod-openapi'
import { displayStatuses } from '../../src/invitations/model.ts'

const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC', example: '2026-11-30T10:00:00.000Z' })
const Uuid = z.uuid()

// ---------------------------------------------------------------- answers

export const Delivery = z
  .object({
    status: z.enum(['queued', 'sent', 'failed', 'bounced', 'complained']),
    detail: z.string().nullable(),
    message_id: z.string().nullable(),
  })
  .meta({ id: 'Delivery', description: 'What happened to the latest email of the invitation.' })

export const Invitation = z
  .object({
    id: Uuid,
    state: z.enum(['pending', 'accepted', 'declined', 'replaced', 'revoked']),
    created_at: Timestamp,
    expires_at: Timestamp,
    invited_by: z.string().nullable().meta({ description: "The inviting administrator's email, or `api:<label>` for an API key" }),
    sent_count: z.number().int(),
    last_sent_at: Timestamp.nullable(),
    delivery: Delivery.nullable(),
  })
  .meta({ id: 'Invitation', description: "The user's latest invitation." })

export const User = z
  .object({
    id: Uuid,
    account_id: Uuid,
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    status: z.enum(displayStatuses).meta({ description: '`expired` is an invitation whose link has passed its expiry' }),
    groups: z.array(z.string()),
    joined_at: Timestamp.nullable(),
    invitation: Invitation.nullable(),
    actions: z.array(z.enum(['resend', 'regenerate', 'link', 'edit', 'remove'])).meta({ description: 'The actions that apply to the user now' }),
  })
  .meta({ id: 'User' })

export const UserPage = z
  .object({
    data: z.array(User),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'UserPage' })

export const InvitationLink = z
  .object({
    user_id: Uuid,
    url: z.string().meta({ description: 'The working invitation link. A secret: whoever has it can accept the invitation.' }),
    expires_at: Timestamp,
  })
  .meta({ id: 'InvitationLink' })

export const Group = z
  .object({ id: Uuid, name: z.string(), is_admin: z.boolean(), member_count: z.number().int() })
  .meta({ id: 'Group' })

export const GroupList = z.object({ data: z.array(Group) }).meta({ id: 'GroupList' })

export const AuditEntry = z
  .object({
    id: z.string(),
    at: Timestamp,
    actor: z.string().meta({ description: 'Who acted: an email, or `<platform>:<id>` (`api:<label>` for an API key)', example: 'api:crm' }),
    action: z.string(),
    target_email: z.string().nullable(),
    result_code: z.string(),
    ok: z.boolean(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' })

export const AuditPage = z
  .object({ data: z.array(AuditEntry), next_cursor: z.string().nullable() })
  .meta({ id: 'AuditPage' })

export const RedeemedInvitee = z
  .object({
    email: z.string(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    account_id: Uuid,
    account_name: z.string(),
    groups: z.array(z.string()),
    user_id: Uuid,
    accepted_at: Timestamp,
  })
  .meta({ id: 'RedeemedInvitee', description: 'The invitee the code was issued for; their invitation is now accepted.' })

export const Problem = z
  .object({
    type: z.string().meta({ description: 'A URI naming the problem type: `urn:inviteops:problem:<code>`' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ description: 'The stable result code (the same codes as in chat and the audit log)', example: 'user.not_found' }),
    errors: z
      .array(z.object({ field: z.string().meta({ description: 'Dotted path of the field, e.g. `groups.0`, or a header or parameter name' }), message: z.string() }))
      .optional(),
    retry_at: Timestamp.optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details, served as application/problem+json' })

// ---------------------------------------------------------------- requests

/**
 * A path's user id: a uuid (other text is a 400 naming `id`, and reaches no use case); a uuid that
 * is no user of the account is a 404.
 */
export const UserIdParams = z.object({ id: z.uuid('must be a user id (a uuid)').meta({ description: 'The user id (uuid)' }) })

const Limit = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
  .meta({ description: 'Page size, 1 to 100 (default 50)' })
const Cursor = z.string().min(1).max(512).meta({ description: '`next_cursor` of the previous page' })
const EmailParam = z.string().min(1).max(320)

export const ListUsersQuery = z.strictObject({
  status: z.enum(['all', ...displayStatuses]).optional().meta({ description: 'Only users with this status (default all)' }),
  email: EmailParam.optional().meta({ description: 'Only the user with this email' }),
  limit: Limit.optional(),
  cursor: Cursor.optional(),
})

export const AuditQuery = z.strictObject({
  email: EmailParam.optional().meta({ description: 'Only entries about this email' }),
  limit: Limit.optional(),
  cursor: Cursor.optional(),
})

const PersonName = z.string().max(100)
const GroupName = z.string().trim().min(1, 'must not be empty').max(100)

export const InviteBody = z
  .strictObject({
    email: z.string().min(1, 'is required').max(320),
    first_name: PersonName.nullable().optional(),
    last_name: PersonName.nullable().optional(),
    groups: z.array(GroupName).max(50).optional().meta({ description: "Group names; none means the account's default group" }),
  })
  .meta({ id: 'InviteRequest' })

export const GroupsBody = z.strictObject({ groups: z.array(GroupName).min(1, 'name at least one group').max(50) }).meta({ id: 'GroupsRequest' })

export const CreateGroupBody = z.strictObject({ name: z.string().max(1_000) }).meta({ id: 'CreateGroupRequest' })

export const RedeemBody = z.strictObject({ code: z.string().min(1, 'is required').max(512) }).meta({ id: 'RedeemRequest' })

/** The headers a write may carry. */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be 1 to 255 visible ASCII characters')
    .optional()
    .meta({ description: 'Send the same key again to get the first answer again (24 hours); see docs/api.md' }),
})
