import type { Knex } from 'knex'

/**
 * Notices become the core's own job, delivered once per event and per destination
 * (docs/notices.md):
 *
 *  - notice_destinations: where one account's notices go on one platform (one row per account
 *    and platform): the conversation, and for platforms that need it to post unprompted (Teams)
 *    the conversation reference as the platform gave it. `set_by` says who chose it.
 *  - notice_deliveries: one row per event and platform, each with its own lease (claimed_until,
 *    which is also the "not before" of a row handed back), its claim count (attempts), the
 *    per-claim fence (claim_token), and how it ended (delivered_at, note). A platform that is
 *    down holds only its own rows.
 *  - account_events.fanned_out_at: when the job copied the event into one delivery per
 *    destination the account had at that moment, so a destination added later does not replay
 *    old notices. The event's own lease columns go: deliveries carry them now.
 *  - chat_connections.platform is checked for the form of a platform name rather than against a
 *    list: the core names no platform (src/chat/platform.ts holds the same rule).
 *
 * Existing data moves without a burst of old notices: the Slack notice channels
 * (`chat_connections.channel_id`, the oldest connection with a channel per account, as the
 * worker chose it) become Slack destinations; events already closed are marked fanned out and
 * get no delivery; events still open get one Slack delivery (when the account had a channel),
 * keeping their retry time and claim count.
 *
 * Pending invitations that expired more than a day before the upgrade are marked as announced
 * (`expiry_noticed_at`) without an event: a deployment that ran Teams alone never ran the expiry
 * sweep (it was Slack's), and would otherwise post every expiry of its past at once. They are
 * still listed by `/invite list expired`. Those of the last day are announced as usual.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE notice_destinations (
      account_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      platform           text NOT NULL CHECK (platform ~ '^[a-z][a-z0-9-]{0,31}$'),
      conversation_id    text NOT NULL CHECK (length(conversation_id) BETWEEN 1 AND 200),
      -- A backstop: the app refuses references over 8192 bytes of compact JSON; the jsonb's text
      -- form (measured here) is at most half again as long (src/notices/notice-destinations.ts).
      reference          jsonb CHECK (reference IS NULL OR octet_length(reference::text) <= 16384),
      conversation_name  text CHECK (length(conversation_name) <= 200),
      set_by             text CHECK (length(set_by) <= 300),
      updated_at         timestamptz NOT NULL,
      PRIMARY KEY (account_id, platform)
    );

    CREATE TABLE notice_deliveries (
      event_id       bigint NOT NULL REFERENCES account_events (id) ON DELETE CASCADE,
      platform       text NOT NULL CHECK (platform ~ '^[a-z][a-z0-9-]{0,31}$'),
      account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      claimed_until  timestamptz,
      attempts       integer NOT NULL DEFAULT 0,
      claim_token    uuid,
      delivered_at   timestamptz,
      note           text,
      created_at     timestamptz NOT NULL,
      PRIMARY KEY (event_id, platform)
    );
    -- Each platform's claim reads only its open rows, oldest event first.
    CREATE INDEX notice_deliveries_open_idx ON notice_deliveries (platform, event_id) WHERE delivered_at IS NULL;

    ALTER TABLE account_events ADD COLUMN fanned_out_at timestamptz;

    -- The oldest connection with a channel wins, as the Slack worker chose it.
    INSERT INTO notice_destinations (account_id, platform, conversation_id, set_by, updated_at)
    SELECT DISTINCT ON (account_id) account_id, 'slack', btrim(channel_id), 'migration (inviteops slack connect --channel)', created_at
      FROM chat_connections
     WHERE platform = 'slack' AND channel_id IS NOT NULL AND btrim(channel_id) <> '' AND length(btrim(channel_id)) <= 200
     ORDER BY account_id, created_at, external_id;

    -- Open events keep being delivered to Slack, once: their retry time and claim count carry over.
    INSERT INTO notice_deliveries (event_id, platform, account_id, claimed_until, attempts, created_at)
    SELECT e.id, 'slack', e.account_id, e.claimed_until, e.attempts, e.created_at
      FROM account_events e
      JOIN notice_destinations d ON d.account_id = e.account_id AND d.platform = 'slack'
     WHERE e.delivered_at IS NULL;
    -- Closed events are never posted again; open ones are now in notice_deliveries.
    UPDATE account_events SET fanned_out_at = coalesce(delivered_at, now());

    DROP INDEX account_events_undelivered_idx;
    ALTER TABLE account_events DROP COLUMN delivered_at, DROP COLUMN claimed_until, DROP COLUMN attempts, DROP COLUMN delivery_note;
    -- The fan-out reads only the events it has not seen.
    CREATE INDEX account_events_unfanned_idx ON account_events (id) WHERE fanned_out_at IS NULL;

    -- Old expiries are settled without a notice (see above); the last day's are announced.
    UPDATE invitations SET expiry_noticed_at = now()
     WHERE state = 'pending' AND expiry_noticed_at IS NULL AND expires_at < now() - interval '1 day';

    ALTER TABLE chat_connections DROP COLUMN channel_id;
    ALTER TABLE chat_connections DROP CONSTRAINT chat_connections_platform_check;
    ALTER TABLE chat_connections ADD CONSTRAINT chat_connections_platform_check CHECK (platform ~ '^[a-z][a-z0-9-]{0,31}$');
  `)
}

/**
 * Back to one Slack channel per connection and one lease per event. The account's Slack
 * destination goes back onto its oldest Slack connection only, the one whose channel up took
 * (its other connections get none, so the older worker picks the same channel). An event counts
 * as delivered when it was fanned out and none of its deliveries is still open; what was
 * delivered only to another platform is lost to the older schema, as are the destinations of
 * other platforms. Up's settling of old expiries (`expiry_noticed_at` set without an event) is
 * not undone: those invitations stay announced. Connections of platforms other than slack and
 * teams make this fail (the old CHECK would not hold them): remove them first.
 */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE chat_connections DROP CONSTRAINT chat_connections_platform_check;
    ALTER TABLE chat_connections ADD CONSTRAINT chat_connections_platform_check CHECK (platform IN ('slack', 'teams'));
    ALTER TABLE chat_connections ADD COLUMN channel_id text;
    UPDATE chat_connections c SET channel_id = d.conversation_id
      FROM notice_destinations d
     WHERE d.account_id = c.account_id AND d.platform = 'slack' AND c.platform = 'slack'
       AND c.external_id = (SELECT o.external_id FROM chat_connections o
                             WHERE o.account_id = c.account_id AND o.platform = 'slack'
                             ORDER BY o.created_at, o.external_id LIMIT 1);

    DROP INDEX account_events_unfanned_idx;
    ALTER TABLE account_events
      ADD COLUMN delivered_at   timestamptz,
      ADD COLUMN claimed_until  timestamptz,
      ADD COLUMN attempts       integer NOT NULL DEFAULT 0,
      ADD COLUMN delivery_note  text;
    UPDATE account_events e SET
      delivered_at = CASE WHEN e.fanned_out_at IS NULL THEN NULL
                          WHEN EXISTS (SELECT 1 FROM notice_deliveries n WHERE n.event_id = e.id AND n.delivered_at IS NULL) THEN NULL
                          ELSE coalesce((SELECT max(n.delivered_at) FROM notice_deliveries n WHERE n.event_id = e.id), e.fanned_out_at) END,
      delivery_note = (SELECT n.note FROM notice_deliveries n WHERE n.event_id = e.id AND n.platform = 'slack'),
      claimed_until = (SELECT n.claimed_until FROM notice_deliveries n WHERE n.event_id = e.id AND n.platform = 'slack' AND n.delivered_at IS NULL),
      attempts = coalesce((SELECT n.attempts FROM notice_deliveries n WHERE n.event_id = e.id AND n.platform = 'slack'), 0);
    ALTER TABLE account_events DROP COLUMN fanned_out_at;
    CREATE INDEX account_events_undelivered_idx ON account_events (id) WHERE delivered_at IS NULL;

    DROP TABLE notice_deliveries;
    DROP TABLE notice_destinations;
  `)
}
