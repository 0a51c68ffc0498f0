import type { Knex } from 'knex'

/**
 * Hand-over on accept (docs/lifecycle.md "Hand-over to the product's sign-up"): with
 * ACCEPT_REDIRECT_URL set, Accept on the invitee's page sends the invitee to the product's own
 * sign-up with a one-time code, which the product's backend redeems through the API.
 *
 *  - handover_codes: one row per code issued. `code_hash` is the SHA-256 of the code (256 random
 *    bits), so a dump yields no code that redeems. A code is bound to one invitation and its
 *    account, short-lived (`expires_at`), and used at most once (`used_at`). Rows go with their
 *    invitation.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE handover_codes (
      code_hash      text PRIMARY KEY CHECK (code_hash ~ '^[0-9a-f]{64}$'),
      invitation_id  uuid NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
      account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      created_at     timestamptz NOT NULL,
      expires_at     timestamptz NOT NULL,
      used_at        timestamptz,
      CHECK (expires_at > created_at)
    );
    -- Issuing a code clears the invitation's spent ones.
    CREATE INDEX handover_codes_invitation_idx ON handover_codes (invitation_id);
  `)
}

/** Drops every code: an invitee who was handed over and not yet redeemed clicks Accept again. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE handover_codes;`)
}
