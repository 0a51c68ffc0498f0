/**
 * Slack mrkdwn escaping. The status and date words shared with other adapters (the Joined cell of
 * DESIGN.md §2) are in src/users/joined-cell.ts.
 */
import { oneLine } from '../../src/shared/names.ts'
import { breakAutoLinks } from '../chat/autolinks.ts'

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters
 * (https://docs.slack.dev/messaging/formatting-message-text#escaping), on one line: a line break
 * or other control character becomes a space. For email addresses, codes and our own words, which
 * must stay as they are; a name goes through `escName`.
 */
export function esc(text: string): string {
  return escLines(oneLine(text))
}

/** Like `esc` but keeps line breaks: only for our own text of several lines (usage, help). */
export function escLines(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
}

// Slack has no escape for its formatting characters (the escaping section above lists only
// `&`, `<` and `>`), so a name's `*`, `_`, `~` and backtick become look-alike characters that Slack
// does not read as markup (the fullwidth forms too, which Slack also reads as markup).
const LOOKALIKES: Record<string, string> = {
  '*': '\u2217', // ∗ ASTERISK OPERATOR
  '＊': '\ufe61', // ﹡ SMALL ASTERISK
  _: '\u02cd', // ˍ MODIFIER LETTER LOW MACRON
  '＿': '\u2e0f', // ⸏ PARAGRAPHOS
  '~': '\u223c', // ∼ TILDE OPERATOR
  '`': '\u02cb', // ˋ MODIFIER LETTER GRAVE ACCENT
  '｀': '\u02cb',
}

/**
 * Escapes a name (a person's, a group's) or other free text someone chose for mrkdwn, so it shows
 * as exactly that text: `&`, `<`, `>` as entities; `*`, `_`, `~` and backticks as look-alikes, so
 * no bold, italic, strike or code; a leading `>` behind an invisible SOFT HYPHEN, so no block
 * quote where the name starts a line; one line; no web address Slack would link
 * (adapters/chat/autolinks.ts). Renderers also send every mrkdwn object with `verbatim: true`
 * (render.ts), so Slack does not link addresses or parse mentions in it either.
 */
export function escName(text: string): string {
  const escaped = esc(breakAutoLinks(text)).replace(/[*＊_＿~`｀]/g, (c) => LOOKALIKES[c] ?? c)
  return escaped.replace(/^(\s*)(&gt;|＞)/, '$1\u00ad$2')
}
