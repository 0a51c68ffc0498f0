import { createHash, randomBytes } from 'node:crypto'

/**
 * Hand-over codes (docs/lifecycle.md "Hand-over to the product's sign-up"): what Accept gives the
 * invitee to carry to the product's sign-up, and what the product's backend redeems.
 *
 * A code is 256 random bits, base64url (43 characters: the log redaction of link secrets cuts
 * it too). The database keeps only its SHA-256: with that much entropy a plain hash cannot be
 * reversed, so a dump yields no code that redeems, and one indexed lookup finds it.
 */

/** How long a code redeems: long enough for a sign-up page to load and post, short enough to be worthless later. */
export const HANDOVER_CODE_TTL_MS = 10 * 60_000

const CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** A fresh code. */
export function newHandOverCode(): string {
  return randomBytes(32).toString('base64url')
}

/** What the database stores to find a code. */
export function handOverCodeHash(code: string): string {
  return createHash('sha256').update(`inviteops/handover-code/v1:${code}`).digest('hex')
}

/** Cheap shape check: anything else is refused as an unknown code. */
export function isWellFormedHandOverCode(code: string): boolean {
  return CODE_PATTERN.test(code)
}

/**
 * Where Accept sends the invitee: `redirectUrl` with `code` set in its query, every other
 * parameter and the fragment kept as the operator wrote them.
 *
 * @example handOverUrl('https://app.example/signup?plan=team', 'abc') === 'https://app.example/signup?plan=team&code=abc'
 */
export function handOverUrl(redirectUrl: string, code: string): string {
  const url = new URL(redirectUrl)
  url.searchParams.set('code', code)
  return url.toString()
}
