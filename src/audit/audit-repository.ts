import type { Knex } from 'knex'
import type { Actor, AuditEntry } from '../invitations/model.ts'
import { storable } from '../shared/storable-text.ts'

/** An entry to append: what `AuditEntry` reads back, before it has an id (and with detail optional). */
export type AuditRecord = Omit<AuditEntry, 'id' | 'detail'> & { accountId: string | null; detail?: Record<string, unknown> }

// An attempt carries what its sender chose, and it is audited whatever that was (what a text
// column cannot hold recorded as U+FFFD), rather than failing unrecorded.

/** The audit_log row of an entry: what every attempt stores, whichever statement writes it. */
function auditRow(entry: AuditRecord) {
  const text = (value: string | null | undefined, max: number) => (value === null || value === undefined ? null : storable(value.slice(0, max)))
  return {
    account_id: entry.accountId,
    at: entry.at,
    actor_platform: entry.actor.platform,
    actor_platform_id: text(entry.actor.platformUserId, 200),
    actor_email: text(entry.actor.email, 254),
    action: entry.action,
    target_email: text(entry.targetEmail, 254),
    result_code: entry.resultCode,
    ok: entry.ok,
    detail: JSON.stringify(entry.detail ?? {}, (_key, value: unknown) => (typeof value === 'string' ? storable(value) : value)),
  }
}

/** Append one entry to the audit log (docs/reliability.md: every attempt, allowed or refused). */
export async function recordAudit(db: Knex | Knex.Transaction, entry: AuditRecord): Promise<void> {
  await db('audit_log').insert(auditRow(entry))
}

/**
 * The same append as `recordAudit`, as SQL for a use case that folds it into its own write
 * statement (a data-modifying CTE: `audited AS (<sql>)`), saving a round trip. `?` placeholders.
 */
export function auditInsertSql(entry: AuditRecord): { sql: string; bindings: unknown[] } {
  const r = auditRow(entry)
  return {
    sql:
      'INSERT INTO audit_log (account_id, at, actor_platform, actor_platform_id, actor_email, action, target_email, result_code, ok, detail) ' +
      'VALUES (?::uuid, ?::timestamptz, ?, ?, ?, ?, ?, ?, ?::boolean, ?::jsonb)',
    bindings: [r.account_id, r.at, r.actor_platform, r.actor_platform_id, r.actor_email, r.action, r.target_email, r.result_code, r.ok, r.detail],
  }
}

interface AuditRow {
  id: string | number
  at: Date
  actor_platform: Actor['platform']
  actor_platform_id: string
  actor_email: string | null
  action: string
  target_email: string | null
  result_code: string
  ok: boolean
  detail: Record<string, unknown>
}

/** Newest first, optionally about one email. */
export async function readAudit(
  db: Knex | Knex.Transaction,
  accountId: string,
  opts: { email?: string | null; limit: number; before?: { at: Date; id: string } | null },
): Promise<AuditEntry[]> {
  const q = db('audit_log').where('account_id', accountId).orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(opts.limit)
  if (opts.email) q.andWhere('target_email', opts.email)
  // Keyset paging in the index's order (account_id, at DESC, id DESC).
  if (opts.before) q.andWhereRaw('(at, id) < (?, ?)', [opts.before.at, opts.before.id])
  const rows: AuditRow[] = await q
  return rows.map((r) => ({
    id: String(r.id),
    at: r.at,
    actor: { platform: r.actor_platform, platformUserId: r.actor_platform_id, email: r.actor_email },
    action: r.action,
    targetEmail: r.target_email,
    resultCode: r.result_code,
    ok: r.ok,
    detail: r.detail,
  }))
}

/**
 * The email of whoever last did `action` successfully to `targetEmail` in the account (null when
 * no such entry, or it names no email). Filtered in the query, so any number of refused attempts
 * logged since cannot push it out of sight.
 */
export async function lastSuccessfulActor(db: Knex | Knex.Transaction, accountId: string, action: string, targetEmail: string): Promise<string | null> {
  const row: { actor_email: string | null } | undefined = await db('audit_log')
    .where({ account_id: accountId, action, target_email: targetEmail, ok: true })
    .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first('actor_email')
  return row?.actor_email ?? null
}
