import type { Knex } from 'knex'

/**
 * Things administrators must be told (accepted, declined, a new invitation requested, an email
 * bounced), written in the same transaction as the change. The channel notices worker consumes
 * them (docs/notices.md); until it exists they are visible through the audit log.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE account_events (
      id            bigserial PRIMARY KEY,
      account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      type          text NOT NULL,
      payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at    timestamptz NOT NULL,
      delivered_at  timestamptz
    );
    CREATE INDEX account_events_undelivered_idx ON account_events (id) WHERE delivered_at IS NULL;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE account_events;`)
}
