import type { Knex } from 'knex'
import type { Deps } from '../deps.ts'
import { accountGroups } from '../accounts/group-repository.ts'
import { checkSendable, enqueueEmail, sendLimitQuery, sendRefusal, type EmailKind, type EnqueueEmail } from '../email/outbox.ts'
import { outboxInsertSql, sendLimitFactsSql, type SendLimitFacts } from '../email/outbox-repository.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import type { Admin } from './admin-action.ts'
import type { LifecycleFailure } from './failures.ts'
import type { DisplayStatus } from './model.ts'
import { userGroupNames, type UserRow } from '../users/user-repository.ts'
import type { InvitationRow } from './invitation-repository.ts'

/** Shared steps of the invitation use cases: groups by name, send limits, emails, refusals. */

/** Resolve group names (case-insensitive) in an account; all must exist. */
export async function resolveGroups(
  trx: Knex.Transaction,
  accountId: string,
  names: string[],
): Promise<Result<{ id: string; name: string; is_admin: boolean }[], LifecycleFailure>> {
  // Case-insensitive like the lookup below, so `Engineering, engineering` names one group once.
  const wanted = [...new Map(names.map((n) => n.trim()).filter((n) => n !== '').map((n) => [n.toLowerCase(), n] as const)).values()]
  if (wanted.length === 0) return fail({ code: 'group.required' })
  const all = await accountGroups(trx, accountId)
  const byName = new Map(all.map((g) => [g.name.toLowerCase(), g]))
  const missing = wanted.filter((n) => !byName.has(n.toLowerCase()))
  if (missing.length > 0) return fail({ code: 'group.not_found', missing, available: all.map((g) => g.name) })
  return ok(wanted.map((n) => byName.get(n.toLowerCase())!))
}

/**
 * Why an email to `toEmail` caused by `admin` may not be sent now (a suppressed address, a send
 * limit), if it may not. Check before writing anything.
 */
export function sendLimitFailure(deps: Deps, trx: Knex.Transaction, admin: Admin, toEmail: string, now: Date): Promise<LifecycleFailure | null> {
  return checkSendable(trx, { adminUserId: admin.userId, adminApiKeyId: admin.apiKeyId, toEmail, now, limits: deps.config.limits })
}

/**
 * The send-limit facts of `sendLimitFailure` as a one-row sub-select, for a use case that reads
 * them with its other facts in one query; `sendLimitRefusal` then decides as `sendLimitFailure` does.
 */
export function sendLimitFactsQuery(deps: Deps, admin: Admin, toEmail: string, now: Date): { sql: string; bindings: unknown[]; columns: readonly string[] } {
  return sendLimitFactsSql(sendLimitQuery({ adminUserId: admin.userId, adminApiKeyId: admin.apiKeyId, toEmail, now, limits: deps.config.limits }))
}

export function sendLimitRefusal(deps: Deps, admin: Admin, toEmail: string, facts: SendLimitFacts): LifecycleFailure | null {
  return sendRefusal(facts, { adminUserId: admin.userId, adminApiKeyId: admin.apiKeyId, toEmail, limits: deps.config.limits })
}

interface InvitationEmail {
  kind: EmailKind
  user: UserRow
  invitation: Pick<InvitationRow, 'id' | 'expires_at'> | null
  admin: Admin
  now: Date
  groups?: string[]
  invitationMarkedQueued?: boolean
}

/** The outbox row of the email an invitation change causes (`groups`: the user's group names). */
function invitationEmail(opts: InvitationEmail, groups: string[]): EnqueueEmail {
  return {
    accountId: opts.user.account_id,
    userId: opts.user.id,
    invitationId: opts.invitation?.id ?? null,
    kind: opts.kind,
    toEmail: opts.user.email,
    requestedByUserId: opts.admin.userId,
    requestedByApiKeyId: opts.admin.apiKeyId,
    now: opts.now,
    invitationMarkedQueued: opts.invitationMarkedQueued ?? false,
    payload: {
      accountName: opts.admin.accountName,
      recipientFirstName: opts.user.first_name,
      // An API key is no person to name to the invitee: the email says "An administrator".
      inviterName: opts.admin.apiKeyId ? null : opts.admin.name,
      inviterEmail: opts.admin.apiKeyId ? null : opts.admin.email,
      groups,
      expiresAt: opts.invitation?.expires_at.toISOString() ?? null,
      timeZone: opts.admin.accountTimeZone,
    },
  }
}

/**
 * Write the email an invitation change causes to the outbox, in the same transaction. `groups`
 * (the user's group names) when the caller has them; read here otherwise. `invitationMarkedQueued`
 * when the caller already set the invitation's delivery status to `queued`.
 */
export async function sendInvitationEmail(trx: Knex.Transaction, opts: InvitationEmail): Promise<void> {
  await enqueueEmail(trx, invitationEmail(opts, opts.groups ?? (await userGroupNames(trx, opts.user.id))))
}

/**
 * The same email as `sendInvitationEmail`, as SQL for the caller's own write statement (the
 * invitation it names already marked `queued` there): `queued AS (<sql>)`.
 */
export function invitationEmailSql(opts: Omit<InvitationEmail, 'invitationMarkedQueued'> & { groups: string[] }): { sql: string; bindings: unknown[] } {
  return outboxInsertSql(invitationEmail(opts, opts.groups))
}

/**
 * The refusal for an action that does not apply to `status`, naming the right action
 * (docs/lifecycle.md): expired → regenerate, still valid → resend, declined/removed → add.
 */
export function refusalFor(status: DisplayStatus, user: UserRow, pending: InvitationRow | null): LifecycleFailure {
  switch (status) {
    case 'invited':
      return { code: 'invitation.still_valid', email: user.email, expiresAt: pending!.expires_at }
    case 'expired':
      return { code: 'invitation.expired', email: user.email, expiredAt: pending?.expires_at ?? user.created_at }
    case 'active':
      return { code: 'user.already_active', email: user.email, joinedAt: user.joined_at }
    case 'declined':
      return { code: 'user.declined', email: user.email }
    case 'removed':
      return { code: 'user.removed', email: user.email }
  }
}

