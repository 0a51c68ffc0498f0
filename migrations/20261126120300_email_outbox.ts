import type { Knex } from 'knex'

/**
 * The email outbox: a row is written in the same transaction as the change it reports, and the
 * worker sends it after commit (docs/reliability.md). The payload never holds a link: the worker derives
 * it from the invitation's link_id and INVITE_SECRET at send time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_outbox (
      id                   bigserial PRIMARY KEY,
      account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      user_id              uuid REFERENCES users (id) ON DELETE CASCADE,
      invitation_id        uuid REFERENCES invitations (id) ON DELETE CASCADE,
      kind                 text NOT NULL CHECK (kind IN ('invitation', 'resend', 'new_invitation', 'removal')),
      to_email             text NOT NULL,
      requested_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
      payload              jsonb NOT NULL DEFAULT '{}'::jsonb,
      status               text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
      attempts             integer NOT NULL DEFAULT 0,
      next_attempt_at      timestamptz NOT NULL,
      locked_until         timestamptz,
      last_error           text,
      message_id           text,
      created_at           timestamptz NOT NULL,
      sent_at              timestamptz
    );
    -- The worker's claim query reads only unfinished rows.
    CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
    -- Send limits count recent rows per administrator and per recipient (they hold across restarts).
    CREATE INDEX email_outbox_requester_idx ON email_outbox (requested_by_user_id, created_at);
    CREATE INDEX email_outbox_recipient_idx ON email_outbox (to_email, created_at);
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE email_outbox;`)
}
