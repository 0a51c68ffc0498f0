import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import { linkedAccountsQuery } from '../accounts/chat-connection-repository.ts'
import type { ChatPlatform } from '../accounts/chat-connections.ts'
import type { Logger } from '../ports/logger.ts'
import { hasUnstorable } from '../shared/storable-text.ts'

/** The key column's width. */
const KEY_CHARS = 500

/**
 * The key as stored: as it is when Postgres can hold it exactly and it fits the column, else a
 * digest of its UTF-16 code units. Never cut, and never U+FFFD in place of what a text column
 * cannot hold: two different keys must never become one (the second request would be dropped
 * as a redelivery). Teams keys (conversation id and activity id) can run past 500 characters.
 */
function storedKey(key: string): string {
  if (key.length <= KEY_CHARS && !hasUnstorable(key)) return key
  return `sha256:${createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('hex')}`
}

/**
 * Whether this is the first delivery of a chat request, across every replica (docs/reliability.md: a
 * Slack or Teams retry, or the same payload twice, has one effect). Records `key` as seen at `now`
 * in the same statement; a key seen longer than `ttlMs` ago counts as new again.
 */
export async function firstDelivery(db: Knex, platform: ChatPlatform, key: string, now: Date, ttlMs: number): Promise<boolean> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO chat_deliveries (platform, key, seen_at) VALUES (?, ?, ?)
     ON CONFLICT (platform, key) DO UPDATE SET seen_at = EXCLUDED.seen_at
       WHERE chat_deliveries.seen_at <= ?
     RETURNING 1`,
    [platform, storedKey(key), now, new Date(now.getTime() - ttlMs)],
  )
  return rows.length === 1
}

/** Forget delivery keys seen before `before`. Returns how many were removed. */
export async function pruneDeliveries(db: Knex, before: Date, opts: { timeoutMs?: number } = {}): Promise<number> {
  const statement = db('chat_deliveries').where('seen_at', '<', before).delete()
  return opts.timeoutMs === undefined ? statement : statement.timeout(opts.timeoutMs, { cancel: true })
}

/** Keys recorded by one statement at most (each is a bind parameter). */
const BATCH_KEYS = 500

/** Postgres's code for "deadlock detected": the statement was chosen to fail so the other could go on. */
const DEADLOCK = '40P01'

/**
 * `firstDelivery` for many keys in one statement: the keys (as given) that were seen for the
 * first time, or last seen at least `ttlMs` before `now`. A key given twice counts once.
 *
 * The keys are written in sorted order: two replicas writing overlapping batches then take their
 * row locks in the same order and one waits for the other instead of deadlocking (in arrival
 * order, two 500-key batches deadlocked about one time in ten). A deadlock that happens anyway
 * (another writer with its own order) is retried once; the retry is safe, the failed statement
 * wrote nothing. `timeoutMs`, when given, is the statement's deadline: past it the statement is
 * cancelled on the server (its row locks are let go) and this rejects.
 */
export async function firstDeliveries(
  db: Knex,
  platform: ChatPlatform,
  keys: readonly string[],
  now: Date,
  ttlMs: number,
  opts: { timeoutMs?: number } = {},
): Promise<Set<string>> {
  return (await firstDeliveriesAndLinks(db, platform, keys, [], now, ttlMs, opts)).first
}

/** What `firstDeliveriesAndLinks` found. */
export interface DeliveriesAndLinks {
  /** The keys (as given) seen for the first time (`firstDeliveries`). */
  first: Set<string>
  /** Of the external ids asked about, those linked to an account: external id → account id. */
  links: Map<string, string>
  /** The external ids that were asked about (a linked one is in `links`; the others are not linked). */
  looked: Set<string>
}

/** An external id the links part can carry as a bind parameter (anything else is left to the caller's own lookup). */
function lookable(externalId: string): boolean {
  return externalId.length > 0 && externalId.length <= KEY_CHARS && !hasUnstorable(externalId)
}

/**
 * `firstDeliveries`, and in the same statement the accounts the external ids `linksOf` (Slack
 * workspaces, Enterprise organisations) are linked to on `platform`, as `chat_connections` holds
 * them when the statement runs: the read a request makes first (`linkedAccountId`), without a
 * round trip of its own. Nothing is cached; each statement reads the links afresh.
 */
export async function firstDeliveriesAndLinks(
  db: Knex,
  platform: ChatPlatform,
  keys: readonly string[],
  linksOf: readonly string[],
  now: Date,
  ttlMs: number,
  opts: { timeoutMs?: number } = {},
): Promise<DeliveriesAndLinks> {
  const byStored = new Map<string, string>()
  for (const key of keys) if (!byStored.has(storedKey(key))) byStored.set(storedKey(key), key)
  const looked = new Set(linksOf.filter(lookable))
  if (byStored.size === 0) return { first: new Set(), links: new Map(), looked: new Set() }
  const stored = [...byStored.keys()].sort()
  const ids = [...looked]
  const insert = `INSERT INTO chat_deliveries (platform, key, seen_at)
       SELECT ?, k, ? FROM unnest(ARRAY[${stored.map(() => '?').join(', ')}]::text[]) AS k
       ON CONFLICT (platform, key) DO UPDATE SET seen_at = EXCLUDED.seen_at
         WHERE chat_deliveries.seen_at <= ?
       RETURNING key`
  const insertBindings = [platform, now, ...stored, new Date(now.getTime() - ttlMs)]
  // Without links to read, the statement is the insert alone, as it always was.
  const linked = ids.length === 0 ? null : linkedAccountsQuery(platform, ids)
  const sql =
    linked === null
      ? insert
      : `WITH seen AS (${insert})
       SELECT key, NULL::text AS external_id, NULL::text AS account_id FROM seen
       UNION ALL
       SELECT NULL, links.external_id, links.account_id FROM (${linked.sql}) AS links`
  const bindings = linked === null ? insertBindings : [...insertBindings, ...linked.bindings]
  type Row = { key: string | null; external_id?: string | null; account_id?: string | null }
  const run = async () => {
    const statement = db.raw<{ rows: Row[] }>(sql, bindings)
    return opts.timeoutMs === undefined ? statement : statement.timeout(opts.timeoutMs, { cancel: true })
  }
  let result: { rows: Row[] }
  try {
    result = await run()
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== DEADLOCK) throw error
    result = await run()
  }
  const first = new Set<string>()
  const links = new Map<string, string>()
  for (const r of result.rows) {
    if (r.key !== null) first.add(byStored.get(r.key) ?? r.key)
    else if (r.external_id && r.account_id) links.set(r.external_id, r.account_id)
  }
  return { first, links, looked }
}

/** How long one ledger statement may take before its keys are answered with an error. */
export const LEDGER_STATEMENT_MS = 2_000

/** Ledger statements running at once per platform and process. */
const LEDGER_IN_FLIGHT = 2

/** What `firstTimeWithLinks` answers: whether the key is new, and the links of the external ids asked about. */
export interface FirstTimeAndLinks {
  first: boolean
  /** External id → the account it is linked to, for the linked ones of those asked about. */
  links: ReadonlyMap<string, string>
  /** The external ids read in the statement (one absent from `links` is linked to no account). */
  looked: ReadonlySet<string>
}

export interface DeliveryLedger {
  /** Whether `key` is seen here for the first time (see `firstDelivery`); rejects when the ledger cannot tell. */
  firstTime(key: string): Promise<boolean>
  /**
   * `firstTime`, and the accounts `linksOf` (a request's workspace and organisation ids) are
   * linked to, read in the key's own statement (`firstDeliveriesAndLinks`): a request that asks
   * the ledger first needs no statement of its own for `linkedAccountId`.
   */
  firstTimeWithLinks(key: string, linksOf: readonly string[]): Promise<FirstTimeAndLinks>
  /** Resolves once no statement and no prune runs (tests, shutdown). */
  settled(): Promise<void>
}

/**
 * `firstDelivery` for one platform with its TTL, pruning keys older than the TTL now and then
 * (at most once per TTL per process), so the table stays the size of the last few minutes.
 *
 * Group commit: the keys asked for in the same tick, or while both statements in flight run, go
 * together in the next statement. Alone, a key costs one round trip as before; in a burst, eight
 * commands cost one statement instead of eight (each statement is a socket write, a wake-up of
 * the database and a result to parse, the largest part of a short command's cost). The answer
 * for each key is the same as `firstDelivery`'s.
 *
 * One slow statement must not stop every command of the process, as it would with one
 * statement at a time and no limit (a row lock held elsewhere on one key kept every other key
 * waiting): two statements may run at once, so the next keys go ahead beside a stuck one; each
 * has a deadline (`statementMs`), past which its keys are rejected, as for a failed write (the
 * callers then say "something went wrong" and run nothing); and the prune runs beside the
 * batches, never in front of the next one.
 */
export function createDeliveryLedger(
  deps: { db: Knex; clock: { now(): Date }; logger: Pick<Logger, 'warn'> },
  platform: ChatPlatform,
  ttlMs: number,
  opts: { statementMs?: number } = {},
): DeliveryLedger {
  const statementMs = opts.statementMs ?? LEDGER_STATEMENT_MS
  let prunedAt = Number.NEGATIVE_INFINITY
  let pruning: Promise<void> | null = null
  let waiting: { key: string; linksOf: readonly string[]; resolve(answer: FirstTimeAndLinks): void; reject(error: unknown): void }[] = []
  let inFlight = 0
  let scheduled = false
  const statements = new Set<Promise<void>>()

  /** Starts batches while a slot is free; keys asked for in the same tick go in one. */
  function pump(): void {
    scheduled = false
    while (inFlight < LEDGER_IN_FLIGHT && waiting.length > 0) {
      const batch = waiting.slice(0, BATCH_KEYS)
      waiting = waiting.slice(batch.length)
      inFlight += 1
      const running = runBatch(batch).finally(() => {
        inFlight -= 1
        statements.delete(running)
        pump()
      })
      statements.add(running)
    }
  }

  async function runBatch(batch: typeof waiting): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    let written: Promise<unknown> = Promise.resolve()
    try {
      const now = deps.clock.now()
      // The statement's own timeout cancels it on the server; this one answers the callers at the
      // deadline even when the cancel itself cannot get through.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`delivery ledger: no answer within ${statementMs} ms`)), statementMs)
      })
      const linksOf = [...new Set(batch.flatMap((w) => w.linksOf))]
      const statement = firstDeliveriesAndLinks(deps.db, platform, batch.map((w) => w.key), linksOf, now, ttlMs, { timeoutMs: statementMs })
      written = statement.catch(() => {})
      const { first, links, looked } = await Promise.race([statement, late])
      // A key asked for twice in one batch: the first asker has it, the second is a redelivery.
      for (const w of batch) {
        const own = w.linksOf.filter((id) => looked.has(id))
        w.resolve({ first: first.delete(w.key), links: new Map(own.flatMap((id) => (links.has(id) ? [[id, links.get(id)!] as const] : []))), looked: new Set(own) })
      }
      if (now.getTime() - prunedAt > ttlMs && pruning === null) {
        prunedAt = now.getTime()
        pruning = prune(new Date(now.getTime() - ttlMs)).finally(() => {
          pruning = null
        })
      }
    } catch (error) {
      for (const w of batch) w.reject(error)
    } finally {
      clearTimeout(timer)
      // The slot is free once the statement has really ended (cancelled at the latest), so a
      // stuck statement never has more company than the other slot.
      await written
    }
  }

  async function prune(before: Date): Promise<void> {
    try {
      await Promise.resolve().then(() => pruneDeliveries(deps.db, before, { timeoutMs: statementMs * 5 }))
    } catch (error) {
      // The batches are answered already: the prune is tried again after the next batch.
      prunedAt = Number.NEGATIVE_INFINITY
      deps.logger.warn({ err: error instanceof Error ? error.message : String(error), platform }, 'delivery ledger: pruning old keys failed; tried again with the next batch')
    }
  }

  function ask(key: string, linksOf: readonly string[]): Promise<FirstTimeAndLinks> {
    return new Promise<FirstTimeAndLinks>((resolve, reject) => {
      waiting.push({ key, linksOf, resolve, reject })
      if (!scheduled) {
        scheduled = true
        queueMicrotask(pump)
      }
    })
  }

  return {
    async firstTime(key) {
      return (await ask(key, [])).first
    },
    firstTimeWithLinks: ask,
    async settled() {
      while (statements.size > 0 || pruning !== null || waiting.length > 0) {
        await Promise.allSettled([...statements, pruning])
        if (waiting.length > 0 && statements.size === 0) await Promise.resolve()
      }
    },
  }
}

/**
 * Remembers delivery keys for a while in this process's memory: the fast path in front of the
 * ledger. A chat platform may deliver the same request twice (a retry after a slow answer, a
 * replayed click); a key seen before is acknowledged and not run again. Bounded: expired keys,
 * and the oldest beyond `maxEntries`, are dropped.
 */
export function createDeliveryDeduper(ttlMs: number, maxEntries = 10_000, now: () => number = Date.now): { firstTime(key: string): boolean } {
  const seen = new Map<string, number>()
  return {
    firstTime(key) {
      const t = now()
      // Oldest first (insertion order): drop what expired, and the oldest past the cap.
      for (const [k, at] of seen) {
        if (t - at < ttlMs && seen.size <= maxEntries) break
        seen.delete(k)
      }
      if (seen.has(key)) return false
      seen.set(key, t)
      return true
    },
  }
}
