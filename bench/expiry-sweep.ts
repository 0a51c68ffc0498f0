/**
 * Benchmark: the expiry sweep (src/notices/sweep-expired.ts) on a large account, against the
 * target in docs/performance.md: the sweep touches only expired rows (an index, not a scan), and
 * 100k invitations with 10k expired are swept in seconds. Against Postgres (DATABASE_URL) or embedded PGlite.
 *
 * The account is seeded with set-based SQL (generate_series), not use-case calls, so seeding
 * 100k invitations takes seconds. Every constraint of the schema holds (one pending invitation
 * per user, `ended_at` iff not pending, 32-hex unique link ids, …). The figures are printed beside
 * baselines measured in the same run, as ratios: the bare write of the same events, and a
 * sequential scan of the invitations table. "An index, not a scan" is measured, not inferred from
 * one EXPLAIN: the rows read by sequential scans of invitations and users while the sweep ran
 * (pg_stat_user_tables), since the whole statement's joins are planned separately from its SELECT.
 * Targets are printed, never asserted.
 *
 * Knobs (env): BENCH_SWEEP_TOTAL invitations (default 100000), BENCH_SWEEP_EXPIRED of them
 * pending and expired (default 10000), BENCH_MAX_SECONDS for the sweep itself (default 120),
 * DATABASE_URL (a server; a fresh database is created on it and dropped afterwards).
 */
import type { Knex } from 'knex'
import { SWEEP_SELECT_SQL, sweepExpiredInvitations } from '../src/notices/sweep-expired.ts'
import { createTestDatabase } from '../test/support/db.ts'
import { makeDeps, seedAccount } from '../test/support/factories.ts'
import { envInt, fmt } from './support.ts'

export interface ExpirySweepOptions {
  /** Invitations in the account, every state together. */
  total: number
  /** Of those, pending with `expires_at` in the past and not yet announced. */
  expired: number
  maxSeconds: number
}

export function expirySweepOptionsFromEnv(): ExpirySweepOptions {
  const total = envInt('BENCH_SWEEP_TOTAL', 100_000, 1_000, 1_000_000)
  return {
    total,
    expired: envInt('BENCH_SWEEP_EXPIRED', Math.min(10_000, total), 1, total),
    maxSeconds: envInt('BENCH_MAX_SECONDS', 120, 5, 3600),
  }
}

/**
 * How the invitations split. Users 1…expired hold an expired pending link, then come users with
 * a pending link still valid, then users who accepted. A `replaced` row is always the earlier
 * link of a user who holds a newer one (users expired+1 … expired+replaced), so there are fewer
 * users than invitations.
 */
function mix(opts: ExpirySweepOptions) {
  const rest = opts.total - opts.expired
  const replaced = Math.floor(rest * 0.2)
  const pendingValid = Math.floor(rest * 0.3)
  const accepted = rest - replaced - pendingValid
  return { expired: opts.expired, pendingValid, accepted, replaced, users: opts.total - replaced }
}

type Mix = ReturnType<typeof mix>

const DAY_S = 86_400

/**
 * One row per user g: the kind of their current invitation and its times (binding: now). Shared
 * by the users and the invitations inserts, so a user's `joined_at` is their acceptance. Counts
 * are integers validated above, safe to write into the SQL.
 */
const planSql = (m: Mix) => `
  WITH p AS (SELECT ?::timestamptz AS now),
  s AS (
    SELECT g, CASE WHEN g <= ${m.expired} THEN 'expired' WHEN g <= ${m.expired + m.pendingValid} THEN 'pending' ELSE 'accepted' END AS kind
      FROM generate_series(1, ${m.users}) g
  ),
  plan AS (
    SELECT s.g, s.kind, c.created_at,
           CASE s.kind WHEN 'accepted' THEN c.created_at + make_interval(secs => 1 + (s.g * 13) % ${6 * DAY_S}) END AS ended_at
      FROM s, p,
           LATERAL (SELECT CASE s.kind
             -- expired up to 30 days ago, at least a second ago
             WHEN 'expired' THEN p.now - interval '7 days 1 second' - make_interval(secs => (s.g * 37) % ${30 * DAY_S})
             -- sent within the last 6 days: still valid for at least a day
             WHEN 'pending' THEN p.now - interval '1 second' - make_interval(secs => (s.g * 37) % ${6 * DAY_S})
             -- sent 8 to 68 days ago, accepted within 6 days of sending
             ELSE p.now - interval '8 days' - make_interval(secs => (s.g * 37) % ${60 * DAY_S})
           END AS created_at) c
  )`

const userId = (g: string) => `md5('bench-user-' || ${g})::uuid`
const invitationId = (g: string) => `md5('bench-invitation-' || ${g})::uuid`
/** As the application stores it: SHA-256 hex (of a made-up token; no link here needs to work). */
const tokenHashSql = (seed: string) => `encode(sha256(convert_to(${seed}, 'UTF8')), 'hex')`

async function seed(db: Knex, m: Mix, now: Date, accountId: string, admin: { userId: string; email: string }): Promise<void> {
  await db.raw(
    `${planSql(m)}
     INSERT INTO users (id, account_id, email, first_name, last_name, status, joined_at, created_at, updated_at)
     SELECT ${userId('g')}, ?, 'sweep' || g || '@bench.test', 'First' || g, 'Last' || g,
            CASE kind WHEN 'accepted' THEN 'active' ELSE 'invited' END, ended_at,
            (SELECT now FROM p) - interval '90 days', COALESCE(ended_at, created_at)
       FROM plan`,
    [now, accountId],
  )
  const groups = await db('groups').where({ account_id: accountId, is_admin: false }).select<{ id: string; name: string }[]>('id', 'name')
  const members = groups.find((g) => g.name === 'Members')
  const engineering = groups.find((g) => g.name === 'Engineering')
  if (!members || !engineering) throw new Error('seed: the account has no Members or Engineering group')
  await db.raw(
    `INSERT INTO user_groups (user_id, group_id)
     SELECT ${userId('g')}, ?::uuid FROM generate_series(1, ${m.users}) g
     UNION ALL
     SELECT ${userId('g')}, ?::uuid FROM generate_series(10, ${m.users}, 10) g`,
    [members.id, engineering.id],
  )
  // Every user's current link: pending (expired or not) or accepted.
  await db.raw(
    `${planSql(m)}
     INSERT INTO invitations (id, account_id, user_id, link_id, token_hash, state, created_at, expires_at,
                              invited_by_user_id, invited_by_email, sent_count, last_sent_at, ended_at, expiry_noticed_at, delivery_status)
     SELECT ${invitationId('g')}, ?, ${userId('g')}, md5('bench-link-' || g), ${tokenHashSql(`'bench-token-' || g`)},
            CASE kind WHEN 'accepted' THEN 'accepted' ELSE 'pending' END,
            created_at, created_at + interval '7 days', ?, ?, 1, created_at, ended_at, ended_at, 'sent'
       FROM plan`,
    [now, accountId, admin.userId, admin.email],
  )
  // The earlier link of some users, regenerated when their newer link was made.
  await db.raw(
    `${planSql(m)}
     INSERT INTO invitations (id, account_id, user_id, link_id, token_hash, state, created_at, expires_at,
                              invited_by_user_id, invited_by_email, sent_count, last_sent_at, ended_at, expiry_noticed_at, replaced_by, ended_by_email, delivery_status)
     SELECT md5('bench-replaced-' || g)::uuid, ?, ${userId('g')}, md5('bench-replaced-link-' || g), ${tokenHashSql(`'bench-replaced-token-' || g`)},
            'replaced', created_at - interval '8 days', created_at - interval '1 day', ?, ?, 1, created_at - interval '8 days',
            created_at, created_at, ${invitationId('g')}, ?, 'sent'
       FROM plan WHERE g > ${m.expired} AND g <= ${m.expired + m.replaced}`,
    [now, accountId, admin.userId, admin.email, admin.email],
  )
}

/** Number from a count(*) row, whatever the driver's type parsing. */
async function count(db: Knex | Knex.Transaction, sql: string, bindings: Knex.RawBinding[]): Promise<number> {
  const result = await db.raw<{ rows: { n: number | string }[] }>(sql, bindings)
  return Number(result.rows[0]?.n)
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await fn()
  return { ms: performance.now() - t0, value }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!
}

interface SeqReads {
  invitations: number
  users: number
}

/**
 * Rows read by sequential scans of invitations and users so far (pg_stat_user_tables), the
 * direct measure of "an index, not a scan". A server backend publishes its counters within a
 * second of going idle; PGlite's one backend only when asked (pg_stat_force_next_flush, PG 15+)
 * or at a later statement. So: ask, wait, read, until two readings agree (bounded).
 */
async function seqScanReads(db: Knex): Promise<SeqReads> {
  const read = async (): Promise<SeqReads> => {
    await db.raw('SELECT pg_stat_force_next_flush()')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const result = await db.raw<{ rows: { relname: string; n: number | string | null }[] }>(
      `SELECT relname, seq_tup_read AS n FROM pg_stat_user_tables WHERE relname IN ('invitations', 'users')`,
    )
    const of = (name: string) => Number(result.rows.find((r) => r.relname === name)?.n ?? Number.NaN)
    return { invitations: of('invitations'), users: of('users') }
  }
  let previous = await read()
  for (let i = 0; i < 5; i++) {
    const current = await read()
    if (current.invitations === previous.invitations && current.users === previous.users) return current
    previous = current
  }
  return previous
}

const seqReadsBetween = (before: SeqReads, after: SeqReads) =>
  `${after.invitations - before.invitations} invitations rows, ${after.users - before.users} users rows`

const planLines = (rows: Record<string, string>[]) => rows.map((r) => `    ${Object.values(r)[0]}`).join('\n')

// The sweep's predicate, for the scan baseline (binding: now).
const EXPIRED_UNNOTICED = `state = 'pending' AND expiry_noticed_at IS NULL AND expires_at <= ?`
// Planner settings that leave only a sequential scan: what the sweep would cost without its index.
const NO_INDEXES = ['enable_indexscan', 'enable_indexonlyscan', 'enable_bitmapscan'].map((s) => `SET LOCAL ${s} = off`)

const IDLE_REPEATS = 21
const INSERT_REPEATS = 3

export async function runExpirySweepBench(opts: ExpirySweepOptions): Promise<void> {
  const m = mix(opts)
  const db = await createTestDatabase()
  try {
    const deps = makeDeps(db.knex, { now: new Date().toISOString() })
    const now = deps.clock.now()
    const account = await seedAccount(deps, { adminEmail: 'admin@bench.test' })
    console.log(
      `expiry sweep · ${db.kind === 'postgres' ? 'Postgres' : 'PGlite (embedded)'} · ${opts.total} invitations: ${m.expired} pending and expired, ` +
        `${m.pendingValid} pending and valid, ${m.accepted} accepted, ${m.replaced} replaced · ${m.users} users`,
    )
    process.stdout.write('seeding (set-based SQL)… ')
    const seeded = await timed(() => seed(db.knex, m, now, account.account.id, account.admin))
    const analyzed = await timed(() => db.knex.raw('ANALYZE'))
    console.log(`${fmt(seeded.ms / 1000, 2)} s, ANALYZE ${fmt(analyzed.ms / 1000, 2)} s`)
    const [{ n: invitationRows } = { n: 0 }] = await db.knex('invitations').count<{ n: number }[]>({ n: '*' })
    if (Number(invitationRows) !== opts.total) console.log(`FAIL: seeded ${invitationRows} invitations, expected ${opts.total}`)

    // What the planner does with the sweep's own query (bindings: now, the sweep's default limit).
    const plan = await db.knex.raw<{ rows: Record<string, string>[] }>(`EXPLAIN ${SWEEP_SELECT_SQL}`, [now, 1000])
    const usesIndex = JSON.stringify(plan.rows).includes('invitations_expiry_unnoticed_idx')
    console.log(`EXPLAIN of the sweep's SELECT (SWEEP_SELECT_SQL):\n${planLines(plan.rows)}`)

    // The sweep, called until it has nothing left, as the notices worker does; bounded in time
    // and in calls (a sweep that never returns 0 must not loop for ever).
    const beforeSweep = await seqScanReads(db.knex)
    const deadline = performance.now() + opts.maxSeconds * 1000
    const maxCalls = Math.ceil(m.expired / 1000) + 10
    let calls = 0
    let noticed = 0
    let last = -1
    const swept = await timed(async () => {
      while (last !== 0 && calls < maxCalls && performance.now() < deadline) {
        last = (await sweepExpiredInvitations(deps)).noticed
        calls++
        noticed += last
      }
    })
    console.log(`sweep: ${noticed} invitations noticed in ${calls} calls, ${fmt(swept.ms)} ms (${fmt((swept.ms * 1000) / Math.max(1, noticed))} µs per invitation)`)
    if (last !== 0) console.log(`FAIL: the sweep still found work after ${calls} calls (${fmt(swept.ms / 1000)} s): stopped`)
    const afterSweep = await seqScanReads(db.knex)
    const sweepScanned = afterSweep.invitations - beforeSweep.invitations + (afterSweep.users - beforeSweep.users)
    console.log(`read by sequential scans during the sweep: ${seqReadsBetween(beforeSweep, afterSweep)} (pg_stat_user_tables; an index-only sweep reads none)`)

    // Baseline (b), first half: idle sweeps (nothing new expired), before anything else scans.
    const idle: number[] = []
    for (let i = 0; i < IDLE_REPEATS; i++) {
      const r = await timed(() => sweepExpiredInvitations(deps))
      if (r.value.noticed !== 0) console.log(`FAIL: an idle sweep noticed ${r.value.noticed} invitations`)
      idle.push(r.ms)
    }
    const afterIdle = await seqScanReads(db.knex)

    const events = await count(db.knex, `SELECT count(*) AS n FROM account_events WHERE type = 'invitation.expired'`, [])
    const marked = await count(db.knex, `SELECT count(*) AS n FROM invitations WHERE state = 'pending' AND expiry_noticed_at IS NOT NULL`, [])
    const unmarked = await count(db.knex, `SELECT count(*) AS n FROM invitations WHERE ${EXPIRED_UNNOTICED}`, [now])
    const correct = events === m.expired && marked === m.expired && unmarked === 0 && noticed === m.expired
    console.log(
      correct
        ? `check: ${events} invitation.expired events written, ${marked} invitations marked, none left: ok`
        : `FAIL: expected ${m.expired} events and ${m.expired} invitations marked; got ${events} events, ${marked} marked, ${unmarked} expired left unmarked, ${noticed} reported noticed`,
    )

    // Baseline (a): the write nobody can avoid, one INSERT … SELECT of as many events with the
    // same payload shape, into the same table (then deleted; another type, so nothing mixes).
    const inserts: number[] = []
    for (let i = 0; i < INSERT_REPEATS; i++) {
      const iso = (col: string) => `to_char((${col}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
      const inserted = await timed(() =>
        db.knex.raw(
          `WITH p AS (SELECT ?::timestamptz AS now)
           INSERT INTO account_events (account_id, type, payload, created_at)
           SELECT ?, 'bench.baseline',
                  jsonb_build_object('invitationId', gen_random_uuid(), 'userId', gen_random_uuid(), 'email', 'sweep' || g || '@bench.test',
                                     'firstName', 'First' || g, 'lastName', 'Last' || g, 'invitedAt', ${iso(`p.now - interval '8 days'`)},
                                     'invitedByEmail', ?::text, 'expiredAt', ${iso(`p.now - interval '1 day'`)}),
                  p.now
             FROM generate_series(1, ${m.expired}) g, p`,
          [now, account.account.id, account.admin.email],
        ),
      )
      inserts.push(inserted.ms)
      await db.knex('account_events').where({ type: 'bench.baseline' }).delete()
    }
    const insertMs = median(inserts)

    // Baseline (b), second half: a sequential scan of the whole table with the sweep's predicate.
    // SET LOCAL inside a transaction keeps the settings on the one connection that runs the
    // query; only the query itself is timed.
    const scans: number[] = []
    const scanSql = `SELECT count(*) AS n FROM invitations WHERE ${EXPIRED_UNNOTICED}`
    const scanPlan = await db.knex.transaction(async (trx) => {
      for (const s of NO_INDEXES) await trx.raw(s)
      for (let i = 0; i < IDLE_REPEATS; i++) scans.push((await timed(() => count(trx, scanSql, [now]))).ms)
      return trx.raw<{ rows: Record<string, string>[] }>(`EXPLAIN ${scanSql}`, [now])
    })
    const isSeqScan = JSON.stringify(scanPlan.rows).includes('Seq Scan')
    const idleMs = median(idle)
    const scanMs = median(scans)

    console.log('\nbaselines measured in this run (median of repeats):')
    console.log(`  (a) INSERT … SELECT of ${m.expired} account_events, same payload shape (×${INSERT_REPEATS}): ${fmt(insertMs)} ms → sweep / bare write: ${fmt(swept.ms / insertMs, 2)}×`)
    console.log(`  (b) idle sweep, nothing new expired (×${IDLE_REPEATS}): ${fmt(idleMs, 2)} ms; read by sequential scans: ${seqReadsBetween(afterSweep, afterIdle)}`)
    console.log(`      sequential scan of invitations, same predicate (×${IDLE_REPEATS}): ${fmt(scanMs, 2)} ms${isSeqScan ? '' : ' (NOT a Seq Scan: the planner ignored the settings)'}`)
    console.log(`      → idle sweep / scan: ${fmt(idleMs / scanMs, 3)}×`)
    if (!isSeqScan) console.log(`      plan of the scan baseline:\n${planLines(scanPlan.rows)}`)

    const seconds = swept.ms / 1000
    if (!correct || last !== 0) {
      console.log('INCOMPLETE RUN: the sweep did not do exactly its work; no target is judged.')
    } else {
      console.log(
        `\ntargets (docs/performance.md, informative): the sweep touches only expired rows (an index, not a scan): ` +
          `${usesIndex && sweepScanned === 0 ? 'met' : 'NOT met'} (its SELECT ${usesIndex ? 'uses' : 'does NOT use'} invitations_expiry_unnoticed_idx; ` +
          `${sweepScanned} rows read by sequential scans while it worked); ` +
          `${opts.total} invitations with ${m.expired} expired swept in seconds (taken as under 10 s): ${seconds < 10 ? 'met' : 'NOT met'} (${fmt(seconds, 2)} s)`,
      )
    }
  } finally {
    // Bounded, like everything else here: a wedged database must not keep the run alive.
    await Promise.race([db.close(), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())])
  }
}
