/**
 * The routes of `/api/v1` as data (docs/api.md): each route's method, path, zod schemas, success
 * answer, the problems it can give, and its handler. The router (router.ts) serves exactly this
 * table and the OpenAPI document (openapi.ts) describes exactly this table: one definition per
 * route, used for both. Handlers call the same use cases as chat, with the same rules, audit and
 * result codes; the actor is the API key (`api:<label>`).
 */
import type { z } from 'zod'
import { addGroup, type AddGroupFailure } from '../../src/api/add-group.ts'
import { listGroups } from '../../src/accounts/list-groups.ts'
import { listAudit } from '../../src/audit/list-audit.ts'
import type { Deps } from '../../src/deps.ts'
import { redeemHandOverCode, type HandOverFailure } from '../../src/handover/redeem.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import type { Actor, AuditEntry as AuditEntryView, GroupView, UserView } from '../../src/invitations/model.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { resendInvitation } from '../../src/invitations/resend-invitation.ts'
import { ok, type Result } from '../../src/shared/result.ts'
import { editUserGroups } from '../../src/users/edit-user-groups.ts'
import { listUsersPage } from '../../src/users/list-users.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { showUser } from '../../src/users/show-user.ts'
import {
  AuditPage,
  AuditQuery,
  CreateGroupBody,
  Group,
  GroupList,
  GroupsBody,
  InvitationLink,
  InviteBody,
  ListUsersQuery,
  RedeemBody,
  RedeemedInvitee,
  User,
  UserIdParams,
  UserPage,
} from './schemas.ts'

/** A refusal a handler can return: the core's, or the edge's own (a cursor it did not issue). */
export type RouteFailure = LifecycleFailure | AddGroupFailure | HandOverFailure | { code: 'request.invalid'; field: string; message: string }

/** What a handler gets: validated input, the key's account and actor. */
export interface RouteContext<P, Q, B> {
  deps: Deps
  accountId: string
  actor: Actor
  params: P
  query: Q
  body: B
}

export type HttpMethod = 'get' | 'post' | 'put' | 'delete'

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  operationId: string
  method: HttpMethod
  /** OpenAPI form (`/users/{id}`), relative to `/api/v1`. */
  path: string
  summary: string
  description?: string
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  body?: z.ZodType<B>
  success: { status: 200 | 201; description: string; schema: z.ZodType }
  /** Problems particular to this route (the router's common ones are added to every route). */
  problems: number[]
  handle(ctx: RouteContext<P, Q, B>): Promise<Result<unknown, RouteFailure>>
}

/** Keeps each route's handler typed by its own schemas, then erases them for the table. */
function route<P = undefined, Q = undefined, B = undefined>(r: ApiRoute<P, Q, B>): ApiRoute {
  return r as unknown as ApiRoute
}

// ---------------------------------------------------------------- views as JSON

const iso = (d: Date) => d.toISOString()
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null)

/** A user as the API shows it (the `User` schema). */
export function userJson(u: UserView): z.input<typeof User> {
  const i = u.invitation
  return {
    id: u.id,
    account_id: u.accountId,
    email: u.email,
    first_name: u.firstName,
    last_name: u.lastName,
    status: u.status,
    groups: u.groups,
    joined_at: isoOrNull(u.joinedAt),
    invitation: i
      ? {
          id: i.id,
          state: i.state,
          created_at: iso(i.createdAt),
          expires_at: iso(i.expiresAt),
          invited_by: i.invitedBy,
          sent_count: i.sentCount,
          last_sent_at: isoOrNull(i.lastSentAt),
          delivery: i.delivery ? { status: i.delivery.status, detail: i.delivery.detail, message_id: i.delivery.messageId } : null,
        }
      : null,
    actions: u.actions,
  }
}

function groupJson(g: GroupView): z.input<typeof Group> {
  return { id: g.id, name: g.name, is_admin: g.isAdmin, member_count: g.memberCount }
}

function auditJson(e: AuditEntryView) {
  return {
    id: e.id,
    at: iso(e.at),
    actor: e.actor.email ?? `${e.actor.platform}:${e.actor.platformUserId}`,
    action: e.action,
    target_email: e.targetEmail,
    result_code: e.resultCode,
    ok: e.ok,
    detail: e.detail,
  }
}

// ---------------------------------------------------------------- cursors

/**
 * Cursors are opaque to clients (base64url of JSON): the position after the last item of a page.
 * Nothing in one is trusted: it is parsed back with the same checks as any input.
 */
function encodeCursor(value: Record<string, string>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

const badCursor = { ok: false as const, code: 'request.invalid' as const, field: 'cursor', message: 'is not a cursor this API gave' }

function userCursor(cursor: string | undefined): string | null | false {
  if (cursor === undefined) return null
  const v = decodeCursor(cursor)
  return typeof v?.e === 'string' && v.e.length <= 320 ? v.e : false
}

function auditCursor(cursor: string | undefined): { at: Date; id: string } | null | false {
  if (cursor === undefined) return null
  const v = decodeCursor(cursor)
  if (typeof v?.at !== 'string' || typeof v.id !== 'string' || !/^[0-9]{1,19}$/.test(v.id)) return false
  const at = new Date(v.at)
  return Number.isNaN(at.getTime()) ? false : { at, id: v.id }
}

const DEFAULT_LIMIT = 50

// ---------------------------------------------------------------- the table

export const apiRoutes: ApiRoute[] = [
  route<undefined, z.output<typeof ListUsersQuery>>({
    operationId: 'listUsers',
    method: 'get',
    path: '/users',
    summary: 'List users',
    description: 'Users of the account in email order, a page at a time. `status` filters by the Joined status; `email` finds one user.',
    query: ListUsersQuery,
    success: { status: 200, description: 'A page of users', schema: UserPage },
    problems: [],
    async handle({ deps, accountId, actor, query }) {
      const after = userCursor(query.cursor)
      if (after === false) return badCursor
      const r = await listUsersPage(deps, { accountId, actor, filter: query.status ?? 'all', email: query.email ?? null, limit: query.limit ?? DEFAULT_LIMIT, afterEmail: after })
      if (!r.ok) return r
      return ok({ data: r.value.users.map(userJson), next_cursor: r.value.nextAfterEmail === null ? null : encodeCursor({ e: r.value.nextAfterEmail }) })
    },
  }),
  route<z.output<typeof UserIdParams>>({
    operationId: 'getUser',
    method: 'get',
    path: '/users/{id}',
    summary: 'Show a user',
    params: UserIdParams,
    success: { status: 200, description: 'The user', schema: User },
    problems: [404],
    async handle({ deps, accountId, actor, params }) {
      const r = await showUser(deps, { accountId, actor, email: '', targetUserId: params.id })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route<undefined, undefined, z.output<typeof InviteBody>>({
    operationId: 'inviteUser',
    method: 'post',
    path: '/users',
    summary: 'Invite a user',
    description:
      'Invites the email to the account (an invitation email is queued). A new person needs first_name and last_name; someone who declined or was removed is invited again. Accepts an Idempotency-Key.',
    body: InviteBody,
    success: { status: 201, description: 'The invited user', schema: User },
    problems: [409, 422],
    async handle({ deps, accountId, actor, body }) {
      const r = await addInvitation(deps, { accountId, actor, email: body.email, firstName: body.first_name ?? null, lastName: body.last_name ?? null, groups: body.groups ?? [] })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route<z.output<typeof UserIdParams>>({
    operationId: 'resendInvitation',
    method: 'post',
    path: '/users/{id}/resend',
    summary: 'Resend the invitation',
    description: 'Emails the still valid link again and extends it. An expired one is refused `invitation.expired`: regenerate it.',
    params: UserIdParams,
    success: { status: 200, description: 'The user, invitation resent', schema: User },
    problems: [404, 409, 422],
    async handle({ deps, accountId, actor, params }) {
      const r = await resendInvitation(deps, { accountId, actor, email: '', targetUserId: params.id })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route<z.output<typeof UserIdParams>>({
    operationId: 'regenerateInvitation',
    method: 'post',
    path: '/users/{id}/regenerate',
    summary: 'Send a new invitation link',
    description: 'Replaces the link (the old one stops working) and emails the new one.',
    params: UserIdParams,
    success: { status: 200, description: 'The user, with a new invitation', schema: User },
    problems: [404, 409, 422],
    async handle({ deps, accountId, actor, params }) {
      const r = await regenerateInvitation(deps, { accountId, actor, email: '', targetUserId: params.id })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route<z.output<typeof UserIdParams>>({
    operationId: 'getInvitationLink',
    method: 'get',
    path: '/users/{id}/link',
    summary: 'Get the invitation link',
    description: 'The working link of an Invited user. It is a secret: whoever has it can accept the invitation. Audited.',
    params: UserIdParams,
    success: { status: 200, description: 'The link', schema: InvitationLink },
    problems: [404, 409],
    async handle({ deps, accountId, actor, params }) {
      const r = await copyInvitationLink(deps, { accountId, actor, email: '', targetUserId: params.id })
      return r.ok ? ok({ user_id: r.value.user.id, url: r.value.url, expires_at: iso(r.value.expiresAt) }) : r
    },
  }),
  route<z.output<typeof UserIdParams>, undefined, z.output<typeof GroupsBody>>({
    operationId: 'setUserGroups',
    method: 'put',
    path: '/users/{id}/groups',
    summary: "Replace a user's groups",
    params: UserIdParams,
    body: GroupsBody,
    success: { status: 200, description: 'The user with their new groups', schema: User },
    problems: [404, 409, 422],
    async handle({ deps, accountId, actor, params, body }) {
      const r = await editUserGroups(deps, { accountId, actor, email: '', targetUserId: params.id, groups: body.groups })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route<z.output<typeof UserIdParams>>({
    operationId: 'removeUser',
    method: 'delete',
    path: '/users/{id}',
    summary: 'Remove a user',
    description: 'The user becomes Removed: a pending link stops working and a removal email is queued. The last administrator cannot be removed.',
    params: UserIdParams,
    success: { status: 200, description: 'The removed user', schema: User },
    problems: [404, 409],
    async handle({ deps, accountId, actor, params }) {
      const r = await removeUser(deps, { accountId, actor, email: '', targetUserId: params.id })
      return r.ok ? ok(userJson(r.value.user)) : r
    },
  }),
  route({
    operationId: 'listGroups',
    method: 'get',
    path: '/groups',
    summary: 'List groups',
    success: { status: 200, description: 'The groups with their member counts', schema: GroupList },
    problems: [],
    async handle({ deps, accountId, actor }) {
      const r = await listGroups(deps, { accountId, actor })
      return r.ok ? ok({ data: r.value.groups.map(groupJson) }) : r
    },
  }),
  route<undefined, undefined, z.output<typeof CreateGroupBody>>({
    operationId: 'createGroup',
    method: 'post',
    path: '/groups',
    summary: 'Create a group',
    description: "A group that does not administer the account (administrators' groups are the operator's: `inviteops groups create --admin`).",
    body: CreateGroupBody,
    success: { status: 201, description: 'The new group', schema: Group },
    problems: [409],
    async handle({ deps, accountId, actor, body }) {
      const r = await addGroup(deps, { accountId, actor, name: body.name })
      return r.ok ? ok(groupJson(r.value.group)) : r
    },
  }),
  route<undefined, z.output<typeof AuditQuery>>({
    operationId: 'listAudit',
    method: 'get',
    path: '/audit',
    summary: 'Read the audit log',
    description: 'Every attempt, allowed or refused, newest first; `email` for the entries about one person.',
    query: AuditQuery,
    success: { status: 200, description: 'A page of entries', schema: AuditPage },
    problems: [],
    async handle({ deps, accountId, actor, query }) {
      const before = auditCursor(query.cursor)
      if (before === false) return badCursor
      const limit = query.limit ?? DEFAULT_LIMIT
      // One more than asked: whether a next page exists.
      const r = await listAudit(deps, { accountId, actor, email: query.email ?? null, limit: limit + 1, before })
      if (!r.ok) return r
      const page = r.value.entries.slice(0, limit)
      const last = page[page.length - 1]
      return ok({ data: page.map(auditJson), next_cursor: r.value.entries.length > limit && last ? encodeCursor({ at: iso(last.at), id: last.id }) : null })
    },
  }),
  route<undefined, undefined, z.output<typeof RedeemBody>>({
    operationId: 'redeemHandOverCode',
    method: 'post',
    path: '/invitations/redeem',
    summary: 'Redeem a hand-over code',
    description:
      "With ACCEPT_REDIRECT_URL set, an invitee who accepts is sent to the product's sign-up with a one-time code; the product's backend redeems it here to learn who the invitee is, and the invitation becomes accepted.",
    body: RedeemBody,
    success: { status: 200, description: 'The invitee', schema: RedeemedInvitee },
    problems: [409, 422],
    async handle({ deps, accountId, actor, body }) {
      const r = await redeemHandOverCode(deps, { accountId, code: body.code, actor })
      if (!r.ok) return r
      const v = r.value
      return ok({ email: v.email, first_name: v.firstName, last_name: v.lastName, account_id: v.accountId, account_name: v.accountName, groups: v.groups, user_id: v.userId, accepted_at: iso(v.acceptedAt) })
    },
  }),
]
