import type { Knex } from 'knex'

/**
 * Fenced claims on the email outbox. A worker's claim on a row is a lease; a worker whose send
 * outlived its lease must not touch the row afterwards (another worker has claimed it, sent it,
 * maybe recorded it). `attempts` cannot serve as the fence because a released claim gives its
 * attempt back, so a later claim can carry the same number. `claim_token` is new for every claim:
 * every update a worker makes to a row it holds is conditioned on it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE email_outbox ADD COLUMN claim_token uuid`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE email_outbox DROP COLUMN claim_token`)
}
