import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * CSRF protection for the invitee's forms: a *signed double-submit cookie*, the stateless
 * pattern OWASP recommends (CSRF Prevention Cheat Sheet, "Signed Double-Submit Cookie").
 *
 * Why this and not a plain hidden token or a session:
 *  - There is no session: the link itself is the invitee's only credential, and we want no
 *    server-side state for an anonymous visitor (and nothing to share between replicas).
 *  - A cookie alone is not enough (the browser sends it on a forged POST), and a token bound only
 *    to the link is not enough (anyone holding the link could fetch the page and copy it).
 *  - Together: the browser that opened the page holds a random, HttpOnly, SameSite=Strict cookie
 *    (`__Host-` prefixed on https, so a sibling subdomain cannot plant one); each form carries
 *    HMAC(key, cookie ‖ action ‖ link token). A cross-site page can neither read nor set the cookie,
 *    so it cannot produce a matching field; a token copied from one browser is useless in another;
 *    a token for "decline" does not work for "accept" or for another link.
 * The key is derived from INVITE_SECRET with a fixed label, so it is distinct from the link key.
 */

/** The form actions a token can be minted for: a token for one is refused by the others. */
export type CsrfAction = 'accept' | 'decline' | 'request-new'

export interface Csrf {
  /** Cookie name (the `__Host-` variant when served over https). */
  readonly cookieName: string
  /** A fresh random cookie value. */
  newCookieValue(): string
  /** Whether a cookie value has the shape we mint (anything else is replaced). */
  isWellFormedCookie(value: string | undefined): value is string
  /** `Set-Cookie` header value for a cookie value. */
  setCookieHeader(value: string): string
  /** The hidden field's value for this browser, action and link. */
  tokenFor(cookieValue: string, action: CsrfAction, linkToken: string): string
  /** Whether `submitted` is the field we would mint for this cookie, action and link. */
  verify(cookieValue: string | undefined, submitted: string | undefined, action: CsrfAction, linkToken: string): boolean
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/

/** Build the CSRF helper from INVITE_SECRET; `secure` = the public URL is https. */
export function createCsrf(inviteSecret: Buffer, opts: { secure: boolean }): Csrf {
  const key = createHmac('sha256', inviteSecret).update('inviteops/web/csrf-key/v1').digest()
  const cookieName = opts.secure ? '__Host-inviteops_csrf' : 'inviteops_csrf'
  const mint = (cookieValue: string, action: CsrfAction, linkToken: string) =>
    createHmac('sha256', key).update(`${cookieValue}\0${action}\0${linkToken}`).digest('base64url')
  const isWellFormedCookie = (value: string | undefined): value is string => typeof value === 'string' && COOKIE_VALUE.test(value)
  return {
    cookieName,
    newCookieValue: () => randomBytes(32).toString('base64url'),
    isWellFormedCookie,
    setCookieHeader: (value) =>
      // Path=/ is required by the __Host- prefix; a session cookie (no Max-Age) is enough for a
      // form filled in one sitting. Strict: never sent on a request started by another site.
      `${cookieName}=${value}; Path=/; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`,
    tokenFor: mint,
    verify(cookieValue, submitted, action, linkToken) {
      if (!isWellFormedCookie(cookieValue) || typeof submitted !== 'string') return false
      const expected = Buffer.from(mint(cookieValue, action, linkToken))
      const given = Buffer.from(submitted)
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}

/** Read one cookie from a `Cookie` header (no dependency for a single value). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
