/**
 * One way to share a table of work between replicas (docs/reliability.md, docs/notices.md):
 *
 *  - **claim**: lock the oldest due rows `FOR UPDATE SKIP LOCKED` (rows another replica is
 *    claiming are skipped, never waited for), and in the same statement give them a lease
 *    (`lease` column = now + leaseMs), count the claim (`attempts` + 1) and stamp them with a
 *    **fence**: a uuid new for every claim;
 *  - **renew** just before acting on claimed rows (posting, sending): all or nothing, so a worker
 *    that was too slow and lost any of them to another worker acts on none;
 *  - **complete**, **release** (due again at a given time) and **give up** (closed with a note):
 *    each conditioned on the rows' keys *and* the fence the worker holds, so a worker whose lease
 *    ran out (another replica has claimed the rows since) changes nothing.
 *
 * A claim may read further facts of each row in its own statement (`alsoRead`), and a close may
 * be folded into a statement of the caller's (`completing`), so a worker spends no round trip per
 * row on either.
 *
 * A table describes itself once (`LeaseQueueSpec`); the SQL is written here only. Used by the
 * notice deliveries (src/notices/notice-deliveries.ts) and the email outbox
 * (src/email/outbox-worker.ts).
 */
import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { isUuid } from './ids.ts'

type Db = Knex | Knex.Transaction

/** A SQL fragment and its `?` bindings. */
export interface SqlFragment {
  sql: string
  bindings: readonly Knex.Value[]
}

/** How one table is used as a lease queue. Column names are trusted (written in code, never input). */
export interface LeaseQueueSpec {
  table: string
  /** The columns naming one row (its primary key). */
  key: readonly string[]
  /** Until when a claim holds (timestamptz). */
  leaseColumn: string
  /** The per-claim fence (uuid). */
  fenceColumn: string
  /** How many times the row was claimed (integer). */
  attemptsColumn: string
  /** The rows a claim may take at `now`: open and due (not held, or held past its lease). */
  due(now: Date): SqlFragment
  /** Oldest first, e.g. `next_attempt_at, id`. */
  order: string
  /** What the claim statement returns (besides nothing else: include the key, attempts and fence). */
  returning: string
  /** Further assignments made by a claim (e.g. `status = 'sending'`). */
  onClaim?: string
  /** What a row a worker holds also satisfies besides its fence (e.g. `{ status: 'sending' }`). */
  held?: Record<string, Knex.Value>
  /** The assignments that make a released row due again at `at` (besides clearing the fence). */
  releaseAt(at: Date): Record<string, unknown>
  /** The assignments that close a row, with a note saying why it was not done (or null). */
  close(now: Date, note: string | null): Record<string, unknown>
}

/** What a worker holds of one claimed row: its key (in `spec.key` order) and the claim's fence. */
export interface LeaseClaim {
  key: readonly (string | number)[]
  fence: string
}

export interface ClaimOptions {
  now: Date
  leaseMs: number
  limit: number
  /** Narrows what may be claimed (e.g. one platform's rows), ANDed with `spec.due`. */
  filter?: SqlFragment
  /** The fence to stamp (default: a new uuid). Tests pass one to tell claims apart. */
  fence?: string
  /**
   * Facts read with each claimed row in the claim's own statement (no round trip per row):
   * `columns` is added to the select list over the claimed rows (named `claimed`), `joins` follows
   * `FROM claimed` (e.g. `LEFT JOIN other o ON o.id = claimed.other_id`). Trusted SQL.
   */
  alsoRead?: { columns: SqlFragment; joins: SqlFragment }
}

/** A table's lease queue: claim, renew, complete, release, give up. */
export interface LeaseQueue {
  readonly spec: LeaseQueueSpec
  /** Claim up to `limit` due rows for `leaseMs`. Returns the rows as `spec.returning` reads them. */
  claim<R>(db: Db, opts: ClaimOptions): Promise<R[]>
  /** The rows among `claims` still held by them (a query to update, or null when none can be). */
  held(db: Db, claims: readonly LeaseClaim[]): Knex.QueryBuilder | null
  /**
   * Extend every claim to `until`: true when all are still held (and renewed), false when any
   * was lost, and then none is renewed. A worker that gets false must not act on the rows.
   */
  renew(db: Knex, claims: readonly LeaseClaim[], until: Date): Promise<boolean>
  /**
   * Close the rows still held: done (`note` null) or given up (`note` says why), with `extra`
   * assignments of the caller's (a message id). Returns how many.
   */
  complete(db: Db, claims: readonly LeaseClaim[], now: Date, note?: string | null, extra?: Record<string, unknown>): Promise<number>
  /** Hand the rows still held back, due again at `at`, with `extra` assignments of the caller's. Returns how many. */
  release(db: Db, claims: readonly LeaseClaim[], at: Date, extra?: Record<string, unknown>): Promise<number>
  /**
   * `complete`'s statement, not run: SQL (`?` placeholders) that closes the rows still held and
   * returns `returning` of each one closed, for a caller that folds it into a statement of its own
   * (a data-modifying CTE) with the writes that must happen only when the rows were closed. Null
   * when no claim can be held (then nothing would be closed).
   */
  completing(db: Db, claims: readonly LeaseClaim[], now: Date, note: string | null, extra: Record<string, unknown>, returning: readonly string[]): SqlFragment | null
}

class LostClaims extends Error {}

/** The lease queue of one table (see the module comment). */
export function leaseQueue(spec: LeaseQueueSpec): LeaseQueue {
  const keyList = spec.key.join(', ')

  function held(db: Db, claims: readonly LeaseClaim[]): Knex.QueryBuilder | null {
    // A fence that is not a uuid was never handed out (and would make Postgres raise).
    const valid = claims.filter((c) => isUuid(c.fence) && c.key.length === spec.key.length)
    if (valid.length === 0) return null
    const q = db(spec.table).whereIn(
      [...spec.key, spec.fenceColumn],
      valid.map((c) => [...c.key, c.fence]),
    )
    return spec.held ? q.where(spec.held) : q
  }

  return {
    spec,
    async claim<R>(db: Db, opts: ClaimOptions): Promise<R[]> {
      const due = spec.due(opts.now)
      const filter = opts.filter ? ` AND (${opts.filter.sql})` : ''
      const sql = `
        UPDATE ${spec.table} SET ${spec.leaseColumn} = ?, ${spec.attemptsColumn} = ${spec.attemptsColumn} + 1, ${spec.fenceColumn} = ?${spec.onClaim ? `, ${spec.onClaim}` : ''}
         WHERE (${keyList}) IN (
           SELECT ${keyList} FROM ${spec.table}
            WHERE (${due.sql})${filter}
            ORDER BY ${spec.order}
            LIMIT ?
            FOR UPDATE SKIP LOCKED)
        RETURNING ${spec.returning}`
      const bindings: Knex.Value[] = [new Date(opts.now.getTime() + opts.leaseMs), opts.fence ?? randomUUID(), ...due.bindings, ...(opts.filter?.bindings ?? []), opts.limit]
      const also = opts.alsoRead
      // The facts of each claimed row, read by the same statement: the claim's snapshot.
      const result = also
        ? await db.raw<{ rows: R[] }>(`WITH claimed AS (${sql}) SELECT claimed.*, ${also.columns.sql} FROM claimed ${also.joins.sql}`, [
            ...bindings,
            ...also.columns.bindings,
            ...also.joins.bindings,
          ])
        : await db.raw<{ rows: R[] }>(sql, bindings)
      return result.rows
    },
    held,
    async renew(db: Knex, claims: readonly LeaseClaim[], until: Date): Promise<boolean> {
      if (claims.length === 0) return true
      if (claims.length === 1) {
        // One row: the update is all or nothing by itself, no transaction needed.
        const rows = held(db, claims)
        return rows ? (await rows.update({ [spec.leaseColumn]: until })) === 1 : false
      }
      return db
        .transaction(async (trx) => {
          const rows = held(trx, claims)
          if (!rows) return false
          const renewed = await rows.update({ [spec.leaseColumn]: until })
          if (renewed === claims.length) return true
          // Some were lost: undo the partial renewal (the transaction) and tell the caller.
          throw new LostClaims()
        })
        .catch((err: unknown) => {
          if (err instanceof LostClaims) return false
          throw err
        })
    },
    async complete(db: Db, claims: readonly LeaseClaim[], now: Date, note: string | null = null, extra: Record<string, unknown> = {}): Promise<number> {
      const rows = held(db, claims)
      return rows ? rows.update({ ...spec.close(now, note), ...extra, [spec.fenceColumn]: null }) : 0
    },
    async release(db: Db, claims: readonly LeaseClaim[], at: Date, extra: Record<string, unknown> = {}): Promise<number> {
      const rows = held(db, claims)
      return rows ? rows.update({ ...spec.releaseAt(at), ...extra, [spec.fenceColumn]: null }) : 0
    },
    completing(db: Db, claims: readonly LeaseClaim[], now: Date, note: string | null, extra: Record<string, unknown>, returning: readonly string[]): SqlFragment | null {
      const rows = held(db, claims)
      if (!rows) return null
      const { sql, bindings } = rows
        .update({ ...spec.close(now, note), ...extra, [spec.fenceColumn]: null })
        .returning([...returning])
        .toSQL()
      return { sql, bindings: bindings as readonly Knex.Value[] }
    },
  }
}
