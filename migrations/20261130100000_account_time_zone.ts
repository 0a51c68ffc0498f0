import type { Knex } from 'knex'

/**
 * Each account has a time zone (an IANA name such as `Europe/Berlin`, default `UTC`): emails and
 * the invitee page show dates in it, and the daily "expiring within 24 h" digest goes out at 09:00
 * there (docs/notices.md). The application checks the name against the runtime's tz database
 * before writing it; the CHECK only keeps out what could never be a zone name.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE accounts ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
      CHECK (time_zone ~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$')
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE accounts DROP COLUMN time_zone`)
}
