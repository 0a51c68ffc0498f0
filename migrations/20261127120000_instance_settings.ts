import type { Knex } from 'knex'

/**
 * Settings of the running installation that other processes need to know, one row per key.
 * `public_base_url`: the PUBLIC_BASE_URL the server puts in emails, written by `serve` at each
 * start, so that the CLI (another process, often with another environment: `npm start` with
 * PORT=4000 in one terminal, `npx inviteops … link` in the next) prints the same links. A table
 * rather than a file beside the embedded database: it works the same with DATABASE_URL and with
 * several replicas, and it outlives the server process.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE instance_settings (
      key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
      value       text NOT NULL CHECK (length(value) BETWEEN 1 AND 2000),
      updated_at  timestamptz NOT NULL
    );
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE instance_settings;`)
}
