/**
 * What the chat families share: the `/invite` grammar as generated text, ids and emails that
 * point into one account or the other, and the rule that says a command text cannot change data.
 */
import fc from 'fast-check'
import type { Knex } from 'knex'
import { findAdmin } from '../../src/invitations/admin-action.ts'
import { idRefArb, nastyString, type IdRef } from './mutate.ts'
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

export const VERBS = ['help', '?', 'list', 'ls', 'show', 'add', 'invite', 'resend', 'regenerate', 'new', 'link', 'edit', 'remove', 'groups', 'audit'] as const
/**
 * Verbs that change nothing when typed: reads, and `remove`, which typed always asks for a
 * confirmation first (only a button confirms it).
 */
export const READ_ONLY_VERBS = ['help', '?', 'list', 'ls', 'show', 'groups', 'audit', 'remove'] as const

export interface CommandText {
  /** A verb of the grammar (any case), or a word that is none. */
  verb: string
  words: Word[]
  sep: string
}

const sepArb = fc.constantFrom(' ', ' ', ' ', '  ', '\n', '\t', '\u00a0')

/** Text of the grammar, mostly well-formed, with hostile words mixed in. */
export const commandTextArb: fc.Arbitrary<CommandText> = fc.record({
  verb: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...VERBS) }, { weight: 1, arbitrary: fc.constantFrom(...VERBS).map((v) => v.toUpperCase()) }, { weight: 1, arbitrary: nastyString }),
  words: fc.array(wordArb, { maxLength: 6 }),
  sep: sepArb,
})

/** Text that cannot change data: a read-only verb, or a first word that is no verb at all. */
export const readOnlyTextArb: fc.Arbitrary<CommandText> = fc.record({
  verb: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...READ_ONLY_VERBS) },
    { weight: 1, arbitrary: fc.constantFrom(...READ_ONLY_VERBS).map((v) => v.toUpperCase()) },
    // "zz" starts no verb, whatever follows it (quotes, entities, more letters).
    { weight: 2, arbitrary: nastyString.map((s) => `zz${s}`) },
  ),
  words: fc.array(wordArb, { maxLength: 6 }),
  sep: fc.constantFrom(' ', '  ', '\n', '\t'),
})

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
  return new RegExp(`^\\s*(?:(?:${verbs})(?:\\s|$)|zz)`, 'iu').test(text)
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
