import type { Knex } from 'knex'

/** Accounts, their groups, and users (a person's membership in one account). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE accounts (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX accounts_name_key ON accounts (lower(name));

    CREATE TABLE groups (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      is_admin    boolean NOT NULL DEFAULT false,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX groups_account_name_key ON groups (account_id, lower(name));

    CREATE TABLE users (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      email         text NOT NULL CHECK (email = lower(email) AND email !~ '[[:space:],;<>]'),
      first_name    text NOT NULL DEFAULT '',
      last_name     text NOT NULL DEFAULT '',
      status        text NOT NULL CHECK (status IN ('invited', 'active', 'declined', 'removed')),
      joined_at     timestamptz,
      password_hash text,
      created_at    timestamptz NOT NULL,
      updated_at    timestamptz NOT NULL,
      CHECK ((status = 'active') = (joined_at IS NOT NULL) OR status = 'removed')
    );
    -- One membership per email per account: a removed or declined person invited again gets
    -- the same row back (their history stays attached to it).
    CREATE UNIQUE INDEX users_account_email_key ON users (account_id, email);

    CREATE TABLE user_groups (
      user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
      PRIMARY KEY (user_id, group_id)
    );
    CREATE INDEX user_groups_group_idx ON user_groups (group_id);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE user_groups; DROP TABLE users; DROP TABLE groups; DROP TABLE accounts;`)
}
