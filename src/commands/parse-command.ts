import { displayStatuses } from '../invitations/model.ts'
import { normaliseEmail, type EmailProblem } from '../shared/email-address.ts'
import { checkName, describeNameProblem, nameCharacterProblem, UNSHOWABLE } from '../shared/names.ts'
import { HELP_TEXT, USAGE } from './grammar.ts'
import type { Command, CommandName, ListFilter, NoticesAction, ParseFailure } from './types.ts'

/** Longest command text we read; Slack caps slash command text well below this anyway. */
export const MAX_COMMAND_LENGTH = 2000

const ALIASES: Record<string, CommandName> = {
  help: 'help',
  '?': 'help',
  list: 'list',
  ls: 'list',
  show: 'show',
  add: 'add',
  invite: 'add',
  resend: 'resend',
  regenerate: 'regenerate',
  new: 'regenerate',
  link: 'link',
  edit: 'edit',
  remove: 'remove',
  groups: 'groups',
  audit: 'audit',
  notices: 'notices',
}

const EMAIL_WORDS: Record<EmailProblem, string> = {
  empty: 'is empty',
  too_long: 'is too long',
  control_characters: 'contains a line break or control character',
  several_addresses: 'must be a single address',
  malformed: 'is not a valid address',
  not_ascii: 'must use plain ASCII letters before the @',
}

type Parsed = { ok: true; command: Command } | { ok: false; failure: ParseFailure }

function invalid(subcommand: CommandName, message: string): Parsed {
  return { ok: false, failure: { code: 'command.invalid', subcommand, message, usage: USAGE[subcommand] } }
}

/**
 * Split like a shell: whitespace separates words, "double", 'single' and typographic “quotes”
 * (which chat clients substitute as you type) group them.
 */
export function tokenize(text: string): string[] | null {
  const words: string[] = []
  let current = ''
  let inWord = false
  let quote: string | null = null
  const closing: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’', '”': '”' }
  for (const ch of text) {
    if (quote) {
      if (ch === closing[quote] || (quote === '“' && ch === '“')) quote = null
      else current += ch
    } else if (ch in closing) {
      quote = ch
      inWord = true
    } else if (/\s/u.test(ch)) {
      if (inWord) words.push(current)
      current = ''
      inWord = false
    } else {
      current += ch
      inWord = true
    }
  }
  if (quote) return null
  if (inWord) words.push(current)
  return words
}

/**
 * Slack's form of an address, `<mailto:a@b.com|label>`, read as its label (else its address),
 * wherever it stands in `text`. Not part of `parseCommand`, which reads plain text: the Slack
 * adapter reads Slack's forms itself, and after its decoding such a form is what the person typed
 * there (`&lt;mailto:…&gt;`), to be taken literally. Only the edges where a person may paste
 * Slack's raw form call this: the CLI's `run` and Teams' message text.
 */
export function unwrapMailtoLinks(text: string): string {
  return text.replace(/<mailto:([^\s|<>]*)(?:\|([^\s<>]*))?>/gi, (_form, address: string, label: string | undefined) => label || address)
}

function parseEmail(subcommand: CommandName, word: string | undefined): { ok: true; email: string } | { ok: false; parsed: Parsed } {
  if (word === undefined || word === '') return { ok: false, parsed: invalid(subcommand, 'an email address is missing') }
  const checked = normaliseEmail(word)
  if (!checked.ok) return { ok: false, parsed: invalid(subcommand, `\`${printable(word)}\` ${EMAIL_WORDS[checked.reason]}`) }
  return { ok: true, email: checked.email }
}

/** Show what the user typed without letting control characters or huge text through. */
function printable(s: string): string {
  // What the name rule refuses (line breaks, controls, bidirectional controls), and backticks,
  // which would end the inline code the message shows this in.
  const clean = s.replace(UNSHOWABLE, '?').replace(/`/g, '?')
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean
}

interface Flags {
  positional: string[]
  name: string[]
  group: string[]
  page: string[]
  unknown: string[]
  missingValue: string[]
}

/** `--name "First Last"`, `--name=First Last`, `--group X` (repeatable), `--page N`. */
function splitFlags(words: string[]): Flags {
  const flags: Flags = { positional: [], name: [], group: [], page: [], unknown: [], missingValue: [] }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    // Chat clients turn `--` into an em or en dash as you type.
    const m = /^(?:--|—|–)([a-z-]+)(?:=(.*))?$/i.exec(word)
    if (!m) {
      flags.positional.push(word)
      continue
    }
    const key = m[1]!.toLowerCase()
    let value = m[2]
    if (value === undefined) {
      const next = words[i + 1]
      if (next === undefined || /^(?:--|—|–)[a-z]/i.test(next)) {
        flags.missingValue.push(key)
        continue
      }
      value = next
      i++
    }
    if (key === 'name') flags.name.push(value)
    else if (key === 'group' || key === 'groups') flags.group.push(...value.split(',').map((g) => g.trim()).filter(Boolean))
    else if (key === 'page') flags.page.push(value)
    else flags.unknown.push(`--${key}`)
  }
  return flags
}

function rejectExtras(subcommand: CommandName, flags: Flags, allowed: { positional: number; name?: boolean; group?: boolean; page?: boolean }): Parsed | null {
  if (flags.unknown.length > 0) return invalid(subcommand, `unknown option ${printable(flags.unknown[0]!)}`)
  if (flags.missingValue.length > 0) return invalid(subcommand, `--${printable(flags.missingValue[0]!)} needs a value`)
  if (!allowed.name && flags.name.length > 0) return invalid(subcommand, '--name does not apply here')
  if (!allowed.group && flags.group.length > 0) return invalid(subcommand, '--group does not apply here')
  if (!allowed.page && flags.page.length > 0) return invalid(subcommand, '--page does not apply here')
  if (flags.positional.length > allowed.positional) return invalid(subcommand, `unexpected \`${printable(flags.positional[allowed.positional]!)}\``)
  return null
}

/** The first group name that breaks the name rule, worded; null when all are fine. */
function badGroup(subcommand: CommandName, groups: readonly string[]): Parsed | null {
  for (const group of groups) {
    const checked = checkName('group', group)
    if (!checked.ok) return invalid(subcommand, `the group name \`${printable(group)}\` ${describeNameProblem(checked.problem, checked.limit)}`)
  }
  return null
}

/**
 * Parse `/invite …` text (without the `/invite` itself) into a command. Every failure names the
 * subcommand's usage; nothing here throws on any input.
 */
export function parseCommand(text: string): Parsed {
  if (text.length > MAX_COMMAND_LENGTH) {
    return { ok: false, failure: { code: 'command.invalid', subcommand: null, message: `the command is too long (over ${MAX_COMMAND_LENGTH} characters)`, usage: HELP_TEXT } }
  }
  const words = tokenize(text.replace(/^\s*\/?invite\b/i, ''))
  if (words === null) return { ok: false, failure: { code: 'command.invalid', subcommand: null, message: 'a quote is not closed', usage: HELP_TEXT } }
  if (words.length === 0) return { ok: true, command: { name: 'help' } }
  const [head, ...rest] = words as [string, ...string[]]
  // Own keys only: `constructor` or `__proto__` typed as a subcommand must be unknown, not Object's.
  const name = Object.hasOwn(ALIASES, head.toLowerCase()) ? ALIASES[head.toLowerCase()] : undefined
  if (!name) return { ok: false, failure: { code: 'command.unknown', subcommand: null, message: `unknown command \`${printable(head)}\``, usage: HELP_TEXT } }
  const flags = splitFlags(rest)

  switch (name) {
    case 'help':
    case 'groups':
      return rejectExtras(name, flags, { positional: 0 }) ?? { ok: true, command: { name } }
    case 'list': {
      const bad = rejectExtras(name, flags, { positional: 3, page: true })
      if (bad) return bad
      let filter: ListFilter = 'all'
      let page = 1
      const pos = [...flags.positional]
      const pageWords = [...flags.page]
      for (let i = 0; i < pos.length; i++) {
        const w = pos[i]!.toLowerCase()
        if ((displayStatuses as readonly string[]).includes(w) || w === 'all') filter = w as ListFilter
        else if (w === 'page' && pos[i + 1] !== undefined) pageWords.push(pos[++i]!)
        else if (/^\d+$/.test(w)) pageWords.push(w)
        else return invalid(name, `unknown filter \`${printable(pos[i]!)}\``)
      }
      if (pageWords.length > 1) return invalid(name, 'give the page once')
      if (pageWords[0] !== undefined) {
        if (!/^\d{1,5}$/.test(pageWords[0]) || Number(pageWords[0]) < 1) return invalid(name, 'the page must be a number from 1')
        page = Number(pageWords[0])
      }
      return { ok: true, command: { name, filter, page } }
    }
    case 'show':
    case 'resend':
    case 'regenerate':
    case 'link':
    case 'remove': {
      const bad = rejectExtras(name, flags, { positional: 1 })
      if (bad) return bad
      const email = parseEmail(name, flags.positional[0])
      return email.ok ? { ok: true, command: { name, email: email.email } } : email.parsed
    }
    case 'audit': {
      const bad = rejectExtras(name, flags, { positional: 1 })
      if (bad) return bad
      if (flags.positional[0] === undefined) return { ok: true, command: { name, email: null } }
      const email = parseEmail(name, flags.positional[0])
      return email.ok ? { ok: true, command: { name, email: email.email } } : email.parsed
    }
    case 'notices': {
      const bad = rejectExtras(name, flags, { positional: 1 })
      if (bad) return bad
      const word = flags.positional[0]?.toLowerCase()
      const actions: Record<string, NoticesAction> = { here: 'here', off: 'off', show: 'show' }
      if (word === undefined) return { ok: true, command: { name, action: 'show' } }
      const action = Object.hasOwn(actions, word) ? actions[word] : undefined
      if (!action) return invalid(name, `unknown option \`${printable(flags.positional[0]!)}\`: say \`here\` or \`off\``)
      return { ok: true, command: { name, action } }
    }
    case 'add': {
      const bad = rejectExtras(name, flags, { positional: 1, name: true, group: true })
      if (bad) return bad
      const email = parseEmail(name, flags.positional[0])
      if (!email.ok) return email.parsed
      if (flags.name.length > 1) return invalid(name, 'give --name once')
      let firstName: string | null = null
      let lastName: string | null = null
      if (flags.name[0] !== undefined) {
        // The whole value first: split into words, a line break would look like a space.
        const problem = nameCharacterProblem(flags.name[0])
        if (problem) return invalid(name, `--name ${describeNameProblem(problem, 0)}`)
        const parts = flags.name[0].trim().split(/\s+/u)
        if (parts.length < 2) return invalid(name, '--name needs a first and a last name, e.g. --name "Ada Lovelace"')
        const first = checkName('personPart', parts[0]!)
        const last = checkName('personPart', parts.slice(1).join(' '))
        if (!first.ok) return invalid(name, `the first name ${describeNameProblem(first.problem, first.limit)}`)
        if (!last.ok) return invalid(name, `the last name ${describeNameProblem(last.problem, last.limit)}`)
        firstName = first.name
        lastName = last.name
      }
      const groups = flags.group
      const badGroups = badGroup(name, groups)
      if (badGroups) return badGroups
      return { ok: true, command: { name, email: email.email, firstName, lastName, groups } }
    }
    case 'edit': {
      const bad = rejectExtras(name, flags, { positional: 1, group: true })
      if (bad) return bad
      const email = parseEmail(name, flags.positional[0])
      if (!email.ok) return email.parsed
      if (flags.group.length === 0) return invalid(name, 'name at least one group with --group')
      const badGroups = badGroup(name, flags.group)
      if (badGroups) return badGroups
      return { ok: true, command: { name, email: email.email, groups: flags.group } }
    }
  }
}
