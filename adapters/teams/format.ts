/**
 * Escaping for Teams markdown (messages and Adaptive Card TextBlocks). The status and date words
 * are the core's (src/users/joined-cell.ts), shared with Slack; the Teams adapter depends on no
 * other platform's adapter (only on adapters/chat, shared by both), so it can move to the M365
 * Agents SDK on its own (docs/platform-notes.md).
 *
 * Teams renders a subset of markdown: bold, italic, strike, inline code, links `[text](url)`,
 * headings, bulleted lists (`- `, `* `, `+ `) and numbered lists (`1. `) at the start of a line.
 * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#format-cards-with-markdown
 * Text is kept on one line (a line break would start a list or a line of its own), the markdown
 * characters get a backslash, and a list marker at the start is escaped too.
 */
import { oneLine } from '../../src/shared/names.ts'
import { breakAutoLinks } from '../chat/autolinks.ts'

const MARKDOWN = /([\\`*_{}[\]()#+!|~])/g

/**
 * At the start, `- x` or `1. x` would be a list item, `>` a quote, and a line of dashes a rule:
 * their marker gets a backslash. (`*`, `+` and `#` always have one.)
 */
function escapeLeadingMarker(text: string): string {
  return text.replace(/^(\s*)(?:(>|-(?=\s|$)|-(?=[-\s]*$))|(\d+)([.)])(?=\s|$))/, (_m, space: string, mark: string | undefined, digits: string | undefined, dot: string | undefined) =>
    mark ? `${space}\\${mark}` : `${space}${digits ?? ''}\\${dot ?? ''}`,
  )
}

/**
 * Escapes user text for a Teams markdown message: `<`, `>` and `&` as entities (Teams renders a
 * subset of HTML in messages, so `<at>` or `<a href>` from a name must not become markup), the
 * markdown control characters with a backslash, one line.
 */
export function esc(text: string): string {
  const entities = oneLine(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  return escapeLeadingMarker(entities.replace(MARKDOWN, '\\$1'))
}

/**
 * Escapes user text for an Adaptive Card TextBlock or FactSet value: cards render markdown but no
 * HTML, so only the markdown characters are neutralised (an entity would show literally), on one
 * line.
 */
export function escCard(text: string): string {
  return escapeLeadingMarker(oneLine(text).replace(MARKDOWN, '\\$1'))
}

/** `esc` for a name someone chose (a person's, a group's): also never a link Teams would detect. */
export function escName(text: string): string {
  return esc(breakAutoLinks(text))
}

/** `escCard` for a name someone chose: also never a link Teams would detect. */
export function escCardName(text: string): string {
  return escCard(breakAutoLinks(text))
}

/** Inline code in a message; backticks inside become quotes so the span cannot be closed early. */
export function code(text: string): string {
  return `\`${oneLine(text).replace(/`/g, "'").replace(/</g, '&lt;').replace(/>/g, '&gt;')}\``
}
