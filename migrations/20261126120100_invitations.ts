import type { Knex } from 'knex'

/**
 * One row per link. Regenerating makes a new row and marks the old one `replaced`.
 * No column is a working link: `link_id` is only useful with INVITE_SECRET (the token is
 * HMAC(secret, link_id)), and `token_hash` is a SHA-256 of the token, for lookup.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE invitations (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id          uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      link_id             text NOT NULL UNIQUE CHECK (link_id ~ '^[0-9a-f]{32}$'),
      token_hash          text NOT NULL UNIQUE,
      state               text NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'replaced', 'revoked')),
      created_at          timestamptz NOT NULL,
      expires_at          timestamptz NOT NULL,
      invited_by_user_id  uuid REFERENCES users (id) ON DELETE SET NULL,
      invited_by_email    text,
      sent_count          integer NOT NULL DEFAULT 0,
      last_sent_at        timestamptz,
      ended_at            timestamptz,
      replaced_by         uuid REFERENCES invitations (id) ON DELETE SET NULL,
      ended_by_email      text,
      delivery_status     text CHECK (delivery_status IN ('queued', 'sent', 'failed', 'bounced', 'complained')),
      delivery_detail     text,
      delivery_message_id text,
      CHECK (expires_at > created_at),
      CHECK ((state = 'pending') = (ended_at IS NULL))
    );
    -- One pending invitation per user (docs/lifecycle.md).
    CREATE UNIQUE INDEX invitations_one_pending_per_user ON invitations (user_id) WHERE state = 'pending';
    -- The expiry sweep reads only pending rows by expiry: an index, not a scan (docs/performance.md).
    CREATE INDEX invitations_pending_expiry_idx ON invitations (expires_at) WHERE state = 'pending';
    CREATE INDEX invitations_user_idx ON invitations (user_id, created_at DESC);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE invitations;`)
}
