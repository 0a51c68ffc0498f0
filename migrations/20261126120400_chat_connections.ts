import type { Knex } from 'knex'

/** A Slack workspace or Teams tenant is linked to exactly one account (docs/security.md). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE chat_connections (
      platform     text NOT NULL CHECK (platform IN ('slack', 'teams')),
      external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 100),
      account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      channel_id   text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (platform, external_id)
    );
    CREATE INDEX chat_connections_account_idx ON chat_connections (account_id);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE chat_connections;`)
}
