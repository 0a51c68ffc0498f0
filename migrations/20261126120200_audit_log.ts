import type { Knex } from 'knex'

/** Every attempt, allowed or refused, with the chat identity behind it (docs/reliability.md). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_log (
      id                bigserial PRIMARY KEY,
      account_id        uuid REFERENCES accounts (id) ON DELETE CASCADE,
      at                timestamptz NOT NULL,
      actor_platform    text NOT NULL,
      actor_platform_id text NOT NULL,
      actor_email       text,
      action            text NOT NULL,
      target_email      text,
      result_code       text NOT NULL,
      ok                boolean NOT NULL,
      detail            jsonb NOT NULL DEFAULT '{}'::jsonb
    );
    CREATE INDEX audit_log_account_at_idx ON audit_log (account_id, at DESC, id DESC);
    CREATE INDEX audit_log_target_idx ON audit_log (account_id, target_email, at DESC);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE audit_log;`)
}
