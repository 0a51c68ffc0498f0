import type { Knex } from 'knex'

/**
 * Resolves once some session of this database waits for a lock (Postgres shows it in
 * pg_stat_activity and sends no event for it, so this asks again after each answer), or once
 * `moot()` says there is nothing left to wait for (the other side finished without waiting).
 * Bounded by the test's timeout. Postgres only: PGlite runs one transaction at a time.
 */
export async function untilLockWaiter(knex: Knex, moot: () => boolean = () => false): Promise<void> {
  while (!moot()) {
    const r = await knex.raw<{ rows: { n: number | string }[] }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
    if (Number(r.rows[0]?.n ?? 0) > 0) return
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}
