import type { Knex } from 'knex'

/**
 * Signed webhooks to the product an account belongs to (docs/webhooks.md):
 *
 *  - webhook_endpoints: where an account's events go. `secret` is the signing secret (`whsec_…`)
 *    sealed with AES-256-GCM (src/shared/secret-box.ts) under a key derived from INVITE_SECRET,
 *    bound to the row's id: signing needs it back, and a dump of the database alone holds no
 *    usable secret. `events` NULL means every event type, including ones added later.
 *    `failing_since` is when deliveries started failing without a success since; past
 *    WEBHOOK_DISABLE_AFTER the endpoint is `disabled` (and says when and why).
 *  - webhook_messages: the outbox, one row per (event, subscribed endpoint), written in the
 *    transaction of the change it announces. `message_id` (`msg_…`) is the `webhook-id` header of
 *    every attempt, so a receiver drops duplicates by it. `ordering_key` (the user's id) keeps a
 *    user's events in order per endpoint: a row is not claimed while an older open row of the
 *    same key and endpoint exists. The lease columns are those of src/shared/lease-queue.ts.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      id               uuid PRIMARY KEY,
      account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      url              text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
      events           text[] CHECK (events IS NULL OR cardinality(events) BETWEEN 1 AND 50),
      secret           bytea NOT NULL CHECK (octet_length(secret) BETWEEN 29 AND 1024),
      status           text NOT NULL CHECK (status IN ('enabled', 'disabled')),
      created_at       timestamptz NOT NULL,
      failing_since    timestamptz,
      last_error       text CHECK (length(last_error) <= 500),
      disabled_at      timestamptz,
      CONSTRAINT webhook_endpoints_disabled_iff_when CHECK ((status = 'disabled') = (disabled_at IS NOT NULL))
    );
    CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id);

    CREATE TABLE webhook_messages (
      id               bigserial PRIMARY KEY,
      message_id       text NOT NULL CHECK (message_id ~ '^msg_[A-Za-z0-9_-]{8,64}$'),
      endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      event_type       text NOT NULL CHECK (event_type ~ '^[a-z_]+\\.[a-z_]+$'),
      ordering_key     text NOT NULL CHECK (length(ordering_key) <= 100),
      -- json, not jsonb: the text is kept as written, so every attempt posts the same bytes.
      payload          json NOT NULL,
      created_at       timestamptz NOT NULL,
      status           text NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
      next_attempt_at  timestamptz NOT NULL,
      locked_until     timestamptz,
      claim_token      uuid,
      attempts         integer NOT NULL DEFAULT 0,
      last_status      integer,
      last_error       text CHECK (length(last_error) <= 500),
      closed_at        timestamptz,
      CONSTRAINT webhook_messages_once_per_endpoint UNIQUE (endpoint_id, message_id)
    );
    -- The worker's claim: open rows by due time.
    CREATE INDEX webhook_messages_due_idx ON webhook_messages (next_attempt_at, id) WHERE status IN ('queued', 'sending');
    -- "Is an older row of this user still open for this endpoint?" (the order per user).
    CREATE INDEX webhook_messages_order_idx ON webhook_messages (endpoint_id, ordering_key, id) WHERE status IN ('queued', 'sending');
  `)
}

/** Drops the endpoints and every undelivered message: each product must add its endpoint again. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE webhook_messages;
    DROP TABLE webhook_endpoints;
  `)
}
