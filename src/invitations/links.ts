import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Invitation links (DESIGN.md §5).
 *
 * A link's token is HMAC-SHA256(INVITE_SECRET, link_id), base64url (256 bits; link_id itself is
 * 128 random bits). The database stores link_id and SHA-256(token): a dump alone yields no working
 * link, while "copy link" and the email worker can derive the token again with the secret.
 */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** A fresh link id: 128 random bits, hex. */
export function newLinkId(): string {
  return randomBytes(16).toString('hex')
}

/** The secret part of the link for `linkId`. */
export function linkToken(secret: Buffer, linkId: string): string {
  return createHmac('sha256', secret).update(`inviteops/invitation-link/v1:${linkId}`).digest('base64url')
}

/** What the database stores to find a token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Cheap shape check before any database work. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token)
}

/** Constant-time check that `token` is the one `linkId` derives under `secret`. */
export function tokenMatches(secret: Buffer, linkId: string, token: string): boolean {
  const expected = Buffer.from(linkToken(secret, linkId))
  const given = Buffer.from(token)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/** The invitee's page for `linkId`. */
export function invitationUrl(publicBaseUrl: string, secret: Buffer, linkId: string): string {
  return `${publicBaseUrl}/invitations/${linkToken(secret, linkId)}`
}

/** For logs: the path of an invitation URL with its secret cut off. */
export function redactInvitationUrl(url: string): string {
  return url.replace(/(\/invitations\/)[^/?#\s"']+/g, '$1[redacted]')
}
