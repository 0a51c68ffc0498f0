import type { Knex } from 'knex'
import * as m20261126120000 from './20261126120000_accounts_groups_users.ts'
import * as m20261126120100 from './20261126120100_invitations.ts'
import * as m20261126120200 from './20261126120200_audit_log.ts'
import * as m20261126120300 from './20261126120300_email_outbox.ts'
import * as m20261126120400 from './20261126120400_chat_connections.ts'
import * as m20261126120500 from './20261126120500_account_events.ts'
import * as m20261126121000 from './20261126121000_invitation_requests.ts'
import * as m20261126130000 from './20261126130000_email_delivery.ts'
import * as m20261126130100 from './20261126130100_email_send_gate_schedule.ts'
import * as m20261126140000 from './20261126140000_channel_notices.ts'
import * as m20261126150000 from './20261126150000_chat_deliveries.ts'
import * as m20261127120000 from './20261127120000_instance_settings.ts'
import * as m20261129120000 from './20261129120000_outbox_claim_token.ts'
import * as m20261130100000 from './20261130100000_account_time_zone.ts'
import * as m20261130110000 from './20261130110000_notice_destinations.ts'
import * as m20261130120000 from './20261130120000_slack_installations.ts'
import * as m20261130130000 from './20261130130000_api_keys.ts'
import * as m20261130140000 from './20261130140000_webhooks.ts'
import * as m20261130150000 from './20261130150000_handover_codes.ts'

export interface Migration {
  up(knex: Knex): Promise<void>
  down(knex: Knex): Promise<void>
}

/**
 * Every migration, in order. Listed by hand (rather than read from the folder) so the same list
 * works under tsx, vitest and any bundler. Append new ones at the end.
 */
export const migrations: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['20261126120000_accounts_groups_users', m20261126120000],
  ['20261126120100_invitations', m20261126120100],
  ['20261126120200_audit_log', m20261126120200],
  ['20261126120300_email_outbox', m20261126120300],
  ['20261126120400_chat_connections', m20261126120400],
  ['20261126120500_account_events', m20261126120500],
  ['20261126121000_invitation_requests', m20261126121000],
  ['20261126130000_email_delivery', m20261126130000],
  ['20261126130100_email_send_gate_schedule', m20261126130100],
  ['20261126140000_channel_notices', m20261126140000],
  ['20261126150000_chat_deliveries', m20261126150000],
  ['20261127120000_instance_settings', m20261127120000],
  ['20261129120000_outbox_claim_token', m20261129120000],
  ['20261130100000_account_time_zone', m20261130100000],
  ['20261130110000_notice_destinations', m20261130110000],
  ['20261130120000_slack_installations', m20261130120000],
  ['20261130130000_api_keys', m20261130130000],
  ['20261130140000_webhooks', m20261130140000],
  ['20261130150000_handover_codes', m20261130150000],
]
