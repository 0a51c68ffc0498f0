/**
 * Escaping for Teams markdown (messages and Adaptive Card TextBlocks). The status and date words
 * are the core's (src/users/joined-cell.ts), shared with Slack; the Teams adapter depends on no
 * other adapter, so it can move to the M365 Agents SDK on its own (DESIGN.md §9).
 */
/**
 * Escapes user text for a Teams markdown message: `<`, `>` and `&` as entities (Teams renders a
 * subset of HTML in messages, so `<at>` or `<a href>` from a name must not become markup), and the
 * markdown control characters with a backslash.
 * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#format-cards-with-markdown
 */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ')
}

/**
 * Escapes user text for an Adaptive Card TextBlock: cards render markdown but no HTML, so only
 * the markdown characters are neutralised (an entity would show literally).
 */
export function escCard(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1').replace(/\r?\n/g, ' ')
}

/** Inline code in a message; backticks inside become quotes so the span cannot be closed early. */
export function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/</g, '&lt;').replace(/>/g, '&gt;')}\``
}
