import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import { normaliseEmail } from '../shared/email-address.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, type Result } from '../shared/result.ts'
import { accountExists, lockAccount } from '../accounts/account-repository.ts'
import { findActiveApiKey } from '../api-keys/api-key-repository.ts'
import { findActiveAdmin, findUserByEmail, findUserById, type UserRow } from '../users/user-repository.ts'
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
    // One query on the common path: an admin found means the account exists.
    const admin = validAccount ? await findAdmin(trx, input.accountId, input.actor) : null
    const accountFound = admin !== null || (validAccount && (await accountExists(trx, input.accountId)))
    // An API key's label may name a later key once this one is revoked: the audit keeps its id.
    const detail: Record<string, unknown> = input.actor.platform === 'api' && input.actor.apiKeyId ? { apiKeyId: input.actor.apiKeyId } : {}
    const audit = async (result: Result<T, LifecycleFailure | F>, target: string | null) => {
      if (input.quiet) return result
      await recordAudit(trx, {
        accountId: accountFound ? input.accountId : null,
        at: now,
        actor: input.actor,
        action: input.action,
        targetEmail: target,
        resultCode: result.ok ? input.successCode : result.code,
        ok: result.ok,
        detail: result.ok ? detail : { ...detail, ...failureFacts(result) },
      })
      return result
    }

    const byId = input.targetUserId !== undefined && input.targetUserId !== null
    if (!admin) {
      // Who was aimed at, as far as the input says it without a lookup for a refused actor.
      const target = !byId && input.targetEmail ? normaliseEmail(input.targetEmail) : null
      if (byId) detail.targetUserId = String(input.targetUserId).slice(0, 100)
      return audit(fail(accountFound ? { code: 'auth.not_admin' } : { code: 'account.not_found' }), target?.ok ? target.email : null)
    }
    if (byId) {
      const id = input.targetUserId as string
      // Postgres raises on a malformed uuid: check before the query, and refuse it like an unknown id.
      const user = isUuid(id) ? await findTarget(trx, admin.accountId, { userId: id }, input.lock ?? 'none') : null
      if (!user) return audit(fail({ code: 'user.not_found', email: '', userId: id.slice(0, 100) }), null)
      return audit(await body({ trx, admin, now, detail }, user.email, user), user.email)
    }
    let email = ''
    if (input.targetEmail !== undefined && input.targetEmail !== null) {
      const checked = normaliseEmail(input.targetEmail)
      if (!checked.ok) {
        detail.input = input.targetEmail.slice(0, 300)
        return audit(fail({ code: 'email.invalid', input: input.targetEmail, reason: checked.reason }), null)
      }
      email = checked.email
    }
    if (input.lock !== undefined) {
      const user = await findTarget(trx, admin.accountId, { email }, input.lock)
      if (!user) return audit(fail({ code: 'user.not_found', email }), email || null)
      return audit(await body({ trx, admin, now, detail }, email, user), email || null)
    }
    return audit(await body({ trx, admin, now, detail }, email, null), email || null)
  })
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
  if (!row) return null
  const name = `${row.first_name} ${row.last_name}`.trim()
  return { userId: row.id, apiKeyId: null, email: row.email, name: name || row.email, accountId, accountName: row.account_name, accountTimeZone: row.time_zone }
}

/** The facts of a failure, as JSON for the audit detail. */
function failureFacts(failure: { code: string }): Record<string, unknown> {
  const { code: _code, ...facts } = failure
  return JSON.parse(JSON.stringify(facts)) as Record<string, unknown>
}
