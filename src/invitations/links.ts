import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Invitation links (docs/security.md).
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

// ---------------------------------------------------------------------------------------------
// Redaction for logs and metrics. A link's secret is a path segment, and a request path is
// whatever the client sent: `/INVITATIONS/<t>` (express matches paths case-insensitively),
// `/%69nvitations/<t>`, `//invitations/<t>`, `/x/../invitations/<t>`, `/invitations/<t>;a`, the
// token itself partly percent-encoded. So the rules below decode before they match, never the
// other way round, and a token-shaped run is cut wherever it appears as a backstop.

/** What a redacted secret looks like in logs. */
export const REDACTED = '[redacted]'

/**
 * Segments under /invitations/ that are not secrets: ours (`assets`), and what an earlier
 * redaction left (the invitee pages log `/invitations/:token/…` before the logger sees it).
 */
const PUBLIC_INVITATION_SEGMENTS = new Set(['assets', ':token', REDACTED])

/** A run of exactly a token's length and alphabet (32 bytes, base64url, unpadded). */
const TOKEN_RUN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/
/** In a request path: any run at least that long (no route of ours has such a segment). */
const LONG_RUN = /[A-Za-z0-9_-]{43,}/
/** A run pattern, and the same for replacing every match. */
type Run = { one: RegExp; all: RegExp }
const runOf = (re: RegExp): Run => ({ one: re, all: new RegExp(re.source, 'g') })
/** Where a path (or a URL inside free text) breaks into segments; `?#&=` also end a path. */
const SEPARATORS = /([/\\?#&=]+)/
/** The "words" of free text that may hold a path: anything between blanks and quotes. */
const WORD = /[^\s"'<>`]+/g

/** Percent-decoding that never throws: undecodable (non-ASCII, malformed) sequences stay as they are. */
function decodeOnce(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s.replace(/%([0-9A-Fa-f]{2})/g, (seq: string, hex: string) => {
      const code = Number.parseInt(hex, 16)
      return code < 0x80 ? String.fromCharCode(code) : seq
    })
  }
}

/** Decoded until stable (a few rounds: `%2569` is `%69` is `i`). */
function decodeForMatching(s: string): string {
  let current = s
  for (let i = 0; i < 4 && current.includes('%'); i++) {
    const next = decodeOnce(current)
    if (next === current) break
    current = next
  }
  return current
}

/** A segment's name as a router could read it: decoded, matrix params (`;a`) cut, lower case. */
function segmentName(decoded: string): string {
  return (decoded.split(';')[0] ?? '').trim().toLowerCase()
}

/**
 * Whether a segment after `invitations` can be a link secret: only base64url characters (what
 * a token is made of), once punctuation that ends a sentence or a bracket is set aside. A file
 * name in a stack frame (`links.ts:61:7)`) is not one, so errors from src/invitations/ keep
 * their file and line.
 */
function mayBeSecret(name: string): boolean {
  return /^[a-z0-9_-]+$/.test(name.replace(/[.,:;!?)\]}]+$/, ''))
}

/** How one kind of text is read: which runs are cut anywhere, which segments after `invitations`. */
interface Rules {
  run: Run
  secretSegment: (name: string) => boolean
}

/** Free text (messages, errors and their stacks): token-shaped runs and segments only. */
const TEXT_RULES: Rules = { run: runOf(TOKEN_RUN), secretSegment: mayBeSecret }

/**
 * A request path: longer runs too, and whatever follows `invitations`, even a segment that no
 * token could be (a broken or tampered link may still hold most of one). No route of ours has
 * either, so only a secret or noise is lost.
 */
const PATH_RULES: Rules = { run: runOf(LONG_RUN), secretSegment: () => true }

/**
 * Cuts secrets out of one word (a path, a URL). Walks its segments as a server would resolve
 * them (empty and `.` skipped, `..` goes up), so a segment that follows an `invitations` segment
 * is replaced if `rules` say it may be a secret, however either is spelled; then cuts runs
 * anywhere. A raw segment that only decodes to a secret (percent-encoding, `%2F`) is replaced
 * whole: re-encoding what is left of it is not worth a leak.
 */
function redactWord(word: string, rules: Rules): string {
  const { run } = rules
  if (!/[/\\%]/.test(word) && !run.one.test(word)) return word
  const parts = word.split(SEPARATORS)
  const stack: string[] = []
  let out = ''
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? ''
    if (i % 2 === 1) {
      // A query or fragment starts a new context: `?next=/invitations/<t>` is read afresh.
      if (/[?#&=]/.test(part)) stack.length = 0
      out += part
      continue
    }
    const decoded = decodeForMatching(part)
    let cut = false
    for (const piece of decoded.split(/[/\\]/)) {
      const name = segmentName(piece)
      if (name === '' || name === '.') continue
      if (name === '..') {
        stack.pop()
        continue
      }
      const secret = stack.at(-1) === 'invitations' && !PUBLIC_INVITATION_SEGMENTS.has(name) && rules.secretSegment(name)
      if (secret) cut = true
      stack.push(secret ? REDACTED : name)
    }
    if (cut) out += REDACTED
    else if (run.one.test(decoded)) out += decoded === part ? part.replace(run.all, REDACTED) : REDACTED
    else out += part
  }
  return out
}

/**
 * For logs: `text` with every invitation secret cut out (a token-shaped segment after
 * `invitations`), however its URL or path is spelled (case, percent-encoding, dot segments,
 * doubled slashes, `;` params), and any token-shaped run (43 base64url characters) cut wherever
 * it stands. Never throws; text without either is returned
 * unchanged. It reads plain text: give it a string value before it is serialized (JSON escapes
 * such as `\n` would be read as part of a path).
 *
 * @example redactInvitationUrl('see http://x/INVITATIONS/abc now') === 'see http://x/INVITATIONS/[redacted] now'
 */
export function redactInvitationUrl(text: string): string {
  return text.replace(WORD, (word) => redactWord(word, TEXT_RULES))
}

/**
 * For the request log: a request path with its secrets cut out, as `redactInvitationUrl`, and
 * also any segment after `invitations`, whatever its characters, and any segment holding a run of
 * 43 or more base64url characters (a token with something glued to it).
 */
export function redactRequestPath(path: string): string {
  return path.replace(WORD, (word) => redactWord(word, PATH_RULES))
}

/**
 * A path in the form a router would resolve it, for matching (never for logs): decoded,
 * `\` read as `/`, empty and `.` segments dropped, `..` applied, `;` params cut, lower case.
 *
 * @example canonicalPath('//%49nvitations/./x/../T;a/') === '/invitations/t'
 */
export function canonicalPath(path: string): string {
  const raw = path.split(/[?#]/)[0] ?? ''
  const segments: string[] = []
  for (const piece of decodeForMatching(raw).split(/[/\\]/)) {
    const name = segmentName(piece)
    if (name === '' || name === '.') continue
    if (name === '..') segments.pop()
    else segments.push(name)
  }
  return `/${segments.join('/')}`
}
