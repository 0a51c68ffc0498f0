/**
 * Slack inputs on `POST /slack/events`: slash commands, `block_actions` and `view_submission`,
 * signed exactly as Slack signs (or deliberately not), built from the fixtures and mutated.
 *
 * Whether an input must change nothing is decided on the request as built, by the same parsing the
 * route does (querystring or JSON, then the adapter's own schemas): refused when every listener
 * that could take it would refuse it (bad signature, malformed, not an administrator, unlinked
 * workspace, a read-only command, an id outside the linked account).
 *
 * The administrator also calls under ids whose users.info gives a `tz` of every kind (world.ts),
 * and resend buttons carry the expiry they showed (a fourth part), right, moved or malformed.
 */
import { parse as parseQueryString } from 'node:querystring'
import fc from 'fast-check'
import { ActionIds, compactId, decodeRowAction, knownActionId, listFilters, rowActions } from '../../adapters/slack/actions.ts'
import { EDIT_MODAL_ACTION_ID, EDIT_MODAL_BLOCK_ID, EDIT_MODAL_CALLBACK_ID } from '../../adapters/slack/render.ts'
import { commandTextFromSlack } from '../../adapters/slack/format.ts'
import { SLASH_COMMANDS } from '../../adapters/slack/router.ts'
import { BlockActionsPayload, EditModalMetadata, SlackRequestBody, SlashCommandBody, ViewSubmissionPayload } from '../../adapters/slack/schemas.ts'
import { slackSignature } from '../../adapters/slack/verify.ts'
import { CHANNEL, SIGNING_SECRET, TEAM, fixture, postSigned, type SignOptions } from '../slack/support.ts'
import { applyMutations, asParsed, excerpt, mutationsArb, nastyString, noMutations, rarely, type IdRef, type Json, type Mutation } from './mutate.ts'
import {
  anyIdArb,
  commandTextArb,
  expiryRefArb,
  expirySeconds,
  foreignIdArb,
  invitationRefArb,
  isAdminNow,
  isUserOf,
  latestInvitation,
  readOnlyText,
  readOnlyTextArb,
  renderText,
  resolveId,
  unique,
  type CommandText,
  type ExpiryRef,
  type Family,
  type InvitationRef,
  type Prepared,
} from './shared.ts'
import { SLACK_IDS, SLACK_VOUCHED, SLACK_ZONED_ADMINS, type SlackIdentity, type World } from './world.ts'

export const SLACK_AUTH = ['valid', 'otherSecret', 'stale', 'future', 'noSignature', 'noTimestamp', 'malformed', 'tampered'] as const
export type SlackAuth = (typeof SLACK_AUTH)[number]

export interface SlackCaller {
  auth: SlackAuth
  /** `zoned`: the administrator under one of its ids with a `tz` of its own (SLACK_ZONED_ADMINS). */
  user: SlackIdentity | { junk: string } | { zoned: number }
  team: 'linked' | 'other' | { junk: string }
}

const identities = Object.keys(SLACK_IDS) as SlackIdentity[]
const notAdmin = identities.filter((i) => i !== 'admin')

/** Callers that cannot act: a bad signature, someone Slack does not vouch for as the admin, or another workspace. */
const refusedCallerArb: fc.Arbitrary<SlackCaller> = fc.oneof(
  fc.record({ auth: fc.constantFrom(...SLACK_AUTH.filter((a) => a !== 'valid')), user: fc.constantFrom(...identities), team: fc.constantFrom('linked' as const, 'other' as const) }),
  fc.record({
    auth: fc.constant('valid' as const),
    user: fc.oneof(fc.constantFrom(...notAdmin), nastyString.map((junk) => ({ junk }))),
    team: fc.oneof({ weight: 4, arbitrary: fc.constant('linked' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
  }),
  fc.record({ auth: fc.constant('valid' as const), user: fc.constant('admin' as const), team: fc.oneof(fc.constant('other' as const), nastyString.map((junk) => ({ junk }))) }),
)
const adminCaller: SlackCaller = { auth: 'valid', user: 'admin', team: 'linked' }
/** The administrator: mostly under its own id (users.info says Europe/London), else one with another `tz`. */
const adminCallerArb: fc.Arbitrary<SlackCaller> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(adminCaller) },
  { weight: 1, arbitrary: fc.nat(SLACK_ZONED_ADMINS.length - 1).map((zoned): SlackCaller => ({ auth: 'valid', user: { zoned }, team: 'linked' })) },
)
/** Mostly the administrator, sometimes anyone: phase 2 is about not failing, not about refusing. */
const anyCallerArb: fc.Arbitrary<SlackCaller> = fc.oneof({ weight: 5, arbitrary: adminCallerArb }, { weight: 1, arbitrary: refusedCallerArb })

function userId(c: SlackCaller): string {
  if (typeof c.user === 'string') return SLACK_IDS[c.user]
  return 'zoned' in c.user ? SLACK_ZONED_ADMINS[c.user.zoned % SLACK_ZONED_ADMINS.length]!.id : c.user.junk
}
function teamId(c: SlackCaller): string {
  return c.team === 'linked' ? TEAM : c.team === 'other' ? 'T0OTHERTEAM' : c.team.junk
}

function signOptions(auth: SlackAuth, body: string): SignOptions {
  const now = Math.floor(Date.now() / 1000)
  switch (auth) {
    case 'valid':
      return {}
    case 'otherSecret':
      return { signature: slackSignature('not-the-signing-secret', now, body) }
    case 'stale':
      return { timestamp: now - 301 - (body.length % 1000) }
    case 'future':
      return { timestamp: now + 301 + (body.length % 1000) }
    case 'noSignature':
      return { signature: null }
    case 'noTimestamp':
      return { omitTimestamp: true }
    case 'malformed':
      return { signature: `v1=${'0'.repeat(64)}` }
    case 'tampered':
      return { signature: slackSignature(SIGNING_SECRET, now, `${body}&tampered=1`) }
  }
}

type Encoding = 'form' | 'json' | 'plain' | 'badJson' | 'raw'
const encodingArb: fc.Arbitrary<Encoding> = fc.oneof({ weight: 12, arbitrary: fc.constant('form' as const) }, { weight: 1, arbitrary: fc.constantFrom('json' as const, 'plain' as const, 'badJson' as const, 'raw' as const) })

/** Form values must be strings: anything a mutation made of them travels as its JSON. */
function formOf(fields: Json): string {
  const out = new URLSearchParams()
  if (fields && typeof fields === 'object' && !Array.isArray(fields)) {
    for (const [k, v] of Object.entries(fields)) out.append(k, typeof v === 'string' ? v : JSON.stringify(v))
  }
  return out.toString()
}

interface Built {
  body: string
  contentType: string
}

function encode(encoding: Encoding, fields: Json, asPayload: boolean, raw: string): Built {
  switch (encoding) {
    case 'form':
      return { body: asPayload ? new URLSearchParams({ payload: JSON.stringify(fields) }).toString() : formOf(fields), contentType: 'application/x-www-form-urlencoded' }
    case 'json':
      return { body: JSON.stringify(fields), contentType: 'application/json' }
    case 'plain':
      return { body: JSON.stringify(fields), contentType: 'text/plain' }
    case 'badJson':
      return { body: `payload=${encodeURIComponent(JSON.stringify(fields).slice(0, -1))}`, contentType: 'application/x-www-form-urlencoded' }
    case 'raw':
      return { body: raw, contentType: 'application/x-www-form-urlencoded' }
  }
}

/** The body as the route parses it, or null when the gate refuses it as malformed. */
function parsedBody(built: Built): unknown {
  try {
    if (built.contentType === 'application/json') return JSON.parse(built.body) as unknown
    if (built.contentType !== 'application/x-www-form-urlencoded') return null
    const form = parseQueryString(built.body)
    return typeof form.payload === 'string' ? (JSON.parse(form.payload) as unknown) : form
  } catch {
    return null
  }
}

/**
 * Why the route cannot change data for this (signed) body, or null. Each listener that could
 * receive it is asked; the input counts as refused only when all of them refuse.
 */
async function refusal(auth: SlackAuth, built: Built, world: World): Promise<string | null> {
  if (auth !== 'valid') return `bad signature (${auth})`
  const body = parsedBody(built)
  if (body === null) return 'malformed body'
  if (!SlackRequestBody.safeParse(body).success) return 'not a Slack request we accept'
  const accountId = world.a.accountId
  const admin = (userId: string) => isAdminNow(world.db.knex, accountId, SLACK_VOUCHED, userId)
  const reasons: string[] = []

  const command = SlashCommandBody.safeParse(body)
  if (command.success) {
    const c = command.data
    const why = !SLASH_COMMANDS.includes(c.command)
      ? 'not our command'
      : !(await admin(c.user_id))
        ? 'not an administrator'
        : c.team_id !== TEAM
          ? 'unlinked workspace'
          : readOnlyText(commandTextFromSlack(c.text))
            ? 'read-only command'
            : null
    if (!why) return null
    reasons.push(why)
  }

  const action = BlockActionsPayload.safeParse(body)
  if (action.success) {
    const p = action.data
    const first = p.actions[0]
    const known = knownActionId.safeParse(first?.action_id)
    let why: string | null
    if (!(await admin(p.user.id))) why = 'not an administrator'
    else if ((p.team?.id ?? p.user.team_id) !== TEAM) why = 'unlinked workspace'
    else if (!p.response_url || !first) why = 'no response_url'
    else if (!known.success) why = 'unknown action'
    else if (known.data === ActionIds.listFilter || known.data === ActionIds.listPrev || known.data === ActionIds.listNext || known.data === ActionIds.removeCancel) why = 'read-only action'
    else {
      const value = decodeRowAction(known.data === ActionIds.rowMenu ? first.selected_option?.value : first.value)
      if (!value) why = 'stale value'
      else if (known.data === ActionIds.removeConfirmed && value.action !== 'remove') why = 'stale value'
      else if (known.data !== ActionIds.rowMenu && known.data !== ActionIds.removeConfirmed && known.data !== `${ActionIds.doPrefix}${value.action}`) why = 'stale value'
      else if (!(await isUserOf(world.db.knex, accountId, value.userId))) why = 'user outside the linked account'
      // Unconfirmed, remove only asks; edit opens the modal (a show and a groups read).
      else if (known.data !== ActionIds.removeConfirmed && (value.action === 'remove' || value.action === 'edit')) why = 'read-only action'
      else why = null
    }
    if (!why) return null
    reasons.push(why)
  }

  const view = ViewSubmissionPayload.safeParse(body)
  if (view.success) {
    const v = view.data
    let meta: ReturnType<typeof EditModalMetadata.safeParse> | null = null
    try {
      meta = EditModalMetadata.safeParse(JSON.parse(v.view.private_metadata))
    } catch {
      meta = null
    }
    const why =
      !(await admin(v.user.id))
        ? 'not an administrator'
        : (v.team?.id ?? v.user.team_id) !== TEAM
          ? 'unlinked workspace'
          : v.view.callback_id !== EDIT_MODAL_CALLBACK_ID
            ? 'unknown modal'
            : !meta?.success
              ? 'unreadable modal metadata'
              : !(await isUserOf(world.db.knex, accountId, meta.data.userId))
                ? 'user outside the linked account'
                : null
    if (!why) return null
    reasons.push(why)
  }
  // url_verification and ssl_check are answered by Bolt and touch nothing.
  return reasons.length > 0 ? reasons.join(', ') : 'ping (url_verification / ssl_check)'
}

async function sendSlack(world: World, auth: SlackAuth, built: Built, retry: boolean): Promise<number> {
  const opts = signOptions(auth, built.body)
  const res = await postSigned(world.slack.base, built.body, { ...opts, contentType: built.contentType, headers: retry ? { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } : {} })
  return res.status
}

async function prepared(world: World, auth: SlackAuth, built: Built, retry: boolean): Promise<Prepared> {
  return {
    refusedBecause: await refusal(auth, built, world),
    describe: `POST /slack/events [${auth}${retry ? ', retry' : ''}] ${built.contentType} ${excerpt(built.body)}`,
    send: () => sendSlack(world, auth, built, retry),
    // Bolt answers 404 when no listener acknowledged within 3 seconds: ours ack every request
    // the gate lets through, so a 404 means one failed before its ack.
    judge: (status) => (status === 404 ? 'answered 404 after Bolt waited for an ack that never came (a listener failed before acknowledging)' : null),
  }
}

const resolver = (world: World) => (id: IdRef) => resolveId(id, world.a, world.b)

// ---------------------------------------------------------------------------------------------
// Slash commands

export interface SlackCommandRecipe {
  caller: SlackCaller
  command: string
  text: CommandText | { raw: string }
  mutations: Mutation[]
  encoding: Encoding
  retry: boolean
  raw: string
}

const commandNameArb = fc.oneof({ weight: 8, arbitrary: fc.constant('/invite') }, { weight: 2, arbitrary: fc.constant('/inviteops') }, { weight: 1, arbitrary: fc.oneof(fc.constant('/webhook-collect'), nastyString) })
const rawTextArb = fc.oneof(nastyString, fc.string({ unit: 'grapheme', maxLength: 300 })).map((raw) => ({ raw }))

export const slashCommands: Family<SlackCommandRecipe> = {
  name: 'slack command',
  refused: fc.oneof(
    // Anything at all from a caller who cannot act.
    fc.record({ caller: refusedCallerArb, command: commandNameArb, text: fc.oneof(commandTextArb, rawTextArb), mutations: mutationsArb(anyIdArb), encoding: encodingArb, retry: rarely(10), raw: nastyString }),
    // The administrator, with text that reads or is no command (mutations may break the body, never the text).
    fc.record({ caller: adminCallerArb, command: commandNameArb, text: readOnlyTextArb, mutations: noMutations, encoding: encodingArb, retry: rarely(10), raw: nastyString }),
  ),
  mayChange: fc.record({ caller: anyCallerArb, command: commandNameArb, text: fc.oneof({ weight: 5, arbitrary: commandTextArb }, { weight: 1, arbitrary: rawTextArb }), mutations: mutationsArb(anyIdArb), encoding: encodingArb, retry: rarely(20), raw: nastyString }),
  async prepare(r, world) {
    const text = 'raw' in r.text ? r.text.raw : renderText(r.text, world.a, world.b)
    const fields: Record<string, string> = { ...fixture<Record<string, string>>('slash-command.json'), command: r.command, text, user_id: userId(r.caller), team_id: teamId(r.caller), trigger_id: `${unique()}.738474920.fuzz` }
    const mutated = applyMutations(fields, r.mutations, resolver(world))
    return prepared(world, r.caller.auth, encode(r.encoding, mutated, false, r.raw), r.retry)
  },
}

// ---------------------------------------------------------------------------------------------
// block_actions

/**
 * A row value: `<action>|<user>[|<invitation>[|<expiry shown, epoch seconds>]]`, the invitation
 * often the user's latest and the expiry often the one it has (so a resend acts), sometimes with
 * a part too many.
 */
type ValueRecipe =
  | { kind: 'row'; action: string; user: IdRef; invitation: InvitationRef | null; expires: ExpiryRef | null; extra: string | null }
  | { kind: 'list'; filter: string; page: string }
  | { kind: 'junk'; text: string }
type OriginRecipe = { kind: 'list'; filter: string; page: string } | { kind: 'show'; user: IdRef } | { kind: 'notice' } | { kind: 'reply' } | { kind: 'junk'; text: string }

export interface SlackActionRecipe {
  caller: SlackCaller
  fixture: 'block-actions-button.json' | 'block-actions-overflow.json' | 'block-actions-static-select.json'
  /** An action id, or `matching`: the one our buttons pair with the value (so a well-formed click reaches the core). */
  actionId: string
  value: ValueRecipe
  origin: OriginRecipe
  /** Whether the clicked message's blocks contain the clicked block (a notice updates in place). */
  inMessage: boolean
  mutations: Mutation[]
  /** Generated JSON sent instead of the fixture (any `user` key dropped), or null. */
  junk: Json | null
  encoding: Encoding
  retry: boolean
  raw: string
}

const actionIdArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('matching') },
  { weight: 8, arbitrary: fc.constantFrom(ActionIds.rowMenu, ActionIds.removeConfirmed, ActionIds.removeCancel, ActionIds.listFilter, ActionIds.listPrev, ActionIds.listNext, ...rowActions.map((a) => `${ActionIds.doPrefix}${a}`)) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(`${ActionIds.doPrefix}explode`), nastyString) },
)
const pageArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('1', '2', '3') }, { weight: 1, arbitrary: fc.constantFrom('0', '100000', '1000000', '-1', '1.5', '') })
const filterArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...listFilters) }, { weight: 1, arbitrary: nastyString })

function valueArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<ValueRecipe> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('row' as const),
        action: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...rowActions) }, { weight: 1, arbitrary: nastyString }),
        user: ids,
        invitation: fc.option(invitationRefArb(ids), { nil: null, freq: 4 }),
        expires: fc.option(expiryRefArb, { nil: null, freq: 3 }),
        extra: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('1', '0', ''), nastyString) }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('list' as const), filter: filterArb, page: pageArb }) },
    { weight: 1, arbitrary: nastyString.map((text): ValueRecipe => ({ kind: 'junk', text })) },
  )
}
function originArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<OriginRecipe> {
  return fc.oneof(
    fc.record({ kind: fc.constant('list' as const), filter: filterArb, page: pageArb }),
    fc.record({ kind: fc.constant('show' as const), user: ids }),
    fc.constant({ kind: 'notice' as const }),
    fc.constant({ kind: 'reply' as const }),
    nastyString.map((text): OriginRecipe => ({ kind: 'junk', text })),
  )
}

const fixtureArb = fc.constantFrom('block-actions-button.json' as const, 'block-actions-overflow.json' as const, 'block-actions-static-select.json' as const)

/** A uuid travels compact (22 base64url characters); junk travels as it is. */
function compact(ref: IdRef, world: World): string {
  const id = resolveId(ref, world.a, world.b)
  try {
    return compactId(id)
  } catch {
    return id
  }
}

/** Expiry parts no button of ours writes: past 12 digits, signed, not whole, padded, other digits. */
const EXPIRY_EDGES = ['0', '999999999999', '1000000000000', '-1', '+1', '1.5', '1e9', '0x1F', '', ' 1732615270', '1732615270 ', '٣٣٣', '１７３２６１５２７０', '00000000000000000001', 'NaN'] as const

async function renderValue(v: ValueRecipe, world: World): Promise<string> {
  if (v.kind === 'list') return `${v.filter}|${v.page}`
  if (v.kind === 'junk') return v.text
  const userId = resolveId(v.user, world.a, world.b)
  const latest = await latestInvitation(world.db.knex, userId)
  const parts = [v.action, compact(v.user, world)]
  const invitation = v.invitation === null ? null : v.invitation.kind === 'latest' ? (latest ? compactId(latest.id) : null) : compact(v.invitation, world)
  if (invitation !== null) parts.push(invitation)
  // The expiry only after an invitation, as buttons carry it (before one, it is a malformed id).
  if (v.expires !== null && (invitation !== null || v.extra !== null)) {
    const seconds = expirySeconds(v.expires, latest)
    if (v.expires.kind === 'edge') parts.push(EXPIRY_EDGES[v.expires.index % EXPIRY_EDGES.length]!)
    else if (seconds !== null) parts.push(String(seconds))
  }
  if (v.extra !== null) parts.push(v.extra)
  return parts.join('|')
}

function renderOrigin(o: OriginRecipe, world: World): string {
  switch (o.kind) {
    case 'list':
      return `inviteops|list|${o.filter}|${o.page}|row-${unique()}`
    case 'show':
      return `inviteops|show|${compact(o.user, world)}|actions`
    case 'notice':
      return `inviteops|notice|row-${unique()}`
    case 'reply':
      return 'inviteops|reply|prompt'
    case 'junk':
      return o.text
  }
}

function actionRecipeArb(caller: fc.Arbitrary<SlackCaller>, ids: fc.Arbitrary<IdRef>, mutations: fc.Arbitrary<Mutation[]>): fc.Arbitrary<SlackActionRecipe> {
  return fc.record({
    caller,
    fixture: fixtureArb,
    actionId: actionIdArb,
    value: valueArb(ids),
    origin: originArb(ids),
    inMessage: fc.boolean(),
    mutations,
    junk: fc.constant(null),
    encoding: encodingArb,
    retry: rarely(20),
    raw: nastyString,
  })
}

/**
 * The action id our messages give the element carrying this value: a row's ••• menu (a select's
 * option) or its own button (remove's confirmation too), a list's paging or filter.
 */
function matchingActionId(r: SlackActionRecipe): string {
  if (r.actionId !== 'matching') return r.actionId
  const v = r.value
  const button = r.fixture === 'block-actions-button.json'
  if (v.kind === 'list') return button ? ActionIds.listNext : ActionIds.listFilter
  if (!button) return ActionIds.rowMenu
  if (v.kind === 'row' && v.action === 'remove' && v.user.kind !== 'junk' && v.expires === null) return ActionIds.removeConfirmed
  return `${ActionIds.doPrefix}${v.kind === 'row' ? v.action : 'resend'}`
}

/** Pure generated JSON as the payload, with no `user` (so no one it could be on behalf of). */
const junkPayloadArb: fc.Arbitrary<SlackActionRecipe> = fc
  .tuple(actionRecipeArb(fc.constant(adminCaller), foreignIdArb, noMutations), fc.jsonValue({ maxDepth: 4 }).map(asParsed))
  .map(([r, junk]) => ({ ...r, junk }))

export const blockActions: Family<SlackActionRecipe> = {
  name: 'slack block_actions',
  refused: fc.oneof(
    { weight: 3, arbitrary: actionRecipeArb(refusedCallerArb, anyIdArb, mutationsArb(anyIdArb)) },
    // The administrator clicking ids of the other account, random uuids or junk (mutations
    // left out: they could put back an id of this account).
    { weight: 3, arbitrary: actionRecipeArb(adminCallerArb, foreignIdArb, noMutations) },
    { weight: 1, arbitrary: junkPayloadArb },
  ),
  mayChange: fc.oneof(
    { weight: 3, arbitrary: actionRecipeArb(anyCallerArb, anyIdArb, mutationsArb(anyIdArb)) },
    // The administrator's clicks as Slack sends them (the value on the element that carries it),
    // unmutated: they reach the session and the core, a resend with the expiry it showed included.
    {
      weight: 2,
      arbitrary: actionRecipeArb(adminCallerArb, anyIdArb, noMutations).map((r): SlackActionRecipe => ({ ...r, actionId: 'matching', encoding: 'form', retry: false })),
    },
  ),
  async prepare(r, world) {
    const base = fixture<Record<string, Json>>(r.fixture) as { [key: string]: Json }
    const value = await renderValue(r.value, world)
    const blockId = renderOrigin(r.origin, world)
    const first = (base.actions as { [key: string]: Json }[])[0]!
    const action: { [key: string]: Json } = { ...first, action_id: matchingActionId(r), block_id: blockId, action_ts: `${1732615270 + unique()}.654321` }
    if (r.fixture === 'block-actions-button.json') action.value = value
    else action.selected_option = { ...(first.selected_option as { [key: string]: Json }), value }
    const payload: { [key: string]: Json } = {
      ...base,
      user: { ...(base.user as { [key: string]: Json }), id: userId(r.caller), team_id: teamId(r.caller) },
      team: { id: teamId(r.caller), domain: 'acme' },
      trigger_id: `${unique()}.738474920.fuzz`,
      actions: [action],
      message: { type: 'message', text: 'A notice', blocks: r.inMessage ? [{ type: 'section', block_id: blockId, text: { type: 'mrkdwn', text: 'row' } }] : [] },
    }
    const junk = r.junk
    const mutated =
      junk === null
        ? applyMutations(payload, r.mutations, resolver(world))
        : typeof junk === 'object' && !Array.isArray(junk)
          ? Object.fromEntries(Object.entries(junk).filter(([k]) => k !== 'user'))
          : junk
    return prepared(world, r.caller.auth, encode(r.encoding, mutated, true, r.raw), r.retry)
  },
}

// ---------------------------------------------------------------------------------------------
// view_submission

export interface SlackViewRecipe {
  caller: SlackCaller
  callbackId: string
  metadata: { user: IdRef; channel: string | null; responseUrl: string | null; list: { filter: string; page: number } | null } | { junk: string }
  groups: string[]
  mutations: Mutation[]
  encoding: Encoding
  raw: string
}

const groupNameArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('Engineering', 'Members', 'Administrators', 'engineering') }, { weight: 1, arbitrary: nastyString })

function viewRecipeArb(caller: fc.Arbitrary<SlackCaller>, ids: fc.Arbitrary<IdRef>, mutations: fc.Arbitrary<Mutation[]>): fc.Arbitrary<SlackViewRecipe> {
  return fc.record({
    caller,
    callbackId: fc.oneof({ weight: 6, arbitrary: fc.constant(EDIT_MODAL_CALLBACK_ID) }, { weight: 1, arbitrary: nastyString }),
    metadata: fc.oneof(
      { weight: 6, arbitrary: fc.record({ user: ids, channel: fc.option(fc.constantFrom(CHANNEL, 'C0OTHER', 'not a channel'), { nil: null }), responseUrl: fc.option(fc.constantFrom('https://hooks.slack.com/actions/T0001INVOPS/1/abc', 'https://attacker.example/x', 'http://hooks.slack.com/x', 'not a url'), { nil: null }), list: fc.option(fc.record({ filter: filterArb, page: fc.integer({ min: -1, max: 200_000 }) }), { nil: null }) }) },
      { weight: 1, arbitrary: nastyString.map((junk) => ({ junk })) },
    ),
    groups: fc.array(groupNameArb, { maxLength: 5 }),
    mutations,
    encoding: encodingArb,
    raw: nastyString,
  })
}

export const viewSubmissions: Family<SlackViewRecipe> = {
  name: 'slack view_submission',
  refused: fc.oneof(
    { weight: 3, arbitrary: viewRecipeArb(refusedCallerArb, anyIdArb, mutationsArb(anyIdArb)) },
    { weight: 2, arbitrary: viewRecipeArb(adminCallerArb, foreignIdArb, noMutations) },
  ),
  mayChange: viewRecipeArb(anyCallerArb, anyIdArb, mutationsArb(anyIdArb)),
  async prepare(r, world) {
    const base = fixture<{ [key: string]: Json }>('view-submission-edit.json')
    const metadata =
      'junk' in r.metadata
        ? r.metadata.junk
        : JSON.stringify({ userId: resolveId(r.metadata.user, world.a, world.b), channelId: r.metadata.channel, responseUrl: r.metadata.responseUrl, list: r.metadata.list })
    const view = base.view as { [key: string]: Json }
    const payload: { [key: string]: Json } = {
      ...base,
      user: { ...(base.user as { [key: string]: Json }), id: userId(r.caller), team_id: teamId(r.caller) },
      team: { id: teamId(r.caller), domain: 'acme' },
      trigger_id: `${unique()}.738474920.fuzz`,
      view: {
        ...view,
        callback_id: r.callbackId,
        private_metadata: metadata,
        state: { values: { [EDIT_MODAL_BLOCK_ID]: { [EDIT_MODAL_ACTION_ID]: { type: 'multi_static_select', selected_options: r.groups.map((g) => ({ text: { type: 'plain_text', text: g }, value: g })) } } } },
      },
    }
    return prepared(world, r.caller.auth, encode(r.encoding, applyMutations(payload, r.mutations, resolver(world)), true, r.raw), false)
  },
}
