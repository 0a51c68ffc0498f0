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
