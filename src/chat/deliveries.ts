import type { Knex } from 'knex'
import type { ChatPlatform } from '../accounts/chat-connections.ts'

/**
 * Whether this is the first delivery of a chat request, across every replica (DESIGN.md §6: a
 * Slack or Teams retry, or the same payload twice, has one effect). Records `key` as seen at `now`
 * in the same statement; a key seen longer than `ttlMs` ago counts as new again.
 */
export async function firstDelivery(db: Knex, platform: ChatPlatform, key: string, now: Date, ttlMs: number): Promise<boolean> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO chat_deliveries (platform, key, seen_at) VALUES (?, ?, ?)
     ON CONFLICT (platform, key) DO UPDATE SET seen_at = EXCLUDED.seen_at
       WHERE chat_deliveries.seen_at <= ?
     RETURNING 1`,
    [platform, key.slice(0, 500), now, new Date(now.getTime() - ttlMs)],
  )
  return rows.length === 1
}

/** Forget delivery keys seen before `before`. Returns how many were removed. */
export async function pruneDeliveries(db: Knex, before: Date): Promise<number> {
  return db('chat_deliveries').where('seen_at', '<', before).delete()
}

/**
 * `firstDelivery` for one platform with its TTL, pruning keys older than the TTL now and then
 * (at most once per TTL per process), so the table stays the size of the last few minutes.
 */
export function createDeliveryLedger(deps: { db: Knex; clock: { now(): Date } }, platform: ChatPlatform, ttlMs: number): { firstTime(key: string): Promise<boolean> } {
  let prunedAt = Number.NEGATIVE_INFINITY
  return {
    async firstTime(key) {
      const now = deps.clock.now()
      const first = await firstDelivery(deps.db, platform, key, now, ttlMs)
      if (now.getTime() - prunedAt > ttlMs) {
        prunedAt = now.getTime()
        await pruneDeliveries(deps.db, new Date(now.getTime() - ttlMs))
      }
      return first
    },
  }
}
