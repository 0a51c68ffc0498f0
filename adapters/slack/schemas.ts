/**
 * Zod schemas for every byte Slack sends us (docs/architecture.md). Only the fields we use are required;
 * Slack adds fields freely, so objects are not strict.
 *
 * References:
 *  - slash commands: https://docs.slack.dev/interactivity/implementing-slash-commands#app_command_handling
 *  - block_actions:  https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
 *  - view_submission: https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload
 *  - users.info:     https://docs.slack.dev/reference/methods/users.info
 *  - events:         https://docs.slack.dev/apis/events-api/#callback-field (app_uninstalled, tokens_revoked)
 */
import { z } from 'zod'
import type { ChatPlatform } from '../../src/chat/platform.ts'
import { listFilters } from './actions.ts'

/** Slack's name as a chat platform: its linked workspaces, its actors, its notice destination. */
export const SLACK: ChatPlatform = 'slack'

/**
 * Slack ids are uppercase letters and digits behind a one-letter kind: `U…`/`W…` users, `T…`
 * workspaces, `E…` Enterprise organizations, `C…`/`G…`/`D…` conversations. Checked exactly, case
 * included, because Bolt keys a plain object by the team or enterprise id before any listener
 * runs (App#processEvent: `this.clients[teamId]`): `constructor` or `toString` there crashes it.
 * An Enterprise org-wide install may put the `E…` id where a team id usually is.
 */
const idOf = (prefixes: string, what: string) => z.string().regex(new RegExp(`^[${prefixes}][A-Z0-9]{1,40}$`), `not a Slack ${what} id`)
const teamId = idOf('TE', 'workspace')
const enterpriseId = idOf('E', 'Enterprise organization')
const userId = idOf('UW', 'user')
const channelId = idOf('CGD', 'conversation')

/**
 * A key Bolt reads to decide what a body is (helpers.getTypeAndConversation: `event`, then
 * `command`, then `name`, then `actions`, then `type`) must be absent from a body of another
 * kind: otherwise the gate vouches for one kind while Bolt dispatches another, reading fields
 * nobody checked. `function_data` (workflow steps, which we do not use) makes Bolt build a client
 * from the body's own token.
 */
const absent = z.never().optional()
const notRoutedElsewhere = { event: absent, function_data: absent }

/**
 * `response_urls` of a view submission (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload#view_submission):
 * Bolt reads `response_urls[0].response_url` when there is no `response_url`.
 */
const responseUrls = z.array(z.object({ response_url: z.url({ protocol: /^https?$/ }), block_id: z.string().optional(), action_id: z.string().optional(), channel_id: channelId.optional() })).max(25)

/** `POST /slack/events` with `command=/invite`: an x-www-form-urlencoded body. */
export const SlashCommandBody = z.object({
  command: z.string().min(1).max(100),
  text: z.string().max(4000).default(''),
  team_id: teamId,
  team_domain: z.string().optional(),
  enterprise_id: enterpriseId.optional(),
  channel_id: channelId,
  channel_name: z.string().optional(),
  user_id: userId,
  user_name: z.string().max(200).optional(),
  response_url: z.url({ protocol: /^https?$/ }),
  trigger_id: z.string().min(1).max(200),
  api_app_id: z.string().optional(),
  is_enterprise_install: z.enum(['true', 'false']).optional(),
  ...notRoutedElsewhere,
})
export type SlashCommandBody = z.infer<typeof SlashCommandBody>

const optionSchema = z.object({ value: z.string().max(2000) })

/** One element action inside a `block_actions` payload (button, overflow, static select). */
export const ElementAction = z.object({
  action_id: z.string().min(1).max(255),
  block_id: z.string().max(255).optional(),
  type: z.string(),
  action_ts: z.string().max(40),
  value: z.string().max(2000).optional(),
  selected_option: optionSchema.nullable().optional(),
})
export type ElementAction = z.infer<typeof ElementAction>

/** The payload of a click on one of our buttons or menus. */
export const BlockActionsPayload = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: userId,
    team_id: teamId.optional(),
    username: z.string().max(200).optional(),
    name: z.string().max(200).optional(),
  }),
  team: z.object({ id: teamId, domain: z.string().optional(), enterprise_id: enterpriseId.optional() }).nullable(),
  enterprise: z.object({ id: enterpriseId }).nullable().optional(),
  // Bolt reads it to choose between the workspace's installation and its organisation's.
  is_enterprise_install: z.boolean().optional(),
  api_app_id: z.string().optional(),
  trigger_id: z.string().max(200).optional(),
  // Absent, never null: Bolt reads `channel.id` whenever `channel` is not undefined.
  channel: z.object({ id: channelId, name: z.string().optional() }).optional(),
  container: z.object({ type: z.string(), channel_id: channelId.optional(), message_ts: z.string().optional(), is_ephemeral: z.boolean().optional() }).optional(),
  response_url: z.url({ protocol: /^https?$/ }).optional(),
  response_urls: responseUrls.optional(),
  ...notRoutedElsewhere,
  command: absent,
  name: absent,
  actions: z.array(ElementAction).min(1).max(25),
  /**
   * The message the click came from (a channel message; absent for ephemeral ones). A notice is
   * updated from it: only the clicked row changes. Blocks are passed back to Slack as they came.
   */
  message: z
    .object({
      text: z.string().max(40_000).optional(),
      blocks: z.array(z.looseObject({ type: z.string().max(50), block_id: z.string().max(255).optional() })).max(50).optional(),
    })
    .optional()
    // A message we cannot read does not stop the click: the notice is then replaced as a whole.
    .catch(undefined),
})
export type BlockActionsPayload = z.infer<typeof BlockActionsPayload>

/** The edit-groups modal being submitted. */
export const ViewSubmissionPayload = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: userId, team_id: teamId.optional(), username: z.string().max(200).optional(), name: z.string().max(200).optional() }),
  team: z.object({ id: teamId, enterprise_id: enterpriseId.optional() }).nullable(),
  enterprise: z.object({ id: enterpriseId }).nullable().optional(),
  is_enterprise_install: z.boolean().optional(),
  response_urls: responseUrls.optional(),
  ...notRoutedElsewhere,
  command: absent,
  name: absent,
  actions: absent,
  view: z.object({
    callback_id: z.string().max(255),
    // Bolt takes the team from here first when it is set (a modal opened from a Slack Connect channel).
    app_installed_team_id: teamId.optional(),
    private_metadata: z.string().max(3000).default(''),
    state: z.object({
      values: z.record(z.string(), z.record(z.string(), z.object({ type: z.string(), selected_options: z.array(optionSchema).max(100).optional() }))),
    }),
  }),
})
export type ViewSubmissionPayload = z.infer<typeof ViewSubmissionPayload>

/** Who an event is for (the `authorizations` of an event callback); Bolt reads the first one's team before ours. */
const EventAuthorization = z.object({
  enterprise_id: enterpriseId.nullable().optional(),
  team_id: teamId.nullable().optional(),
  user_id: userId.optional(),
  is_bot: z.boolean().optional(),
  is_enterprise_install: z.boolean().optional(),
})

/**
 * An Events API delivery (`type: event_callback`). We subscribe to `app_uninstalled` and
 * `tokens_revoked` (distribution mode); any other event type is accepted and ignored. Bolt reads
 * the team from `authorizations[0]`, then `team_id`, so both are checked as ids.
 */
export const SlackEventCallback = z.object({
  type: z.literal('event_callback'),
  team_id: teamId.optional(),
  enterprise_id: enterpriseId.nullable().optional(),
  api_app_id: z.string().max(100).optional(),
  event_id: z.string().regex(/^[A-Za-z0-9]{1,100}$/, 'not a Slack event id'),
  // Seconds since the epoch (when the event happened at Slack); bounded so it always makes a valid date.
  event_time: z.number().int().min(0).max(2 ** 33).optional(),
  is_enterprise_install: z.boolean().optional(),
  authorizations: z.array(EventAuthorization).max(10).optional(),
  event: z.looseObject({ type: z.string().min(1).max(100) }),
  function_data: absent,
  command: absent,
  name: absent,
  actions: absent,
})
export type SlackEventCallback = z.infer<typeof SlackEventCallback>

/** `tokens_revoked`: which tokens of this app Slack revoked, by the user id each belonged to (https://docs.slack.dev/reference/events/tokens_revoked). */
export const TokensRevokedEvent = z.object({
  type: z.literal('tokens_revoked'),
  tokens: z.object({
    oauth: z.array(z.string().max(100)).max(10_000).optional(),
    bot: z.array(z.string().max(100)).max(10_000).optional(),
  }),
})

/**
 * Everything our endpoint accepts once the signature is verified. Anything else is answered
 * with a short message and changes nothing.
 */
export const SlackRequestBody = z.union([
  SlashCommandBody,
  BlockActionsPayload,
  ViewSubmissionPayload,
  SlackEventCallback,
  // Slack pings the Request URL when it is saved and now and then (handled by Bolt).
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(200) }),
  z.object({ ssl_check: z.literal('1') }),
])

/**
 * The reference stored with a Slack notice destination (`/invite notices here`): the workspace
 * whose bot token posts there. Read back from the database, so checked like any input.
 */
export const SlackDestinationReference = z.object({ teamId, enterpriseId: enterpriseId.nullable().optional() })

/** The slice of `users.info` we decide on (docs/security.md). */
export const UsersInfoResponse = z.object({
  ok: z.literal(true),
  user: z.object({
    id: userId,
    team_id: z.string().optional(),
    name: z.string().optional(),
    real_name: z.string().optional(),
    deleted: z.boolean().optional(),
    is_bot: z.boolean().optional(),
    is_app_user: z.boolean().optional(),
    is_restricted: z.boolean().optional(),
    is_ultra_restricted: z.boolean().optional(),
    is_stranger: z.boolean().optional(),
    is_email_confirmed: z.boolean().optional(),
    /** The member's time zone (an IANA name); anything unreadable is dropped, never a refusal. */
    tz: z.string().max(64).optional().catch(undefined),
    enterprise_user: z.object({ teams: z.array(z.string()).optional() }).optional(),
    profile: z
      .object({
        email: z.string().optional(),
        display_name: z.string().optional(),
        real_name: z.string().optional(),
      })
      .optional(),
  }),
})
export type UsersInfoResponse = z.infer<typeof UsersInfoResponse>

/** What the edit modal carries through Slack and back (we wrote it; still parsed on the way in). */
export const EditModalMetadata = z.object({
  userId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  channelId: channelId.nullable(),
  responseUrl: z.url({ protocol: /^https?$/ }).nullable(),
  list: z.object({ filter: z.enum(listFilters), page: z.number().int().min(1) }).nullable(),
})
export type EditModalMetadata = z.infer<typeof EditModalMetadata>
