/**
 * Slack mrkdwn escaping. The status and date words shared with other adapters (the Joined cell of
 * DESIGN.md §2) are in src/users/joined-cell.ts.
 */

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters
 * (https://docs.slack.dev/messaging/formatting-message-text#escaping). Every value that comes from
 * a user (names, emails, group names) goes through this before it is placed in mrkdwn.
 */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
