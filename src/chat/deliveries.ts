import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import type { ChatPlatform } from '../accounts/chat-connections.ts'
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
export async function pruneDeliveries(db: Knex, before: Date): Promise<number> {
  return db('chat_deliveries').where('seen_at', '<', before).delete()
}

/** Keys recorded by one statement at most (each is a bind parameter). */
const BATCH_KEYS = 500

/**
 * `firstDelivery` for many keys in one statement: the keys (as given) that were seen for the
 * first time, or last seen at least `ttlMs` before `now`. A key given twice counts once.
 */
export async function firstDeliveries(db: Knex, platform: ChatPlatform, keys: readonly string[], now: Date, ttlMs: number): Promise<Set<string>> {
  const byStored = new Map<string, string>()
  for (const key of keys) if (!byStored.has(storedKey(key))) byStored.set(storedKey(key), key)
  if (byStored.size === 0) return new Set()
  const stored = [...byStored.keys()]
  const { rows } = await db.raw<{ rows: { key: string }[] }>(
    `INSERT INTO chat_deliveries (platform, key, seen_at)
     SELECT ?, k, ? FROM unnest(ARRAY[${stored.map(() => '?').join(', ')}]::text[]) AS k
     ON CONFLICT (platform, key) DO UPDATE SET seen_at = EXCLUDED.seen_at
       WHERE chat_deliveries.seen_at <= ?
     RETURNING key`,
    [platform, now, ...stored, new Date(now.getTime() - ttlMs)],
  )
  return new Set(rows.map((r) => byStored.get(r.key) ?? r.key))
}

/**
 * `firstDelivery` for one platform with its TTL, pruning keys older than the TTL now and then
 * (at most once per TTL per process), so the table stays the size of the last few minutes.
 *
 * Group commit: one statement at a time per process, and the keys asked for while it runs go
 * together in the next one. Alone, a key costs one round trip as before; in a burst, eight
 * commands cost one statement instead of eight (each statement is a socket write, a wake-up of
 * the database and a result to parse, the largest part of a short command's cost). The answer
 * for each key is the same as `firstDelivery`'s.
 */
export function createDeliveryLedger(deps: { db: Knex; clock: { now(): Date } }, platform: ChatPlatform, ttlMs: number): { firstTime(key: string): Promise<boolean> } {
  let prunedAt = Number.NEGATIVE_INFINITY
  let waiting: { key: string; resolve(first: boolean): void; reject(error: unknown): void }[] = []
  let running = false

  async function drain(): Promise<void> {
    running = true
    try {
      while (waiting.length > 0) {
        const batch = waiting.slice(0, BATCH_KEYS)
        waiting = waiting.slice(batch.length)
        try {
          const now = deps.clock.now()
          const first = await firstDeliveries(deps.db, platform, batch.map((w) => w.key), now, ttlMs)
          // A key asked for twice in one batch: the first asker has it, the second is a redelivery.
          for (const w of batch) {
            w.resolve(first.delete(w.key))
          }
          if (now.getTime() - prunedAt > ttlMs) {
            prunedAt = now.getTime()
            // The batch is answered already: a failed prune is tried again with the next batch.
            await pruneDeliveries(deps.db, new Date(now.getTime() - ttlMs)).catch(() => {
              prunedAt = Number.NEGATIVE_INFINITY
            })
          }
        } catch (error) {
          for (const w of batch) w.reject(error)
        }
      }
    } finally {
      running = false
    }
  }

  return {
    firstTime(key) {
      return new Promise<boolean>((resolve, reject) => {
        waiting.push({ key, resolve, reject })
        if (!running) void drain()
      })
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
