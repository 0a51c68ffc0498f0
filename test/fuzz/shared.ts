/**
 * What the chat families share: the `/invite` grammar as generated text, ids and emails that
 * point into one account or the other, and the rule that says a command text cannot change data.
 */
import fc from 'fast-check'
import type { Knex } from 'knex'
import { USAGE } from '../../src/commands/grammar.ts'
import type { CommandName } from '../../src/commands/types.ts'
import { findAdmin } from '../../src/invitations/admin-action.ts'
import { idRefArb, nastyString, type IdRef, type Json } from './mutate.ts'
import type { AccountFacts, World } from './world.ts'

/** What one generated input is, once built: how to send it and whether it must change nothing. */
export interface Prepared {
  /** Why this input cannot change data (refused or read-only by construction), or null. */
  refusedBecause: string | null
  /** Whether building the input wrote to the database (a fresh invitation), before it was sent. */
  setupWrote?: boolean
  /** A short account of the request, for the report. */
  describe: string
  send(): Promise<number>
  /** A rule of this route about the answer itself (beyond "no 5xx"): why `status` is wrong, or null. */
  judge?(status: number): string | null
}

export interface Family<R> {
  name: string
  /** Inputs built to be refused (or read-only): a refusal must leave every row as it was. */
  refused: fc.Arbitrary<R>
  /** Inputs an administrator or an invitee may legitimately act with. */
  mayChange: fc.Arbitrary<R>
  prepare(recipe: R, world: World): Promise<Prepared>
}

let sequence = 0
/** Unique per process: trigger ids, action timestamps, activity and SNS message ids. */
export function unique(): number {
  return ++sequence
}

/** An address: someone of this account, of the other, a new one, or not an address at all. */
export type EmailRef =
  | { kind: 'own' | 'other'; index: number; style: 'plain' | 'mailto' | 'upper' | 'quoted' }
  | { kind: 'new'; email: string }
  | { kind: 'junk'; text: string }

export const emailRefArb: fc.Arbitrary<EmailRef> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('own' as const), index: fc.nat(20), style: fc.constantFrom('plain' as const, 'mailto' as const, 'upper' as const, 'quoted' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('other' as const), index: fc.nat(20), style: fc.constantFrom('plain' as const, 'mailto' as const) }) },
  { weight: 2, arbitrary: fc.emailAddress().map((email): EmailRef => ({ kind: 'new', email })) },
  { weight: 1, arbitrary: nastyString.map((text): EmailRef => ({ kind: 'junk', text })) },
)

/** One word after the verb. */
export type Word = { w: 'email'; ref: EmailRef } | { w: 'text'; text: string } | { w: 'flag'; flag: string; value: string | null; joined: boolean }

const flagValue = fc.oneof(
  fc.constantFrom('Engineering', 'Members', 'Administrators', 'engineering', 'Nope', '"First Last"', '"Ann Lee"', 'Engineering,Members', '2', '0', '99999'),
  nastyString.map((s) => JSON.stringify(s)),
  nastyString,
)

export const wordArb: fc.Arbitrary<Word> = fc.oneof(
  { weight: 5, arbitrary: emailRefArb.map((ref): Word => ({ w: 'email', ref })) },
  {
    weight: 4,
    arbitrary: fc.record({
      w: fc.constant('flag' as const),
      flag: fc.constantFrom('--name', '--group', '--groups', '--page', '—name', '–group', '--yes', '--force', '--'),
      value: fc.option(flagValue, { nil: null, freq: 6 }),
      joined: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constantFrom('invited', 'expired', 'active', 'declined', 'removed', 'all', 'page', '2', '0', '-1', '100001').map((text): Word => ({ w: 'text', text })) },
  { weight: 2, arbitrary: nastyString.map((text): Word => ({ w: 'text', text })) },
)

/**
 * Every verb of the grammar, read from it (a verb added later is generated without anyone
 * remembering to add it here), and the aliases the parser also takes.
 */
export const VERBS: readonly string[] = [...new Set([...(Object.keys(USAGE) as CommandName[]), '?', 'ls', 'invite', 'new'])]
/**
 * Verbs that change nothing when typed: reads, and `remove`, which typed always asks for a
 * confirmation first (only a button confirms it). `notices` reads too, but not when `here` or
 * `off` follows it: readOnlyText decides on its words.
 */
export const READ_ONLY_VERBS = ['help', '?', 'list', 'ls', 'show', 'groups', 'audit', 'remove'] as const

export interface CommandText {
  /** A verb of the grammar (any case), or a word that is none. */
  verb: string
  words: Word[]
  sep: string
}

const sepArb = fc.constantFrom(' ', ' ', ' ', '  ', '\n', '\t', '\u00a0')

/** What follows `notices`: `here`, `off`, `show` in any case or quoted, then sometimes junk. */
const noticesWordArb: fc.Arbitrary<Word> = fc
  .oneof(
    { weight: 6, arbitrary: fc.constantFrom('here', 'off', 'show') },
    { weight: 2, arbitrary: fc.constantFrom('HERE', 'Off', 'Show', '"here"', "'off'", '“here”', 'h"ere"', 'here,', 'here.', 'hereafter', 'offline', 'on', 'channel', '#general', '<#C0123|general>', '<!here>', '@here', 'here&amp;', 'h&#101;re') },
    { weight: 1, arbitrary: nastyString },
  )
  .map((text): Word => ({ w: 'text', text }))

/** `notices`, `notices here|off|show`, and junk after them. */
const noticesTextArb: fc.Arbitrary<CommandText> = fc.record({
  verb: fc.constantFrom('notices', 'notices', 'NOTICES', 'Notices'),
  words: fc.oneof(
    { weight: 2, arbitrary: fc.constant<Word[]>([]) },
    { weight: 5, arbitrary: noticesWordArb.map((w) => [w]) },
    { weight: 2, arbitrary: fc.tuple(noticesWordArb, fc.array(fc.oneof(noticesWordArb, wordArb), { minLength: 1, maxLength: 3 })).map(([w, rest]) => [w, ...rest]) },
  ),
  sep: sepArb,
})

/** Text of the grammar, mostly well-formed, with hostile words mixed in. */
export const commandTextArb: fc.Arbitrary<CommandText> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      verb: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...VERBS) }, { weight: 1, arbitrary: fc.constantFrom(...VERBS).map((v) => v.toUpperCase()) }, { weight: 1, arbitrary: nastyString }),
      words: fc.array(wordArb, { maxLength: 6 }),
      sep: sepArb,
    }),
  },
  { weight: 2, arbitrary: noticesTextArb },
)

/** Text that cannot change data: a read-only verb, or a first word that is no verb at all. */
const readOnlyVerbTextArb: fc.Arbitrary<CommandText> = fc.record({
  verb: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...READ_ONLY_VERBS) },
    { weight: 1, arbitrary: fc.constantFrom(...READ_ONLY_VERBS).map((v) => v.toUpperCase()) },
    // "zz" starts no verb, whatever follows it (quotes, entities, more letters).
    { weight: 2, arbitrary: nastyString.map((s) => `zz${s}`) },
  ),
  words: fc.array(wordArb, { maxLength: 6 }),
  sep: fc.constantFrom(' ', '  ', '\n', '\t'),
})

/** `notices` alone, `notices show`, or followed by words that are neither `here` nor `off` (readOnlyText has the last word). */
const readOnlyNoticesArb: fc.Arbitrary<CommandText> = fc.record({
  verb: fc.constantFrom('notices', 'NOTICES', 'Notices'),
  words: fc.array(
    fc.oneof(fc.constantFrom('show', 'SHOW', 'on', 'channel', 'list', '--yes', '#general'), nastyString).map((text): Word => ({ w: 'text', text })),
    { maxLength: 3 },
  ),
  sep: fc.constantFrom(' ', '  ', '\n', '\t'),
})

export const readOnlyTextArb: fc.Arbitrary<CommandText> = fc.oneof({ weight: 6, arbitrary: readOnlyVerbTextArb }, { weight: 1, arbitrary: readOnlyNoticesArb })

function emailOf(ref: EmailRef, own: AccountFacts, other: AccountFacts): string {
  switch (ref.kind) {
    case 'own':
    case 'other': {
      // The other account's people share our emails but one: its `onlyHere` invitee.
      const facts = ref.kind === 'own' ? own : other
      const p = ref.kind === 'own' ? facts.people[ref.index % facts.people.length]! : facts.people.find((x) => x.role === 'onlyHere')!
      if (ref.style === 'mailto') return `<mailto:${p.email}|${p.email}>`
      if (ref.style === 'upper') return p.email.toUpperCase()
      if (ref.style === 'quoted') return `"${p.email}"`
      return p.email
    }
    case 'new':
      return ref.email
    case 'junk':
      return ref.text
  }
}

export function renderText(t: CommandText, own: AccountFacts, other: AccountFacts): string {
  const words = t.words.map((w) => {
    if (w.w === 'email') return emailOf(w.ref, own, other)
    if (w.w === 'text') return w.text
    if (w.value === null) return w.flag
    return w.joined ? `${w.flag}=${w.value}` : `${w.flag}${t.sep}${w.value}`
  })
  return [t.verb, ...words].join(t.sep)
}

/**
 * Whether a command text, as the core will parse it, cannot change data: its first word is a
 * read-only verb followed by white space (so nothing after it can change which verb it is), or
 * starts with "zz" (no verb does).
 */
export function readOnlyText(text: string): boolean {
  const verbs = READ_ONLY_VERBS.map((v) => v.replace('?', '\\?')).join('|')
  if (new RegExp(`^\\s*(?:(?:${verbs})(?:\\s|$)|zz)`, 'iu').test(text)) return true
  // `notices` reads, unless `here` or `off` could be its word: looked for anywhere after it, quotes
  // taken out (the parser joins `h"ere"` into one word), so no spelling of either slips through.
  const notices = /^\s*notices(?:\s([\s\S]*))?$/iu.exec(text)
  return notices !== null && !/here|off/i.test((notices[1] ?? '').replace(/["'“”‘’]/g, ''))
}

/** A uuid from an IdRef: someone of this account, of the other, a random uuid or junk. */
export function resolveId(ref: IdRef, own: AccountFacts, other: AccountFacts): string {
  switch (ref.kind) {
    case 'own':
      return own.people[ref.index % own.people.length]!.id
    case 'other':
      return other.people[ref.index % other.people.length]!.id
    case 'uuid':
      return ref.uuid
    case 'junk':
      return ref.text
  }
}

/** Ids for inputs that must be refused: never one of this account's people. */
export const foreignIdArb = idRefArb({ own: false, other: true })
/** Ids for inputs that may act: mostly this account's people. */
export const anyIdArb = fc.oneof({ weight: 3, arbitrary: fc.nat(20).map((index): IdRef => ({ kind: 'own', index })) }, { weight: 1, arbitrary: idRefArb({ own: true, other: true }) })

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Whether `id` names a user of `accountId` right now (what the adapters' `userById` finds). */
export async function isUserOf(db: Knex, accountId: string, id: string): Promise<boolean> {
  if (!UUID.test(id)) return false
  const row = await db('users').where({ id, account_id: accountId }).first('id')
  return row !== undefined
}

/**
 * Whether the core would take this caller for an administrator of the account now: the email the
 * platform vouches for (per the mocks) is an Active member of an admin group. Asked of the
 * database each time: an input that may act can make someone an administrator, or stop them being one.
 */
export async function isAdminNow(db: Knex, accountId: string, vouched: Readonly<Record<string, string>>, userId: string): Promise<boolean> {
  // An own key only: a user id such as "__proto__" must not find Object.prototype.
  const email = Object.hasOwn(vouched, userId) ? vouched[userId] : undefined
  if (!email) return false
  return (await findAdmin(db, accountId, { platform: 'cli', platformUserId: 'fuzz', email })) !== null
}

/** The invitation a row button names: an id of any kind, or the user's latest invitation (so a resend can act). */
export type InvitationRef = IdRef | { kind: 'latest' }

export function invitationRefArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<InvitationRef> {
  return fc.oneof({ weight: 2, arbitrary: fc.constant<InvitationRef>({ kind: 'latest' }) }, { weight: 1, arbitrary: ids })
}

/**
 * The expiry a resend button shows: the user's latest invitation's (as the card showed it), that
 * moved by some seconds, any epoch, or a value no button carries (`edge` is the platform's own
 * spelling of it: a number for Teams, the value's text for Slack).
 */
export type ExpiryRef = { kind: 'shown' } | { kind: 'shifted'; by: number } | { kind: 'epoch'; seconds: number } | { kind: 'edge'; index: number }

export const expiryRefArb: fc.Arbitrary<ExpiryRef> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<ExpiryRef>({ kind: 'shown' }) },
  { weight: 2, arbitrary: fc.integer({ min: -8 * 86_400, max: 8 * 86_400 }).map((by): ExpiryRef => ({ kind: 'shifted', by })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 99_999_999_999 }).map((seconds): ExpiryRef => ({ kind: 'epoch', seconds })) },
  { weight: 1, arbitrary: fc.nat(1_000).map((index): ExpiryRef => ({ kind: 'edge', index })) },
)

/** A user's latest invitation (its id and expiry), or null: an id that is no user's has none. */
export async function latestInvitation(db: Knex, userId: string): Promise<{ id: string; expiresAt: Date } | null> {
  if (!UUID.test(userId)) return null
  const row = await db('invitations').where({ user_id: userId }).orderBy('created_at', 'desc').first<{ id: string; expires_at: Date | string } | undefined>('id', 'expires_at')
  return row ? { id: row.id, expiresAt: new Date(row.expires_at) } : null
}

/** The epoch seconds an ExpiryRef names (null when it names none: no latest invitation to show). */
export function expirySeconds(ref: ExpiryRef, latest: { expiresAt: Date } | null): number | null {
  const shown = latest ? Math.floor(latest.expiresAt.getTime() / 1000) : null
  switch (ref.kind) {
    case 'shown':
      return shown
    case 'shifted':
      return shown === null ? null : shown + ref.by
    case 'epoch':
      return ref.seconds
    case 'edge':
      return null
  }
}

/** Time zones as platforms send them: real, legacy, outdated, and not zones at all. */
export const ZONE_NAMES = [
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'Pacific/Kiritimati',
  'Etc/GMT+12',
  'Etc/GMT-14',
  'UTC',
  'Etc/UTC',
  'GMT',
  'US/Eastern',
  'US/Pacific-New',
  'EST',
  'EST5EDT',
  'Europe/Kiev',
  'Europe/Kyiv',
  'America/Argentina/ComodRivadavia',
  'Asia/Calcutta',
  'Factory',
  'localtime',
  'Etc/Unknown',
  'Europe/Paris ',
  'europe/paris',
  'EUROPE/PARIS',
  'Europe/Pariss',
  'Europe/Paris\u0000',
  'Europe/../Asia/Tokyo',
  '../../etc/passwd',
  '/etc/localtime',
  '+05:30',
  '-0800',
  'UTC+5',
  'GMT+05:30',
  'Etc/GMT+15',
  'Z',
  'z',
  '',
  ' ',
  'Tokyo Standard Time',
  '(UTC+01:00) Amsterdam, Berlin',
  'a'.repeat(64),
  'Europe/' + 'a'.repeat(57),
  'a'.repeat(65),
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
] as const

/** A time zone as a platform might send it: mostly names above, sometimes any string, sometimes no string at all. */
export const zoneValueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<Json>(...ZONE_NAMES) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, 0, -480, 3.5, true, [], {}, ['Europe/Paris'], { name: 'Europe/Paris' }) },
)
