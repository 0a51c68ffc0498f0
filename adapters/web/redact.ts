/**
 * Link secrets never reach the logs (DESIGN.md §5). The invitee's token is a path segment, so
 * any request logging (the HTTP logger, error reports) passes URLs through this first.
 */

/** Path segments under /invitations/ that are ours, not secrets. */
const PUBLIC_SEGMENTS = new Set(['assets'])

/** What a redacted token looks like in logs. */
export const REDACTED_TOKEN = ':token'

/**
 * Replace the token in any `/invitations/<token>…` path or URL with `:token`, keeping the rest
 * (`/invitations/:token/accept`) so logs still say which page was hit. Works on full URLs and on
 * paths with a query string; a string without an invitation path is returned unchanged.
 *
 * @example redactInvitationPath('/invitations/abc123/accept?x=1') === '/invitations/:token/accept?x=1'
 */
export function redactInvitationPath(url: string): string {
  return url.replace(/(\/invitations\/)([^/?#]*)/gi, (match: string, prefix: string, segment: string) =>
    PUBLIC_SEGMENTS.has(segment) || segment === '' ? match : `${prefix}${REDACTED_TOKEN}`,
  )
}
