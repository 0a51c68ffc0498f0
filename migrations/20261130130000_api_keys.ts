import type { Knex } from 'knex'

/**
 * The host product's API (docs/api.md):
 *
 *  - api_keys: one row per key an operator created for an account. The key itself is never
 *    stored: `key_hash` is its SHA-256 (a key is 32 random bytes, so a fast hash is enough: there
 *    is nothing to guess), `prefix` its first characters, shown in listings so an operator can
 *    tell keys apart and revoke one. A label names one active key of an account at a time.
 *  - api_idempotency: the first answer to a POST (or PUT, DELETE) sent with an Idempotency-Key,
 *    per account, for 24 hours; `response_status` is NULL while the first request is running.
 *  - email_outbox.requested_by_api_key_id: the key that caused an email, so the hourly send
 *    limit of an administrator applies to each key as well.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      label         text NOT NULL CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$'),
      prefix        text NOT NULL UNIQUE CHECK (prefix ~ '^iok_[A-Za-z0-9_-]{8}$'),
      key_hash      bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
      created_at    timestamptz NOT NULL,
      created_by    text CHECK (length(created_by) <= 200),
      last_used_at  timestamptz,
      revoked_at    timestamptz
    );
    CREATE UNIQUE INDEX api_keys_active_label_idx ON api_keys (account_id, lower(label)) WHERE revoked_at IS NULL;

    CREATE TABLE api_idempotency (
      account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
      request_hash     bytea NOT NULL CHECK (octet_length(request_hash) = 32),
      response_status  integer CHECK (response_status BETWEEN 100 AND 599),
      response_body    jsonb,
      created_at       timestamptz NOT NULL,
      expires_at       timestamptz NOT NULL,
      PRIMARY KEY (account_id, idempotency_key)
    );
    CREATE INDEX api_idempotency_expiry_idx ON api_idempotency (expires_at);

    ALTER TABLE email_outbox ADD COLUMN requested_by_api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL;
    CREATE INDEX email_outbox_api_key_idx ON email_outbox (requested_by_api_key_id, created_at) WHERE requested_by_api_key_id IS NOT NULL;
  `)
}

/** Drops every API key (the host product needs new ones) and the stored idempotent answers. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_outbox DROP COLUMN requested_by_api_key_id;
    DROP TABLE api_idempotency;
    DROP TABLE api_keys;
  `)
}
