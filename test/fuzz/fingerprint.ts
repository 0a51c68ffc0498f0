/**
 * A fingerprint of the data a refused input must leave alone: one md5 per table over its rows'
 * text in a fixed order, all read by one SQL statement (one snapshot).
 *
 * Every table of the schema is in it unless listed in EXCLUDED with the reason, so a table added
 * by a later migration is covered without anyone remembering to add it here.
 */
import type { Knex } from 'knex'

/**
 * Tables a refused input may legitimately write, and why. Nothing else is left out; in particular
 * these stay in, because a refusal writes none of them: email_feedback_events (an SNS delivery is
 * verified and parsed before its id is recorded), invitation_requests (a refused "request a new
 * invitation" records nothing), account_events. The invitee pages' rate limit lives in memory.
 */
export const EXCLUDED: Readonly<Record<string, string>> = {
  // Every attempt is audited, refusals included: a refusal appends a row by design. Appending is
  // all it may do: a trigger (installAuditGuard below) copies any UPDATE or DELETE of an audit row
  // into fuzz_audit_tampering, which is fingerprinted like any business table.
  audit_log: 'refusals are audited by design (append-only, guarded by a trigger)',
  // The redelivery ledger records each authenticated Slack/Teams delivery key before the handler
  // knows whether it will refuse (so a redelivery to another replica is not run twice), and it
  // prunes old keys by age. It holds no business data.
  chat_deliveries: 'redelivery ledger: written for every authenticated delivery, pruned by age',
  // Migration bookkeeping, not data.
  knex_migrations: 'migration bookkeeping',
  knex_migrations_lock: 'migration bookkeeping',
}

/** What the rest of the suite needs to know about a fingerprint: a hash per table. */
export type Fingerprint = Readonly<Record<string, string>>

export interface Fingerprinter {
  tables: readonly string[]
  take(): Promise<Fingerprint>
}

/** Tables whose rows changed between two fingerprints. */
export function changedTables(before: Fingerprint, after: Fingerprint): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...names].filter((t) => before[t] !== after[t]).sort()
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * Installs the audit guard and builds the one query. Call again after a schema change (it lists
 * the tables once).
 */
export async function createFingerprinter(knex: Knex): Promise<Fingerprinter> {
  await installAuditGuard(knex)
  const { rows } = await knex.raw<{ rows: { tablename: string }[] }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
  const tables = rows.map((r) => r.tablename).filter((t) => !(t in EXCLUDED))
  // Row text in row-text order: deterministic whatever the physical order, and any column of any
  // row counts. Timestamps print in the session's time zone, which does not change mid-run.
  const columns = tables.map((t) => `(SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM ${quoteIdent(t)} x) AS ${quoteIdent(t)}`)
  const sql = `SELECT ${columns.join(',\n')}`
  return {
    tables,
    async take() {
      const result = await knex.raw<{ rows: Record<string, string>[] }>(sql)
      const row = result.rows[0]
      if (!row) throw new Error('fingerprint query returned no row')
      return row
    },
  }
}

/**
 * A test-only trigger: audit rows may be appended, never changed or deleted. Any UPDATE or DELETE
 * lands in fuzz_audit_tampering (a table the fingerprint covers). TRUNCATE, which only the suite's
 * own reset uses, fires no row trigger.
 */
async function installAuditGuard(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS fuzz_audit_tampering (op text NOT NULL, old_row text NOT NULL);
    CREATE OR REPLACE FUNCTION fuzz_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO fuzz_audit_tampering (op, old_row) VALUES (TG_OP, OLD::text);
      RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS fuzz_audit_guard ON audit_log;
    CREATE TRIGGER fuzz_audit_guard AFTER UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION fuzz_audit_guard();
  `)
}
