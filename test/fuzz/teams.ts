/**
 * Teams inputs on `POST /api/messages`, in the unauthenticated mode the Bot Framework Emulator
 * uses: typed messages, card clicks (`value`), other activity types and invokes, and bodies that
 * are no activity at all. Built from the fixtures and mutated.
 *
 * Whether an input must change nothing is decided on the body as built, with the adapter's own
 * schemas: refused when it is no message, does not parse, comes from another tenant or from anyone
 * but the member the connector vouches for as the administrator, reads only, or names a user
 * outside the linked account.
 */
import fc from 'fast-check'
import { commandText } from '../../adapters/teams/interactions.ts'
import { CardValue, MessageActivity, listFilters, rowActions, tenantOf } from '../../adapters/teams/schemas.ts'
import { ALICE, TENANT, cardSubmit, channelText, personalText, post, type Activity } from '../teams/support.ts'
import { applyMutations, excerpt, junkJson, mutationsArb, nastyString, noMutations, rarely, type IdRef, type Json, type Mutation } from './mutate.ts'
import { anyIdArb, commandTextArb, foreignIdArb, isAdminNow, isUserOf, readOnlyText, readOnlyTextArb, renderText, resolveId, unique, type CommandText, type Family, type Prepared } from './shared.ts'
import { TEAMS_IDS, TEAMS_VOUCHED, type TeamsIdentity, type World } from './world.ts'

export interface TeamsCaller {
  from: TeamsIdentity | { junk: string }
  tenant: 'linked' | 'other' | 'none'
  where: 'channel' | 'personal'
}

const identities = Object.keys(TEAMS_IDS) as TeamsIdentity[]
const notAdmin = identities.filter((i) => i !== 'admin')

const refusedCallerArb: fc.Arbitrary<TeamsCaller> = fc.oneof(
  fc.record({ from: fc.oneof(fc.constantFrom(...notAdmin), nastyString.map((junk) => ({ junk }))), tenant: fc.constantFrom('linked' as const, 'other' as const), where: fc.constantFrom('channel' as const, 'personal' as const) }),
  fc.record({ from: fc.constant('admin' as const), tenant: fc.constantFrom('other' as const, 'none' as const), where: fc.constantFrom('channel' as const, 'personal' as const) }),
)
const adminCallerArb: fc.Arbitrary<TeamsCaller> = fc.record({ from: fc.constant('admin' as const), tenant: fc.constant('linked' as const), where: fc.constantFrom('channel' as const, 'personal' as const) })
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
  return base
}

/**
 * Why this body cannot change data, or null. Mirrors the route: JSON with a type (else 400), a
 * message (else ignored), the adapter's schema, the linked tenant, the vouched administrator, then
 * what the text or the card value asks.
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
  if (type !== 'message') return `activity type ${JSON.stringify(type.slice(0, 30))} is ignored`
  const parsed = MessageActivity.safeParse(json)
  if (!parsed.success) return 'malformed message'
  const a = parsed.data
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
  return {
    refusedBecause: await refusal(body, world),
    describe: `POST /api/messages ${Object.keys(headers).length ? JSON.stringify(headers) + ' ' : ''}${excerpt(body)}`,
    send: async () => (await post(world.teams.base, body, headers)).status,
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

type OriginRecipe = { kind: 'list'; filter: string; page: number } | { kind: 'show'; user: IdRef } | { kind: 'reply' } | { junk: Json }
type ValueRecipe =
  | { inviteops: 'row'; action: string; user: IdRef; invitation: IdRef | null; origin: OriginRecipe }
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

function originArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<OriginRecipe> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('list' as const), filter: filterArb, page: pageArb }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('show' as const), user: ids }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reply' as const }) },
    { weight: 1, arbitrary: junkJson.map((junk): OriginRecipe => ({ junk })) },
  )
}

function valueArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<ValueRecipe> {
  const origin = originArb(ids)
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ inviteops: fc.constant('row' as const), action: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...rowActions) }, { weight: 1, arbitrary: nastyString }), user: ids, invitation: fc.option(ids, { nil: null }), origin }) },
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
  return o.kind === 'list' ? { kind: 'list', filter: o.filter, page: o.page } : { kind: 'reply' }
}

function renderValue(v: ValueRecipe, world: World): Json {
  if ('junk' in v) return v.junk
  const id = (ref: IdRef) => resolveId(ref, world.b, world.a)
  switch (v.inviteops) {
    case 'row':
      return { inviteops: 'row', action: v.action, userId: id(v.user), ...(v.invitation ? { invitationId: id(v.invitation) } : {}), origin: renderOrigin(v.origin, world) }
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
    const card = cardSubmit(renderValue(r.value, world), `${unique()}`, {
      from: base.from,
      conversation: base.conversation,
      channelData: base.channelData,
    })
    if (r.text === null) delete card.text
    else card.text = r.text
    if (!r.replyTo) delete card.replyToId
    return prepared(world, JSON.stringify(applyMutations(card as unknown as Json, r.mutations, resolver(world))), {})
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
