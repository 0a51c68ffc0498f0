import type { Knex } from 'knex'

/**
 * The send gate paces by "next instant a send may start" instead of a token bucket: a bucket
 * with leftover fractions lets two sends start closer than 1/SES_MAX_SEND_RATE, and the limit
 * must never be exceeded (docs/performance.md). Holds and the alarm are unchanged.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_send_gate ADD COLUMN next_send_at timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z';
    ALTER TABLE email_send_gate ALTER COLUMN next_send_at DROP DEFAULT;
    ALTER TABLE email_send_gate DROP COLUMN tokens, DROP COLUMN refilled_at;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_send_gate ADD COLUMN tokens double precision NOT NULL DEFAULT 0, ADD COLUMN refilled_at timestamptz NOT NULL DEFAULT now();
    ALTER TABLE email_send_gate ALTER COLUMN tokens DROP DEFAULT, ALTER COLUMN refilled_at DROP DEFAULT;
    ALTER TABLE email_send_gate DROP COLUMN next_send_at;
  `)
}
