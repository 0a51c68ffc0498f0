import type { Knex } from 'knex'

/**
 * Channel notices (docs/notices.md):
 *  - invitations.expiry_noticed_at: when this link's expiry stopped needing a notice: the sweep
 *    announced it, or the link ended first (accepted, declined, replaced, revoked: set with
 *    ended_at). Null means a pending link whose expiry is still to be announced, and a CHECK keeps
 *    it that way, which also keeps the planner's estimate for the sweep honest (with ended rows
 *    null, it took half the table for "unannounced" and chose another index). Expiry itself
 *    stays computed from expires_at (docs/lifecycle.md). A regenerated link is a new row, so it starts
 *    null and gets its own notice when it expires in turn.
 *  - invitations_expiry_unnoticed_idx: the sweep reads only newly expired rows, however many
 *    expired-and-announced or ended rows pile up (docs/performance.md: an index, not a scan).
 *  - account_events gets a lease (claimed_until, attempts), like email_outbox, so several
 *    replicas post each event once, and delivery_note says why an event was closed without a
 *    post (no notice channel, unreadable, …).
 *  - account_events.dedupe_key + account_events_dedupe_idx: an event that must be written at most
 *    once per (account, type, key), such as the daily "expiring within 24 h" digest (key = the
 *    UTC day). Writers use INSERT … ON CONFLICT DO NOTHING on this index, so any number of
 *    replicas sweeping at once write one event; rows without a key (the others) are not limited.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE invitations ADD COLUMN expiry_noticed_at timestamptz;
    UPDATE invitations SET expiry_noticed_at = ended_at WHERE state <> 'pending';
    -- Links that expired before this upgrade are not announced all at once (they are in
    -- /invite list expired); notices start with the expiries that follow.
    UPDATE invitations SET expiry_noticed_at = now() WHERE state = 'pending' AND expires_at <= now();
    ALTER TABLE invitations ADD CONSTRAINT invitations_ended_expiry_settled CHECK (state = 'pending' OR expiry_noticed_at IS NOT NULL);
    CREATE INDEX invitations_expiry_unnoticed_idx ON invitations (expires_at) WHERE state = 'pending' AND expiry_noticed_at IS NULL;

    ALTER TABLE account_events
      ADD COLUMN claimed_until  timestamptz,
      ADD COLUMN attempts       integer NOT NULL DEFAULT 0,
      ADD COLUMN delivery_note  text,
      ADD COLUMN dedupe_key     text;
    CREATE UNIQUE INDEX account_events_dedupe_idx ON account_events (account_id, type, dedupe_key) WHERE dedupe_key IS NOT NULL;
  `)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX account_events_dedupe_idx;
    ALTER TABLE account_events DROP COLUMN dedupe_key, DROP COLUMN delivery_note, DROP COLUMN attempts, DROP COLUMN claimed_until;
    DROP INDEX invitations_expiry_unnoticed_idx;
    ALTER TABLE invitations DROP COLUMN expiry_noticed_at;
  `)
}
