/**
 * Slack's text format, both ways: escaping what we put in mrkdwn, and reading the text of a slash
 * command back into what the person typed. The status and date words shared with other adapters
 * (the Joined cell of docs/commands.md) are in src/users/joined-cell.ts.
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

// Slack documents no escape for its formatting characters (the escaping section above lists only
// `&`, `<` and `>`), so a name's `*`, `_`, `~` and backtick become look-alike characters that are
// not markup; their fullwidth forms too, which some Slack clients (Japanese input) format as well.
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

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' }

/**
 * The text of a slash command as the person typed it. Slack sends it formatted
 * (https://docs.slack.dev/messaging/formatting-message-text#retrieving-messages): links, emails
 * and mentions in angle brackets (`<mailto:a@b.com|a@b.com>`, `<https://x.example>`,
 * `<@U123|alice>`, `<!here>`), and `&`, `<`, `>` escaped as `&amp;`, `&lt;`, `&gt;`.
 *
 * Decoding belongs here, at Slack's edge, not in the core's parser: the core reads plain text from
 * every platform (Teams and the CLI have no such escaping, and `Tom &amp; Jerry` typed in a
 * terminal must stay exactly that). So first each bracketed form becomes the text it shows (its
 * label after `|` when it has one, else its address; a mention keeps its `@` or `#`), and only
 * then are the three entities decoded, once and in one pass: a `&lt;` someone typed arrives as
 * `&amp;lt;` and stays the text `&lt;`, and no decoded `<` can start a form, since the forms were
 * read first. (The CLI and Teams unwrap a `<mailto:…>` pasted from Slack at their own edges: `unwrapMailtoLinks`.)
 */
export function commandTextFromSlack(text: string): string {
  const plain = text.replace(/<([^<>]*)>/g, (_form, inner: string) => {
    const bar = inner.indexOf('|')
    const target = bar === -1 ? inner : inner.slice(0, bar)
    const label = bar === -1 ? '' : inner.slice(bar + 1)
    // <@U123|alice> a user, <#C123|general> a channel: the label lacks the sigil.
    if (target.startsWith('@') || target.startsWith('#')) return `${target[0]}${label || target.slice(1)}`
    // <!here>, <!subteam^S123|@team>, <!date^…|fallback>: the label, else the keyword.
    if (target.startsWith('!')) return label || `@${target.slice(1).split('^')[0] ?? ''}`
    if (/^mailto:/i.test(target)) return label || target.slice('mailto:'.length)
    return label || target
  })
  return plain.replace(/&(?:amp|lt|gt);/g, (entity) => ENTITIES[entity] ?? entity)
}
