import type { Knex } from 'knex'

/**
 * The Slack installation repository: every query on `slack_installations` (docs/architecture.md
 * "Persistence"). Functions take the caller's connection or transaction. The tokens arrive and
 * leave sealed (`tokens`, bytea): sealing and opening them is the use cases' business
 * (slack-installations.ts), so nothing here ever holds a usable token.
 */

type Db = Knex | Knex.Transaction

export type SlackInstallationStatus = 'active' | 'uninstalled' | 'revoked'

/** A row as stored. */
export interface SlackInstallationRow {
  installation_key: string
  team_id: string | null
  enterprise_id: string | null
  is_enterprise_install: boolean
  app_id: string | null
  team_name: string | null
  enterprise_name: string | null
  bot_user_id: string
  bot_id: string | null
  bot_scopes: string[]
  installer_user_id: string | null
  tokens: Buffer | null
  bot_token_expires_at: Date | null
  status: SlackInstallationStatus
  installed_at: Date
  updated_at: Date
  disabled_at: Date | null
}

/** What an install writes (everything but the timestamps it is given). */
export type SlackInstallationWrite = Omit<SlackInstallationRow, 'status' | 'installed_at' | 'updated_at' | 'disabled_at' | 'tokens'> & { tokens: Buffer }

/** The rows of these keys (at most one per key: the primary key). */
export async function findSlackInstallationRows(db: Db, keys: readonly string[]): Promise<SlackInstallationRow[]> {
  if (keys.length === 0) return []
  return db('slack_installations').whereIn('installation_key', [...keys]).select<SlackInstallationRow[]>('*')
}

/** The row of one key, locked for the caller's transaction when `forUpdate`. */
export async function findSlackInstallationRow(db: Db, key: string, opts: { forUpdate?: boolean } = {}): Promise<SlackInstallationRow | null> {
  const q = db('slack_installations').where({ installation_key: key })
  if (opts.forUpdate) q.forUpdate()
  return (await q.first<SlackInstallationRow | undefined>('*')) ?? null
}

/**
 * Insert or replace the installation of `row.installation_key` (the primary key: one row per
 * workspace or org), active, installed at `now`. Returns whether a row of that key existed before
 * (an insert reports `xmax = 0`; an update of an existing row does not).
 */
export async function upsertSlackInstallation(trx: Knex.Transaction, row: SlackInstallationWrite, now: Date): Promise<{ existed: boolean }> {
  const values = { ...row, status: 'active', installed_at: now, updated_at: now, disabled_at: null }
  const { installation_key: _key, ...replaced } = values
  const rows = await trx('slack_installations')
    .insert(values)
    .onConflict('installation_key')
    .merge(replaced)
    .returning<{ inserted: boolean }[]>(trx.raw('(xmax = 0) AS inserted') as unknown as string)
  return { existed: rows[0]?.inserted === false }
}

/**
 * Disable an active installation: the sealed tokens are set to NULL (not merely marked), the
 * status says why. Returns the row as it was before when an active row changed, else null.
 */
export async function disableSlackInstallationRow(trx: Knex.Transaction, key: string, status: Exclude<SlackInstallationStatus, 'active'>, now: Date): Promise<{ teamName: string | null } | null> {
  const rows = await trx('slack_installations')
    .where({ installation_key: key, status: 'active' })
    .update({ status, tokens: null, bot_token_expires_at: null, disabled_at: now, updated_at: now })
    .returning<{ team_name: string | null }[]>(['team_name'])
  return rows[0] ? { teamName: rows[0].team_name } : null
}

/** Store rotated tokens on an active installation (the caller holds the row's lock). */
export async function updateSlackTokens(trx: Knex.Transaction, key: string, tokens: Buffer, expiresAt: Date | null, now: Date): Promise<void> {
  await trx('slack_installations').where({ installation_key: key, status: 'active' }).update({ tokens, bot_token_expires_at: expiresAt, updated_at: now })
}
