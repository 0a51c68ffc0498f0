import type { Knex } from 'knex'
import { z } from 'zod'
import type { Deps } from '../deps.ts'

/**
 * Settings a server records for the other processes of its installation (table
 * instance_settings). Today one: the PUBLIC_BASE_URL it puts in emails, so that `inviteops run …
 * link` prints the links the server would send, whatever the CLI's own environment says.
 */
const PUBLIC_BASE_URL = 'public_base_url'

/** What the database holds could have been written by hand: read it back as a URL or not at all. */
const recordedUrl = z.url({ protocol: /^https?$/ })

/** The public base URL a server recorded, and when. */
export interface RecordedPublicBaseUrl {
  /** Without a trailing slash, as `ServiceConfig.publicBaseUrl`. */
  url: string
  recordedAt: Date
}

/**
 * Record this server's public base URL (called by `serve` at each start). Replicas of one
 * installation sit behind one address and share it; if one starts with another, the last start
 * wins and the change is logged, since the CLI would then print one base while emails carry both.
 */
export async function recordPublicBaseUrl(deps: Pick<Deps, 'db' | 'clock' | 'logger' | 'config'>): Promise<void> {
  const publicBaseUrl = deps.config.publicBaseUrl
  // The CTE reads the row as it was before this statement: one round trip, and the previous
  // value for the log.
  const { rows } = await deps.db.raw<{ rows: { previous: string | null }[] }>(
    `WITH before AS (SELECT value FROM instance_settings WHERE key = ?)
     INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
     RETURNING (SELECT value FROM before) AS previous`,
    [PUBLIC_BASE_URL, PUBLIC_BASE_URL, publicBaseUrl, deps.clock.now()],
  )
  const previous = rows[0]?.previous ?? null
  if (previous !== null && previous !== publicBaseUrl) {
    deps.logger.info({ publicBaseUrl, previousPublicBaseUrl: previous }, 'PUBLIC_BASE_URL changed since the last server start (replicas of one installation must share one)')
  }
}

/** The public base URL the last server start recorded, or null when none did (or it is unreadable). */
export async function readPublicBaseUrl(db: Knex): Promise<RecordedPublicBaseUrl | null> {
  let row: { value: string; updated_at: Date } | undefined
  try {
    row = await db('instance_settings').where({ key: PUBLIC_BASE_URL }).first('value', 'updated_at')
  } catch (err) {
    // A server started before this table existed (the CLI does not migrate the embedded database
    // of a running server): it has recorded nothing, which is what null says.
    if ((err as { code?: unknown }).code === '42P01') return null
    throw err
  }
  if (!row) return null
  const parsed = recordedUrl.safeParse(row.value)
  if (!parsed.success) return null
  return { url: parsed.data.replace(/\/+$/, ''), recordedAt: row.updated_at }
}
