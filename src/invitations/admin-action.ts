import type { Knex } from 'knex'
import { auditInsertSql, recordAudit, type AuditRecord } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { normaliseEmail } from '../shared/email-address.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, type Result } from '../shared/result.ts'
import { accountExists, lockAccount } from '../accounts/account-repository.ts'
import { findActiveApiKey } from '../api-keys/api-key-repository.ts'
import { findActiveAdmin, findActiveAdminAndTarget, findUserByEmail, findUserById, type ActiveAdminRow, type UserRow } from '../users/user-repository.ts'
import type { LifecycleFailure } from './failures.ts'
import type { Actor } from './model.ts'

/**
 * The Active administrator behind an action, or the API key acting for the account (docs/api.md).
 * A key is no user: `userId` is null, `email` and `name` are `api:<label>` (what "invited by",
 * "replaced by" and the audit show), and its emails count against the hourly send limit of an
 * administrator per key (`apiKeyId`).
 */
export interface Admin {
  /** The administrator's user id; null for an API key. */
  userId: string | null
  /** The API key acting, when the actor is the API. */
  apiKeyId: string | null
  email: string
  name: string
  accountId: string
  accountName: string
  /** The account's time zone (IANA name): emails show their dates in it. */
  accountTimeZone: string
}

export interface AdminScope {
  trx: Knex.Transaction
  admin: Admin
  now: Date
  /** Facts to add to the audit entry. */
  detail: Record<string, unknown>
  /**
   * The success audit entry as SQL (with `detail` as it is now: set every fact first), for a body
   * that folds it into its own last write statement and then returns success; the frame then
   * writes no entry of its own for that success. Null for a quiet action (nothing is audited).
   */
  successAuditSql(): { sql: string; bindings: unknown[] } | null
}

export interface AdminActionInput {
  accountId: string
  actor: Actor
  /** Stable audit action name, e.g. `invitation.regenerate`. */
  action: string
  /** Raw target email as typed, when the action has one: normalised (or refused) here. */
  targetEmail?: string | null
  /**
   * The target by id (a button, a form): looked up in the account, once, inside this transaction;
   * `targetEmail` is then ignored. An id that is not a uuid or not a user of the account is
   * refused `user.not_found`.
   */
  targetUserId?: string | null
  /** The audit result code for success. */
  successCode: string
  /** A re-render after a click that was audited already: the administrator is checked, nothing is audited. */
  quiet?: boolean
  /**
   * Set by actions on an existing user: the target is found (by email or id) before the body
   * runs and handed to it; not found is refused `user.not_found`. Unset: only an id is looked up.
   */
  lock?: TargetLock
}

/**
 * How an action on an existing user finds its target: `none` reads it, `user` locks its row,
 * `account_then_user` locks the account row first (changes to who administers an account are
 * serialised there, and every such use case takes the two locks in this order).
 */
export type TargetLock = 'none' | 'user' | 'account_then_user'

/**
 * The frame of every administrator use case: one transaction; the actor checked against the
 * database on every call (docs/security.md: never cached here); the target email normalised; the
 * attempt audited, allowed or refused, in the same transaction as its effect.
 */
export async function adminAction<T, F extends { code: string } = never>(
  deps: Deps,
  input: AdminActionInput,
  body: (scope: AdminScope, email: string, user: UserRow | null) => Promise<Result<T, LifecycleFailure | NoInfer<F>>>,
): Promise<Result<T, LifecycleFailure | F>> {
  const now = deps.clock.now()
  const validAccount = isUuid(input.accountId)
  return deps.db.transaction(async (trx) => {
    const byId = input.targetUserId !== undefined && input.targetUserId !== null
    // Checked here, before any query: the combined lookup below needs the target's email.
    const checked = !byId && input.targetEmail !== undefined && input.targetEmail !== null ? normaliseEmail(input.targetEmail) : null
    // One query on the common path: an admin found means the account exists. An administrator's
    // action on a user reads (and locks) the user in the same query.
    const found = validAccount ? await findAdminAndTarget(trx, input, byId ? { userId: input.targetUserId as string } : checked?.ok ? { email: checked.email } : null) : null
    const admin = found?.admin ?? null
    const accountFound = admin !== null || (validAccount && (await accountExists(trx, input.accountId)))
    // An API key's label may name a later key once this one is revoked: the audit keeps its id.
    const detail: Record<string, unknown> = input.actor.platform === 'api' && input.actor.apiKeyId ? { apiKeyId: input.actor.apiKeyId } : {}
    const entry = (result: Result<T, LifecycleFailure | F>, target: string | null): AuditRecord => ({
      accountId: accountFound ? input.accountId : null,
      at: now,
      actor: input.actor,
      action: input.action,
      targetEmail: target,
      resultCode: result.ok ? input.successCode : result.code,
      ok: result.ok,
      detail: result.ok ? detail : { ...detail, ...failureFacts(result) },
    })
    // Set when the body wrote the success entry itself (`successAuditSql`).
    let auditedByBody = false
    const audit = async (result: Result<T, LifecycleFailure | F>, target: string | null) => {
      if (input.quiet || (result.ok && auditedByBody)) return result
      await recordAudit(trx, entry(result, target))
      return result
    }
    const scope = (target: string | null): AdminScope => ({
      trx,
      admin: admin!,
      now,
      detail,
      successAuditSql: () => {
        if (input.quiet) return null
        auditedByBody = true
        return auditInsertSql(entry({ ok: true, value: undefined as T }, target))
      },
    })

    if (!admin) {
      // Who was aimed at, as far as the input says it without a lookup for a refused actor.
      const target = !byId && input.targetEmail ? normaliseEmail(input.targetEmail) : null
      if (byId) detail.targetUserId = String(input.targetUserId).slice(0, 100)
      return audit(fail(accountFound ? { code: 'auth.not_admin' } : { code: 'account.not_found' }), target?.ok ? target.email : null)
    }
    if (byId) {
      const id = input.targetUserId as string
      // Postgres raises on a malformed uuid: check before the query, and refuse it like an unknown id.
      const user = !isUuid(id) ? null : found?.target !== undefined ? found.target : await findTarget(trx, admin.accountId, { userId: id }, input.lock ?? 'none')
      if (!user) return audit(fail({ code: 'user.not_found', email: '', userId: id.slice(0, 100) }), null)
      return audit(await body(scope(user.email), user.email, user), user.email)
    }
    let email = ''
    if (input.targetEmail !== undefined && input.targetEmail !== null) {
      const normalised = checked ?? normaliseEmail(input.targetEmail)
      if (!normalised.ok) {
        detail.input = input.targetEmail.slice(0, 300)
        return audit(fail({ code: 'email.invalid', input: input.targetEmail, reason: normalised.reason }), null)
      }
      email = normalised.email
    }
    if (input.lock !== undefined) {
      const user = found?.target !== undefined ? found.target : await findTarget(trx, admin.accountId, { email }, input.lock)
      if (!user) return audit(fail({ code: 'user.not_found', email }), email || null)
      return audit(await body(scope(email || null), email, user), email || null)
    }
    return audit(await body(scope(email || null), email, null), email || null)
  })
}

/**
 * The actor as an administrator (`findAdmin`) and, when the action is on a user named by a
 * well-formed email or a uuid and takes no account lock, that user (read or locked as `lock`
 * says) in the same query. `target` is left out when it was not looked up here: the caller then
 * looks it up itself (`findTarget`).
 */
async function findAdminAndTarget(
  trx: Knex.Transaction,
  input: AdminActionInput,
  by: { email: string } | { userId: string } | null,
): Promise<{ admin: Admin | null; target?: UserRow | null }> {
  const combinable =
    by !== null &&
    (input.lock === 'none' || input.lock === 'user' || ('userId' in by && input.lock === undefined)) &&
    input.actor.platform !== 'api' &&
    !!input.actor.email &&
    !('userId' in by && !isUuid(by.userId))
  const actorEmail = combinable ? normaliseEmail(input.actor.email!) : null
  if (!combinable || !actorEmail?.ok) return { admin: await findAdmin(trx, input.accountId, input.actor) }
  const row = await findActiveAdminAndTarget(trx, input.accountId, actorEmail.email, by, { forUpdate: input.lock === 'user' })
  return { admin: row.admin ? adminOf(row.admin, input.accountId) : null, target: row.target }
}

/**
 * An administrator action on an existing user of the account, named by email or by id: the
 * frame of `adminAction`, and the body gets the user's row (locked as `lock` says). A user that is
 * not found is refused `user.not_found` before the body runs.
 */
export function adminUserAction<T>(
  deps: Deps,
  input: AdminActionInput & { lock: TargetLock },
  body: (scope: AdminScope, user: UserRow) => Promise<Result<T, LifecycleFailure>>,
): Promise<Result<T, LifecycleFailure>> {
  return adminAction(deps, input, (scope, _email, user) => {
    if (!user) throw new Error('adminAction ran a user action without its target')
    return body(scope, user)
  })
}

async function findTarget(trx: Knex.Transaction, accountId: string, by: { email: string } | { userId: string }, lock: TargetLock): Promise<UserRow | null> {
  if (lock === 'account_then_user') await lockAccount(trx, accountId)
  const forUpdate = lock !== 'none'
  return 'userId' in by ? findUserById(trx, accountId, by.userId, { forUpdate }) : findUserByEmail(trx, accountId, by.email, { forUpdate })
}

/**
 * The actor, if their platform-vouched email is an Active administrator of the account, or if
 * they are an API key active for the account (re-read here, so a revoked key stops at once).
 */
export async function findAdmin(db: Knex | Knex.Transaction, accountId: string, actor: Actor): Promise<Admin | null> {
  if (actor.platform === 'api') {
    if (!isUuid(actor.apiKeyId)) return null
    const key = await findActiveApiKey(db, accountId, actor.apiKeyId)
    if (!key) return null
    const who = `api:${key.label}`
    return { userId: null, apiKeyId: key.id, email: who, name: who, accountId, accountName: key.account_name, accountTimeZone: key.time_zone }
  }
  if (!actor.email) return null
  const checked = normaliseEmail(actor.email)
  if (!checked.ok) return null
  const row = await findActiveAdmin(db, accountId, checked.email)
  return row ? adminOf(row, accountId) : null
}

function adminOf(row: ActiveAdminRow, accountId: string): Admin {
  const name = `${row.first_name} ${row.last_name}`.trim()
  return { userId: row.id, apiKeyId: null, email: row.email, name: name || row.email, accountId, accountName: row.account_name, accountTimeZone: row.time_zone }
}

/** The success audit entry (`successAuditSql`) as the `audited` part of a write statement; none when quiet. */
export function auditPart(audit: { sql: string; bindings: unknown[] } | null): { name: string; sql: string; bindings: unknown[] }[] {
  return audit ? [{ name: 'audited', ...audit }] : []
}

/** The facts of a failure, as JSON for the audit detail. */
function failureFacts(failure: { code: string }): Record<string, unknown> {
  const { code: _code, ...facts } = failure
  return JSON.parse(JSON.stringify(facts)) as Record<string, unknown>
}
