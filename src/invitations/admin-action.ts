import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-log.ts'
import type { Deps } from '../deps.ts'
import { normaliseEmail } from '../shared/email-address.ts'
import { fail, type Result } from '../shared/result.ts'
import type { LifecycleFailure } from './failures.ts'
import type { Actor } from './model.ts'

/** The Active administrator behind an action. */
export interface Admin {
  userId: string
  email: string
  name: string
  accountId: string
  accountName: string
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
  /** The audit result code for success. */
  successCode: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The frame of every administrator use case: one transaction; the actor checked against the
 * database on every call (docs/security.md: never cached here); the target email normalised; the
 * attempt audited, allowed or refused, in the same transaction as its effect.
 */
export async function adminAction<T>(
  deps: Deps,
  input: AdminActionInput,
  body: (scope: AdminScope, email: string) => Promise<Result<T, LifecycleFailure>>,
): Promise<Result<T, LifecycleFailure>> {
  const now = deps.clock.now()
  const validAccount = UUID.test(input.accountId)
  return deps.db.transaction(async (trx) => {
    // One query on the common path: an admin found means the account exists.
    const admin = validAccount ? await findAdmin(trx, input.accountId, input.actor) : null
    const accountExists = admin !== null || (validAccount && (await accountIdIfExists(trx, input.accountId)) !== null)
    const detail: Record<string, unknown> = {}
    const audit = async (result: Result<T, LifecycleFailure>, target: string | null) => {
      await recordAudit(trx, {
        accountId: accountExists ? input.accountId : null,
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

    if (!admin) {
      const target = input.targetEmail ? normaliseEmail(input.targetEmail) : null
      return audit(fail(accountExists ? { code: 'auth.not_admin' } : { code: 'account.not_found' }), target?.ok ? target.email : null)
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
    const result = await body({ trx, admin, now, detail }, email)
    return audit(result, email || null)
  })
}

async function accountIdIfExists(trx: Knex.Transaction, accountId: string): Promise<string | null> {
  const row = await trx('accounts').where({ id: accountId }).first<{ id: string } | undefined>('id')
  return row?.id ?? null
}

/** The actor, if their platform-vouched email is an Active administrator of the account. */
export async function findAdmin(db: Knex | Knex.Transaction, accountId: string, actor: Actor): Promise<Admin | null> {
  if (!actor.email) return null
  const checked = normaliseEmail(actor.email)
  if (!checked.ok) return null
  const row = await db('users as u')
    .join('accounts as a', 'a.id', 'u.account_id')
    .join('user_groups as ug', 'ug.user_id', 'u.id')
    .join('groups as g', 'g.id', 'ug.group_id')
    .where({ 'u.account_id': accountId, 'u.email': checked.email, 'u.status': 'active', 'g.is_admin': true })
    .first<{ id: string; email: string; first_name: string; last_name: string; account_name: string } | undefined>(
      'u.id',
      'u.email',
      'u.first_name',
      'u.last_name',
      'a.name as account_name',
    )
  if (!row) return null
  const name = `${row.first_name} ${row.last_name}`.trim()
  return { userId: row.id, email: row.email, name: name || row.email, accountId, accountName: row.account_name }
}

/** The facts of a failure, as JSON for the audit detail. */
function failureFacts(failure: LifecycleFailure): Record<string, unknown> {
  const { code: _code, ...facts } = failure
  return JSON.parse(JSON.stringify(facts)) as Record<string, unknown>
}
