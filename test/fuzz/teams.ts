/**
 * Teams inputs on `POST /api/messages`, in the unauthenticated mode the Bot Framework Emulator
 * uses: typed messages, card clicks (an older card's Action.Submit `value`, and the
 * `adaptiveCard/action` invokes of Action.Execute buttons), other activity types and invokes, and
 * bodies that are no activity at all. Built from the fixtures and mutated; the client's time zone
 * (`clientInfo` entity, `localTimezone`) is sometimes one no zone database knows.
 *
 * Whether an input must change nothing is decided on the body as built, with the adapter's own
 * schemas: refused when it is no message, does not parse, comes from another tenant or from anyone
 * but the member the connector vouches for as the administrator, reads only, or names a user
 * outside the linked account.
 */
import fc from 'fast-check'
import { commandText } from '../../adapters/teams/interactions.ts'
import { z } from 'zod'
import { noticeKinds } from '../../adapters/chat/ports.ts'
import { ActivityEnvelope, CardValue, INVITEOPS_VERB, MessageActivity, listFilters, rowActions, tenantOf } from '../../adapters/teams/schemas.ts'
import { ALICE, TENANT, cardSubmit, channelText, personalText, post, type Activity } from '../teams/support.ts'
import { applyMutations, excerpt, junkJson, mutationsArb, nastyString, noMutations, rarely, type IdRef, type Json, type Mutation } from './mutate.ts'
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
  zoneValueArb,
  type CommandText,
  type ExpiryRef,
  type Family,
  type InvitationRef,
  type Prepared,
} from './shared.ts'
import { SOMETHING_WENT_WRONG, TEAMS_IDS, TEAMS_VOUCHED, type TeamsIdentity, type World } from './world.ts'

/**
 * The client's time zone as the activity carries it: the fixtures' (`Europe/Paris` in a
 * `clientInfo` entity and in `localTimezone`) when null, else each place kept, dropped or set to
 * a value (any JSON: a zone, a name no zone database knows, no string at all).
 */
export type ZoneRecipe = { entity: 'keep' | 'drop' | { value: Json }; local: 'keep' | 'drop' | { value: Json }; entities: 'fixture' | 'notArray' | 'many' } | null

export interface TeamsCaller {
  from: TeamsIdentity | { junk: string }
  tenant: 'linked' | 'other' | 'none'
  where: 'channel' | 'personal'
  zone: ZoneRecipe
}

const zonePlaceArb = fc.oneof({ weight: 1, arbitrary: fc.constantFrom('keep' as const, 'drop' as const) }, { weight: 3, arbitrary: zoneValueArb.map((value) => ({ value })) })
const zoneArb: fc.Arbitrary<ZoneRecipe> = fc.option(
  fc.record({ entity: zonePlaceArb, local: zonePlaceArb, entities: fc.oneof({ weight: 8, arbitrary: fc.constant('fixture' as const) }, { weight: 1, arbitrary: fc.constantFrom('notArray' as const, 'many' as const) }) }),
  { nil: null, freq: 2 },
)

const identities = Object.keys(TEAMS_IDS) as TeamsIdentity[]
const notAdmin = identities.filter((i) => i !== 'admin')

const refusedCallerArb: fc.Arbitrary<TeamsCaller> = fc.oneof(
  fc.record({ from: fc.oneof(fc.constantFrom(...notAdmin), nastyString.map((junk) => ({ junk }))), tenant: fc.constantFrom('linked' as const, 'other' as const), where: fc.constantFrom('channel' as const, 'personal' as const), zone: zoneArb }),
  fc.record({ from: fc.constant('admin' as const), tenant: fc.constantFrom('other' as const, 'none' as const), where: fc.constantFrom('channel' as const, 'personal' as const), zone: zoneArb }),
)
const adminCallerArb: fc.Arbitrary<TeamsCaller> = fc.record({ from: fc.constant('admin' as const), tenant: fc.constant('linked' as const), where: fc.constantFrom('channel' as const, 'personal' as const), zone: zoneArb })
const anyCallerArb = fc.oneof({ weight: 5, arbitrary: adminCallerArb }, { weight: 1, arbitrary: refusedCallerArb })

function fromOf(c: TeamsCaller): Activity['from'] {
  if (typeof c.from !== 'string') return { id: c.from.junk, name: 'Junk' }
  if (c.from === 'admin') return ALICE
  return { id: TEAMS_IDS[c.from], name: c.from, aadObjectId: `00000000-0000-4000-8000-${String(identities.indexOf(c.from)).padStart(12, '0')}` }
}

/** An activity from the caller, in the channel or the personal chat, with its tenant set as asked. */
function activityFor(c: TeamsCaller, text: string): Activity {
  const base = c.where === 'channel' ? channelText(text) : personalText(text)
  base.from = fromOf(c)
  const tenant = c.tenant === 'linked' ? TENANT : c.tenant === 'other' ? 'f0000000-0000-4000-8000-0000000000ff' : undefined
  base.conversation = { ...base.conversation, tenantId: tenant }
  base.channelData = { ...base.channelData, tenant: tenant ? { id: tenant } : undefined } as Activity['channelData']
  if (!tenant) {
    delete base.conversation.tenantId
    if (base.channelData) delete base.channelData.tenant
  }
  setZone(base, c.zone)
  return base
}

/** Puts the caller's time zone where Teams puts it (the fixtures' clientInfo entity and localTimezone). */
function setZone(activity: Activity, zone: ZoneRecipe): void {
  if (zone === null) return
  const entities = (Array.isArray(activity.entities) ? activity.entities : []) as { [key: string]: Json }[]
  const others = entities.filter((e) => e.type !== 'clientInfo')
  const info = entities.find((e) => e.type === 'clientInfo') ?? { locale: 'en-US', country: 'US', platform: 'Web', type: 'clientInfo' }
  const withZone: Json[] = zone.entity === 'drop' ? others : [...others, zone.entity === 'keep' ? info : { ...info, timezone: zone.entity.value }]
  // Entities Teams never sends as such: not an array, or more than the schema reads (clientInfo last).
  activity.entities = zone.entities === 'notArray' ? { clientInfo: withZone } : zone.entities === 'many' ? [...Array.from({ length: 60 }, () => ({ type: 'mention' })), ...withZone] : withZone
  if (zone.local === 'drop') delete activity.localTimezone
  else if (zone.local !== 'keep') activity.localTimezone = zone.local.value
}

/** The envelope the route checks before botbuilder sees an activity (unauthenticated mode: loopback http allowed). */
const Envelope = ActivityEnvelope({ loopbackHttp: true })

/**
 * The shape the route reads of an invoke before handing its data over (the route's own schema is
 * private to it; this is the same, field for field).
 */
const CardActionInvoke = z.object({
  name: z.literal('adaptiveCard/action'),
  value: z.object({
    action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(1000), data: z.unknown().optional() }),
  }),
})

/**
 * Why this body cannot change data, or null. Mirrors the route: JSON with a type (else 400), the
 * envelope (else 400), a message, or an `adaptiveCard/action` invoke with our verb and an object
 * as data, turned into a message with that data as its value (else answered without running),
 * the adapter's schema, the linked tenant, the vouched administrator, then what the text or the
 * card value asks.
 */
async function refusal(body: string, world: World): Promise<string | null> {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return 'not JSON'
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not an activity'
  const type = (json as { type?: unknown }).type
  if (typeof type !== 'string' || type.length === 0 || type.length > 100) return 'not an activity'
  if (type !== 'message' && type !== 'invoke') return `activity type ${JSON.stringify(type.slice(0, 30))} is ignored`
  const envelope = Envelope.safeParse(json)
  if (!envelope.success) return 'malformed envelope'
  const activity = envelope.data
  if (type === 'message') {
    const parsed = MessageActivity.safeParse(activity)
    return parsed.success ? messageRefusal(parsed.data, world) : 'malformed message'
  }
  const invoke = CardActionInvoke.safeParse(activity)
  if (!invoke.success) return 'not a card action invoke'
  const action = invoke.data.value.action
  if (action.verb !== INVITEOPS_VERB) return 'another verb'
  const data = action.data
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'data is no object'
  const parsed = MessageActivity.safeParse({ ...activity, type: 'message', text: undefined, value: data })
  return parsed.success ? messageRefusal(parsed.data, world) : 'malformed card action'
}

/** Why a parsed message (typed, or a click's value) cannot change data, or null. */
async function messageRefusal(a: MessageActivity, world: World): Promise<string | null> {
  if (tenantOf(a) !== TENANT) return 'unlinked tenant'
  const accountId = world.b.accountId
  if (!(await isAdminNow(world.db.knex, accountId, TEAMS_VOUCHED, a.from.id))) return 'not an administrator'
  if (a.value !== undefined && a.value !== null) {
    const value = CardValue.safeParse(a.value)
    if (!value.success) return 'unknown card value'
    const v = value.data
    switch (v.inviteops) {
      case 'list':
      case 'list.filter':
      case 'cancel':
        return 'read-only click'
      case 'row':
        if (!(await isUserOf(world.db.knex, accountId, v.userId))) return 'user outside the linked account'
        // Unconfirmed, remove only asks; edit opens the edit card (a groups read).
        return v.action === 'remove' || v.action === 'edit' ? 'read-only click' : null
      case 'remove.confirmed':
      case 'edit.save':
        return (await isUserOf(world.db.knex, accountId, v.userId)) ? null : 'user outside the linked account'
    }
  }
  return readOnlyText(commandText(a.text ?? '')) ? 'read-only command' : null
}

async function prepared(world: World, body: string, headers: Record<string, string>): Promise<Prepared> {
  let answer = ''
  return {
    refusedBecause: await refusal(body, world),
    describe: `POST /api/messages ${Object.keys(headers).length ? JSON.stringify(headers) + ' ' : ''}${excerpt(body)}`,
    send: async () => {
      const res = await post(world.teams.base, body, headers)
      answer = res.text
      return res.status
    },
    // An invoke's answer is the HTTP response itself: a failed card action says so there, not to the connector.
    judge: () => (answer.includes(SOMETHING_WENT_WRONG) ? `the app answered that something went wrong on its side: ${answer.slice(0, 300)}` : null),
  }
}

const resolver = (world: World) => (id: IdRef) => resolveId(id, world.b, world.a)

// ---------------------------------------------------------------------------------------------
// Typed messages

export interface TeamsMessageRecipe {
  caller: TeamsCaller
  text: CommandText | { raw: string }
  mention: boolean
  mutations: Mutation[]
}

const rawTextArb = fc.oneof(nastyString, fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constantFrom('&nbsp;add x@y.z', '<at>InviteOps</at>', '/invite', 'invite', '<at>a</at><at>b</at> list')).map((raw) => ({ raw }))

export const teamsMessages: Family<TeamsMessageRecipe> = {
  name: 'teams message',
  refused: fc.oneof(
    fc.record({ caller: refusedCallerArb, text: fc.oneof(commandTextArb, rawTextArb), mention: fc.boolean(), mutations: mutationsArb(anyIdArb) }),
    // The administrator with text that reads or is no command; no mutations (they could change the text).
    fc.record({ caller: adminCallerArb, text: readOnlyTextArb, mention: fc.boolean(), mutations: noMutations }),
  ),
  mayChange: fc.record({ caller: anyCallerArb, text: fc.oneof({ weight: 5, arbitrary: commandTextArb }, { weight: 1, arbitrary: rawTextArb }), mention: fc.boolean(), mutations: mutationsArb(anyIdArb) }),
  async prepare(r, world) {
    const words = 'raw' in r.text ? r.text.raw : renderText(r.text, world.b, world.a)
    const activity = activityFor(r.caller, words)
    // In a channel the text arrives with the bot's mention; sometimes without, or /invite-prefixed.
    activity.text = r.caller.where === 'channel' && r.mention ? `<at>InviteOps</at> ${words}` : r.mention ? `/invite ${words}` : words
    return prepared(world, JSON.stringify(applyMutations(activity as unknown as Json, r.mutations, resolver(world))), {})
  },
}

// ---------------------------------------------------------------------------------------------
// Card clicks

type OriginRecipe = { kind: 'list'; filter: string; page: number } | { kind: 'show'; user: IdRef } | { kind: 'notice'; notice: string; users: IdRef[] } | { kind: 'reply' } | { junk: Json }
type ValueRecipe =
  | { inviteops: 'row'; action: string; user: IdRef; invitation: InvitationRef | 'null' | null; expires: ExpiryRef | null; origin: OriginRecipe }
  | { inviteops: 'remove.confirmed'; user: IdRef; origin: OriginRecipe }
  | { inviteops: 'cancel'; origin: OriginRecipe }
  | { inviteops: 'list'; filter: string; page: number }
  | { inviteops: 'list.filter'; filter: string }
  | { inviteops: 'edit.save'; user: IdRef; origin: OriginRecipe; groups: { pick: number[]; junk: string | null } }
  | { junk: Json }

export interface TeamsCardRecipe {
  caller: TeamsCaller
  value: ValueRecipe
  /** Clients send the card's title as text beside the value, or nothing. */
  text: string | null
  replyTo: boolean
  mutations: Mutation[]
}

const filterArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...listFilters) }, { weight: 1, arbitrary: nastyString })
const pageArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 100_000, 100_001, 1.5, Number.MAX_SAFE_INTEGER) })

/**
 * A notice's rows: people of either account, or uuids that are nobody's (a notice's other rows do
 * not decide what a click may change; the clicked user does).
 */
const noticeUserArb: fc.Arbitrary<IdRef> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(20).map((index): IdRef => ({ kind: 'own', index })) },
  { weight: 1, arbitrary: fc.nat(20).map((index): IdRef => ({ kind: 'other', index })) },
  { weight: 1, arbitrary: fc.uuid().map((uuid): IdRef => ({ kind: 'uuid', uuid })) },
)

function originArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<OriginRecipe> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('list' as const), filter: filterArb, page: pageArb }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('show' as const), user: ids }) },
    // A channel notice: which kind, and its rows' users (1 to 10; sometimes none, or one too many).
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('notice' as const),
        notice: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...noticeKinds) }, { weight: 1, arbitrary: nastyString }),
        users: fc.oneof({ weight: 8, arbitrary: fc.array(noticeUserArb, { minLength: 1, maxLength: 10 }) }, { weight: 1, arbitrary: fc.array(ids, { minLength: 0, maxLength: 12 }) }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'reply' as const }) },
    { weight: 1, arbitrary: junkJson.map((junk): OriginRecipe => ({ junk })) },
  )
}

function valueArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<ValueRecipe> {
  const origin = originArb(ids)
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        inviteops: fc.constant('row' as const),
        action: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...rowActions) }, { weight: 1, arbitrary: nastyString }),
        user: ids,
        // The invitation and the expiry shown (resend's key): the user's latest, others, none, or null.
        invitation: fc.oneof({ weight: 4, arbitrary: invitationRefArb(ids) }, { weight: 1, arbitrary: fc.constantFrom('null' as const, null) }),
        expires: fc.option(expiryRefArb, { nil: null, freq: 3 }),
        origin,
      }),
    },
    { weight: 2, arbitrary: fc.record({ inviteops: fc.constant('remove.confirmed' as const), user: ids, origin }) },
    { weight: 1, arbitrary: fc.record({ inviteops: fc.constant('cancel' as const), origin }) },
    { weight: 1, arbitrary: fc.record({ inviteops: fc.constant('list' as const), filter: filterArb, page: pageArb }) },
    { weight: 1, arbitrary: fc.record({ inviteops: fc.constant('list.filter' as const), filter: filterArb }) },
    { weight: 2, arbitrary: fc.record({ inviteops: fc.constant('edit.save' as const), user: ids, origin, groups: fc.record({ pick: fc.array(fc.nat(10), { maxLength: 4 }), junk: fc.option(nastyString, { nil: null }) }) }) },
    { weight: 1, arbitrary: junkJson.map((junk): ValueRecipe => ({ junk })) },
  )
}

function renderOrigin(o: OriginRecipe, world: World): Json {
  if ('junk' in o) return o.junk
  if (o.kind === 'show') return { kind: 'show', userId: resolveId(o.user, world.b, world.a) }
  if (o.kind === 'notice') return { kind: 'notice', notice: o.notice, userIds: o.users.map((u) => resolveId(u, world.b, world.a)) }
  return o.kind === 'list' ? { kind: 'list', filter: o.filter, page: o.page } : { kind: 'reply' }
}

/** Expiries no button of ours carries: out of the schema's range, not whole, not numbers. */
const EXPIRY_EDGES: Json[] = [-1, 0, 1e11, 1e11 + 1, 1.5, -0.5, 1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, '1732615270', '', null, true, [], {}]

/** A row button's invitation id and shown expiry, as Teams carries them (`invitationId`, `expiresAt` epoch seconds). */
async function invitationKey(v: Extract<ValueRecipe, { inviteops: 'row' }>, userId: string, world: World): Promise<{ [key: string]: Json }> {
  const latest = await latestInvitation(world.db.knex, userId)
  const out: { [key: string]: Json } = {}
  if (v.invitation === 'null') out.invitationId = null
  else if (v.invitation !== null) {
    const id = v.invitation.kind === 'latest' ? (latest?.id ?? null) : resolveId(v.invitation, world.b, world.a)
    if (id !== null) out.invitationId = id
  }
  if (v.expires !== null) {
    const seconds = expirySeconds(v.expires, latest)
    if (v.expires.kind === 'edge') out.expiresAt = EXPIRY_EDGES[v.expires.index % EXPIRY_EDGES.length]!
    else if (seconds !== null) out.expiresAt = seconds
  }
  return out
}

async function renderValue(v: ValueRecipe, world: World): Promise<Json> {
  if ('junk' in v) return v.junk
  const id = (ref: IdRef) => resolveId(ref, world.b, world.a)
  switch (v.inviteops) {
    case 'row': {
      const userId = id(v.user)
      return { inviteops: 'row', action: v.action, userId, ...(await invitationKey(v, userId, world)), origin: renderOrigin(v.origin, world) }
    }
    case 'remove.confirmed':
      return { inviteops: 'remove.confirmed', userId: id(v.user), origin: renderOrigin(v.origin, world) }
    case 'cancel':
      return { inviteops: 'cancel', origin: renderOrigin(v.origin, world) }
    case 'list':
      return { inviteops: 'list', filter: v.filter, page: v.page }
    case 'list.filter':
      return { inviteops: 'list.filter', filter: v.filter }
    case 'edit.save': {
      // The multi-select sends group ids, comma-separated; some of ours, some of the other account's.
      const groups = [...world.b.groups, ...world.a.groups]
      const picked = v.groups.pick.map((i) => groups[i % groups.length]!.id)
      return { inviteops: 'edit.save', userId: id(v.user), origin: renderOrigin(v.origin, world), groups: [...picked, ...(v.groups.junk === null ? [] : [v.groups.junk])].join(',') }
    }
  }
}

function cardRecipeArb(caller: fc.Arbitrary<TeamsCaller>, ids: fc.Arbitrary<IdRef>, mutations: fc.Arbitrary<Mutation[]>): fc.Arbitrary<TeamsCardRecipe> {
  return fc.record({ caller, value: valueArb(ids), text: fc.option(fc.constantFrom('Resend', 'Remove', 'Save', 'add x@y.z'), { nil: null }), replyTo: rarely(8).map((b) => !b), mutations })
}

export const teamsCards: Family<TeamsCardRecipe> = {
  name: 'teams card',
  refused: fc.oneof(
    { weight: 3, arbitrary: cardRecipeArb(refusedCallerArb, anyIdArb, mutationsArb(anyIdArb)) },
    // The administrator clicking with ids of the other account, random uuids or junk.
    { weight: 3, arbitrary: cardRecipeArb(adminCallerArb, foreignIdArb, noMutations) },
  ),
  mayChange: cardRecipeArb(anyCallerArb, anyIdArb, mutationsArb(anyIdArb)),
  async prepare(r, world) {
    const base = activityFor(r.caller, '')
    const card = cardSubmit(await renderValue(r.value, world), `${unique()}`, {
      from: base.from,
      conversation: base.conversation,
      channelData: base.channelData,
    })
    if (r.text === null) delete card.text
    else card.text = r.text
    if (!r.replyTo) delete card.replyToId
    setZone(card, r.caller.zone)
    return prepared(world, JSON.stringify(applyMutations(card as unknown as Json, r.mutations, resolver(world))), {})
  },
}

// ---------------------------------------------------------------------------------------------
// Action.Execute clicks: `adaptiveCard/action` invokes

export interface TeamsExecuteRecipe {
  caller: TeamsCaller
  /** The invoke's name and the action's type: `adaptiveCard/action` and `Action.Execute` as Teams sends them, or not. */
  name: string
  actionType: string
  verb: string
  /** The button's data (the same values an Action.Submit carries), or none at all. */
  data: ValueRecipe | 'absent'
  /** The card's inputs, which Teams merges into the data (the filter choice, the groups picked). */
  inputs: { [key: string]: Json } | null
  title: string | null
  replyTo: boolean
  mutations: Mutation[]
}

const OTHER_VERBS = ['InviteOps', 'INVITEOPS', 'inviteops ', ' inviteops', 'inviteops\u0000', 'invite', 'inviteops.row', 'refresh', 'refreshCard', 'submit', '', 'x'.repeat(1001)] as const
const ourVerbArb = fc.constant(INVITEOPS_VERB)
const otherVerbArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...OTHER_VERBS) }, { weight: 1, arbitrary: nastyString.filter((v) => v !== INVITEOPS_VERB) })
const verbArb = fc.oneof({ weight: 8, arbitrary: ourVerbArb }, { weight: 2, arbitrary: otherVerbArb })
const invokeNameArb = fc.oneof({ weight: 20, arbitrary: fc.constant('adaptiveCard/action') }, { weight: 1, arbitrary: fc.constantFrom('adaptiveCard/Action', 'adaptivecard/action', 'task/submit', 'composeExtension/submitAction', 'actionableMessage/executeAction') }, { weight: 1, arbitrary: nastyString })
const actionTypeArb = fc.oneof({ weight: 20, arbitrary: fc.constant('Action.Execute') }, { weight: 1, arbitrary: fc.constantFrom('Action.Submit', 'action.execute', 'Action.OpenUrl', 'Action.Execute ', '') }, { weight: 1, arbitrary: nastyString })
/** Mostly none; else the inputs a card of ours has (the filter, the groups), sometimes with odd values or names. */
const inputKeyArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('filter', 'groups') },
  { weight: 1, arbitrary: fc.constantFrom('page', 'inviteops', 'userId', 'expiresAt', 'invitationId', 'origin') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
)
const inputValueArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<Json>(...listFilters, '') }, { weight: 1, arbitrary: junkJson })
const inputsArb: fc.Arbitrary<{ [key: string]: Json } | null> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.dictionary(inputKeyArb, inputValueArb, { minKeys: 1, maxKeys: 2 }).map((d) => JSON.parse(JSON.stringify(d)) as { [key: string]: Json }) },
)

function executeRecipeArb(opts: { caller: fc.Arbitrary<TeamsCaller>; ids: fc.Arbitrary<IdRef>; mutations: fc.Arbitrary<Mutation[]>; verb?: fc.Arbitrary<string>; name?: fc.Arbitrary<string>; actionType?: fc.Arbitrary<string> }): fc.Arbitrary<TeamsExecuteRecipe> {
  return fc.record({
    caller: opts.caller,
    name: opts.name ?? invokeNameArb,
    actionType: opts.actionType ?? actionTypeArb,
    verb: opts.verb ?? verbArb,
    data: fc.oneof({ weight: 12, arbitrary: valueArb(opts.ids) }, { weight: 1, arbitrary: fc.constant('absent' as const) }),
    inputs: inputsArb,
    title: fc.option(fc.constantFrom('Send new invitation', 'Remove', 'Yes, remove', 'Cancel', 'Save', 'Next'), { nil: null }),
    replyTo: rarely(8).map((b) => !b),
    mutations: opts.mutations,
  })
}

export const teamsExecute: Family<TeamsExecuteRecipe> = {
  name: 'teams execute',
  refused: fc.oneof(
    { weight: 3, arbitrary: executeRecipeArb({ caller: refusedCallerArb, ids: anyIdArb, mutations: mutationsArb(anyIdArb) }) },
    // The administrator clicking with ids of the other account, random uuids or junk.
    { weight: 3, arbitrary: executeRecipeArb({ caller: adminCallerArb, ids: foreignIdArb, mutations: noMutations, verb: ourVerbArb }) },
    // The administrator's real clicks, under a verb that is not ours or as something other than Action.Execute.
    { weight: 1, arbitrary: executeRecipeArb({ caller: adminCallerArb, ids: anyIdArb, mutations: noMutations, verb: otherVerbArb }) },
    { weight: 1, arbitrary: executeRecipeArb({ caller: adminCallerArb, ids: anyIdArb, mutations: noMutations, actionType: actionTypeArb.filter((t) => t !== 'Action.Execute') }) },
  ),
  mayChange: fc.oneof(
    { weight: 3, arbitrary: executeRecipeArb({ caller: anyCallerArb, ids: anyIdArb, mutations: mutationsArb(anyIdArb) }) },
    // The administrator's clicks as Teams sends them, unmutated: they reach the session and the core.
    { weight: 2, arbitrary: executeRecipeArb({ caller: adminCallerArb, ids: anyIdArb, mutations: noMutations, verb: ourVerbArb, name: fc.constant('adaptiveCard/action'), actionType: fc.constant('Action.Execute') }) },
  ),
  async prepare(r, world) {
    const base: { [key: string]: unknown } = { ...activityFor(r.caller, '') }
    // An invoke carries no text or attachments of its own.
    delete base.text
    delete base.textFormat
    delete base.attachments
    const data = r.data === 'absent' ? undefined : await renderValue(r.data, world)
    const merged = r.inputs !== null && typeof data === 'object' && data !== null && !Array.isArray(data) ? { ...data, ...r.inputs } : data
    const action: { [key: string]: Json } = { type: r.actionType, verb: r.verb }
    if (r.title !== null) action.title = r.title
    if (merged !== undefined) action.data = merged
    const invoke: { [key: string]: Json } = { ...(base as { [key: string]: Json }), type: 'invoke', name: r.name, id: `f:fuzz-${unique()}`, value: { action, trigger: 'manual' } }
    if (r.replyTo) invoke.replyToId = `${unique()}`
    else delete invoke.replyToId
    return prepared(world, JSON.stringify(applyMutations(invoke, r.mutations, resolver(world))), {})
  },
}

// ---------------------------------------------------------------------------------------------
// Other activity types, invokes, and bodies that are no activity

export interface TeamsOddRecipe {
  kind: 'activity' | 'raw'
  type: string
  name: string | null
  value: Json
  mutations: Mutation[]
  raw: string
  contentType: string
  /** An Authorization header, as a client that is not the connector might send. */
  authorization: string | null
}

const ODD_TYPES = ['conversationUpdate', 'messageReaction', 'typing', 'installationUpdate', 'event', 'invoke', 'endOfConversation', 'messageUpdate', 'messageDelete', 'contactRelationUpdate', 'deleteUserData', 'trace', 'handoff', 'command', 'Message', 'MESSAGE'] as const
const INVOKE_NAMES = ['adaptiveCard/action', 'composeExtension/query', 'task/fetch', 'task/submit', 'signin/verifyState', 'actionableMessage/executeAction', 'fileConsent/invoke', 'healthCheck'] as const

const rawBodyArb = fc.oneof(
  fc.constantFrom('', '{', '[]', 'null', '"message"', '{"type":null}', '{"type":""}', '{"type":123}', `{"type":"${'x'.repeat(101)}"}`, '{"type":"message"}', '{"__proto__":{"type":"message"}}', 'type=message'),
  nastyString,
  fc.jsonValue({ maxDepth: 4 }).map((j) => JSON.stringify(j)),
  fc.integer({ min: 1_000, max: 400_000 }).map((n) => `{"type":"message","text":"${'a'.repeat(n)}"}`),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
)

const oddRecipeArb: fc.Arbitrary<TeamsOddRecipe> = fc.record({
  kind: fc.constantFrom('activity' as const, 'activity' as const, 'raw' as const),
  type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ODD_TYPES) }, { weight: 1, arbitrary: nastyString }),
  name: fc.option(fc.oneof(fc.constantFrom(...INVOKE_NAMES), nastyString), { nil: null }),
  value: junkJson,
  mutations: mutationsArb(anyIdArb),
  raw: rawBodyArb,
  contentType: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16') }),
  authorization: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('Bearer not-a-jwt', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Basic YTpi', '') }),
})

export const teamsOdd: Family<TeamsOddRecipe> = {
  name: 'teams other activity',
  refused: oddRecipeArb,
  mayChange: oddRecipeArb,
  async prepare(r, world) {
    const headers: Record<string, string> = { 'content-type': r.contentType }
    if (r.authorization !== null) headers.authorization = r.authorization
    if (r.kind === 'raw') return prepared(world, r.raw, headers)
    const base = channelText('list') as unknown as Record<string, Json>
    const activity: Record<string, Json> = { ...base, type: r.type, id: `${unique()}`, value: r.value }
    if (r.name !== null) activity.name = r.name
    return prepared(world, JSON.stringify(applyMutations(activity, r.mutations, resolver(world))), headers)
  },
}
