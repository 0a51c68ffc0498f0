import type { Knex } from 'knex'

/**
 * Requests a chat platform delivered, by their delivery key (Slack: team + trigger_id for a
 * command, the click's action_ts for a button), so that a redelivery reaching another replica
 * does not run twice (docs/reliability.md). Keys are kept for a while, then pruned.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE chat_deliveries (
      platform  text NOT NULL CHECK (platform IN ('slack', 'teams')),
      key       text NOT NULL CHECK (length(key) BETWEEN 1 AND 500),
      seen_at   timestamptz NOT NULL,
      PRIMARY KEY (platform, key)
    );
    CREATE INDEX chat_deliveries_seen_idx ON chat_deliveries (seen_at);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE chat_deliveries;`)
}
