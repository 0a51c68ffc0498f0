import type { Knex } from 'knex'

/**
 * SES delivery:
 *  - email_suppressions: recipients SES told us bounced (hard) or complained; no more sends, and
 *    an administrator who tries is told why.
 *  - email_feedback_events: SNS message ids already processed, so a redelivered notification
 *    changes nothing the second time.
 *  - email_send_gate: ONE row shared by every replica: a token bucket (SES_MAX_SEND_RATE is an
 *    account-wide limit, so the bucket must be too) and the pause/quota hold with its alarm.
 *    The worker locks it FOR UPDATE to take a token.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_suppressions (
      email            text PRIMARY KEY CHECK (email = lower(email)),
      reason           text NOT NULL CHECK (reason IN ('bounce', 'complaint')),
      detail           text,
      ses_message_id   text,
      feedback_id      text,
      created_at       timestamptz NOT NULL
    );

    CREATE TABLE email_feedback_events (
      sns_message_id   text PRIMARY KEY,
      kind             text NOT NULL,
      ses_message_id   text,
      recipients       jsonb NOT NULL DEFAULT '[]'::jsonb,
      received_at      timestamptz NOT NULL
    );

    CREATE TABLE email_send_gate (
      id               smallint PRIMARY KEY CHECK (id = 1),
      tokens           double precision NOT NULL,
      refilled_at      timestamptz NOT NULL,
      hold_until       timestamptz,
      hold_kind        text CHECK (hold_kind IN ('quota', 'paused')),
      hold_reason      text,
      alarm_since      timestamptz
    );
    INSERT INTO email_send_gate (id, tokens, refilled_at) VALUES (1, 0, now());

    -- Bounce and complaint notifications name the SES MessageId the worker stored.
    CREATE INDEX email_outbox_message_id_idx ON email_outbox (message_id) WHERE message_id IS NOT NULL;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX email_outbox_message_id_idx;
    DROP TABLE email_send_gate;
    DROP TABLE email_feedback_events;
    DROP TABLE email_suppressions;
  `)
}
