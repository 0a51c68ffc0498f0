/**
 * The one rule for names people choose: a person's first or last name, an account's name, a
 * group's name. Checked at every entry point (chat commands, the CLI, the registration page) so a
 * name is always plain text on one line; every renderer still escapes it for its own markup, and
 * rows written before this rule existed are made inert there too (see `oneLine`).
 */

/** Longest name of each kind, in characters (code points, as Postgres' `length()` counts them). */
export const NAME_LIMITS = {
  /** A first or a last name; the registration form says 100 too (`maxlength`). */
  personPart: 100,
  /** The `accounts.name` column allows 1 to 200 characters. */
  account: 200,
  /** The `groups.name` column allows 1 to 100 characters. */
  group: 100,
} as const

export type NameKind = keyof typeof NAME_LIMITS

/** Why a name was refused; `describeNameProblem` words it. */
export type NameProblem = 'empty' | 'too_long' | 'line_break' | 'control_characters' | 'bidi_controls'

/**
 * Why a name was refused, in words that follow the ones naming the field ("--name …", "the group
 * name `x` …"): the chat commands and the CLI say it alike.
 */
export function describeNameProblem(problem: NameProblem, limit: number): string {
  switch (problem) {
    case 'empty':
      return 'is empty'
    case 'too_long':
      return `is too long (at most ${limit} characters)`
    case 'line_break':
      return 'must be on one line (no line breaks)'
    case 'control_characters':
      return 'contains control characters'
    case 'bidi_controls':
      return 'contains invisible characters that change the reading direction'
    default: {
      const unhandled: never = problem
      return `is not allowed (${String(unhandled)})`
    }
  }
}

export type NameCheck = { ok: true; name: string } | { ok: false; problem: NameProblem; limit: number }

// Line and paragraph breaks of every kind: LF, VT, FF, CR, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
const LINE_BREAK = /[\n\v\f\r\u0085\u2028\u2029]/u
// Unicode Cc (C0, DEL, C1: tabs, escapes, NUL…) and lone surrogates, which no real name holds.
const CONTROL = /[\p{Cc}\p{Cs}]/u
// The bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI):
// they make text read in another order than it is stored ("Trojan Source"), so a name could
// show as something else. https://www.unicode.org/reports/tr9/#Explicit_Directional_Formatting_Characters
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u

/**
 * The first problem of a name's characters, whatever its kind: a line break, another control
 * character, a bidirectional control. `null` when every character may be shown as text.
 */
export function nameCharacterProblem(text: string): 'line_break' | 'control_characters' | 'bidi_controls' | null {
  if (LINE_BREAK.test(text)) return 'line_break'
  if (CONTROL.test(text)) return 'control_characters'
  if (BIDI_CONTROL.test(text)) return 'bidi_controls'
  return null
}

/**
 * Checks and normalises a name of `kind`: trimmed, not empty, one line, no control or
 * bidirectional control characters, at most `NAME_LIMITS[kind]` characters. The trimmed name is
 * what to store. Angle brackets, ampersands, asterisks and the like are allowed: they are text,
 * and every renderer escapes them.
 */
export function checkName(kind: NameKind, input: string): NameCheck {
  const limit = NAME_LIMITS[kind]
  const name = input.trim()
  if (name === '') return { ok: false, problem: 'empty', limit }
  const problem = nameCharacterProblem(name)
  if (problem) return { ok: false, problem, limit }
  if ([...name].length > limit) return { ok: false, problem: 'too_long', limit }
  return { ok: true, name }
}

/**
 * Everything `nameCharacterProblem` refuses, as one pattern for display: `oneLine` replaces each
 * with a space, the parser's echo of what was typed with `?`. Global (`g`): for `replace`, not
 * `test`, whose `lastIndex` it would carry from one call to the next.
 */
export const UNSHOWABLE = /[\p{Cc}\p{Cs}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

/**
 * Text for display on one line: every line break, control and bidirectional control character
 * becomes a space. For renderers (chat, terminal), so a name stored before the rule above, or text
 * from elsewhere (a bounce message), cannot start a line of its own or reorder what follows.
 */
export function oneLine(text: string): string {
  return text.replace(UNSHOWABLE, ' ')
}
