import type { Knex } from 'knex'

/**
 * "Request a new invitation" from the expired-link page: one row per request the invitee made.
 * The rows are what the rate limit counts (it holds across restarts and replicas); the
 * administrators are told through `account_events` (type `invitation.new_requested`), written in
 * the same transaction. No link, token or IP address is stored.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE invitation_requests (
      id             bigserial PRIMARY KEY,
      account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      invitation_id  uuid NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
      requested_at   timestamptz NOT NULL
    );
    CREATE INDEX invitation_requests_invitation_idx ON invitation_requests (invitation_id, requested_at DESC);
    CREATE INDEX invitation_requests_account_idx ON invitation_requests (account_id, requested_at DESC);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE invitation_requests;`)
}
