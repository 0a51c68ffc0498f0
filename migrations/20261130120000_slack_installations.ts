import type { Knex } from 'knex'

/**
 * Slack for every customer (docs/security.md "Slack installations and their tokens"):
 *
 *  - slack_installations: one row per workspace that installed the app through "Add to Slack",
 *    or per Enterprise Grid organisation for an org-wide install. `installation_key` is the
 *    team id (`T…`), or the enterprise id (`E…`) for an org-wide install: the two prefixes keep
 *    them apart. `tokens` is the bot token and refresh token sealed with AES-256-GCM
 *    (src/shared/secret-box.ts) under a key derived from INVITE_SECRET, bound to the row's key;
 *    it is NULL once the workspace uninstalled the app or revoked its tokens (the row stays, so
 *    later requests from that workspace can be told how to reinstall). Nothing else in the row
 *    is a secret.
 *  - notice_deliveries.held_since: a delivery handed back because its destination cannot be
 *    posted to until the workspace installs the app again; a new install makes those claimable
 *    at once (docs/notices.md "Held notices").
 *
 * Slack ids are upper-case letters and digits; the CHECKs keep out anything else, and keep a row
 * honest: active exactly when it has tokens, disabled exactly when it says when, an org-wide
 * install keyed by its enterprise and a workspace install by its team.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE slack_installations (
      installation_key       text PRIMARY KEY CHECK (installation_key ~ '^[TE][A-Z0-9]{1,40}$'),
      team_id                text CHECK (team_id ~ '^T[A-Z0-9]{1,40}$'),
      enterprise_id          text CHECK (enterprise_id ~ '^E[A-Z0-9]{1,40}$'),
      is_enterprise_install  boolean NOT NULL,
      app_id                 text CHECK (app_id ~ '^A[A-Z0-9]{1,40}$'),
      team_name              text CHECK (length(team_name) <= 300),
      enterprise_name        text CHECK (length(enterprise_name) <= 300),
      bot_user_id            text NOT NULL CHECK (bot_user_id ~ '^[UW][A-Z0-9]{1,40}$'),
      bot_id                 text CHECK (bot_id ~ '^B[A-Z0-9]{1,40}$'),
      bot_scopes             text[] NOT NULL DEFAULT '{}',
      installer_user_id      text CHECK (installer_user_id ~ '^[UW][A-Z0-9]{1,40}$'),
      tokens                 bytea CHECK (octet_length(tokens) BETWEEN 29 AND 8192),
      bot_token_expires_at   timestamptz,
      status                 text NOT NULL CHECK (status IN ('active', 'uninstalled', 'revoked')),
      installed_at           timestamptz NOT NULL,
      updated_at             timestamptz NOT NULL,
      disabled_at            timestamptz,
      CONSTRAINT slack_installations_tokens_iff_active CHECK ((status = 'active') = (tokens IS NOT NULL)),
      CONSTRAINT slack_installations_disabled_iff_inactive CHECK ((status = 'active') = (disabled_at IS NULL)),
      CONSTRAINT slack_installations_key_matches CHECK (
        CASE WHEN is_enterprise_install THEN enterprise_id IS NOT NULL AND installation_key = enterprise_id
             ELSE team_id IS NOT NULL AND installation_key = team_id END)
    );
    -- Token rotation looks for active installations whose bot token expires soon.
    CREATE INDEX slack_installations_expiry_idx ON slack_installations (bot_token_expires_at) WHERE status = 'active' AND bot_token_expires_at IS NOT NULL;

    ALTER TABLE notice_deliveries ADD COLUMN held_since timestamptz;
  `)
}

/** Drops the installations: every workspace installed through "Add to Slack" must install again. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE notice_deliveries DROP COLUMN held_since;
    DROP TABLE slack_installations;
  `)
}
