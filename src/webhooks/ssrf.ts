import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { fail, ok, type Result } from '../shared/result.ts'

/**
 * Where InviteOps may post (docs/webhooks.md "Which URLs are allowed"). A webhook URL is typed by
 * an operator for a customer's product, so it must not become a way to reach the network InviteOps
 * runs in (a metadata service, a database, an admin page on localhost): the URL is checked when it
 * is added and again before every delivery, on the addresses its name resolves to, and the
 * connection is made to the address that was checked (`ResolvedTarget`), so a name that resolves
 * differently a moment later (DNS rebinding) cannot swap it.
 *
 * Written here rather than taken from a package: the rules are short, the node_modules packages
 * that classify addresses are transitive dependencies we do not control, and the tests check every
 * range below with generated addresses.
 */

/** Why an address is not one InviteOps posts to. */
export type AddressRange = 'unspecified' | 'loopback' | 'private' | 'link_local' | 'unique_local' | 'multicast' | 'reserved'

export type WebhookUrlProblem =
  | { code: 'webhook.url_invalid'; reason: 'not_a_url' | 'too_long' | 'scheme' | 'https_required' | 'credentials' }
  | { code: 'webhook.url_not_allowed'; address: string; range: AddressRange }
  | { code: 'webhook.url_unresolvable'; host: string; reason: 'not_found' | 'timeout' }

/** The rules a URL is checked against (from `WebhookSettings`). */
export interface UrlRules {
  allowPrivate: boolean
  httpsOnly: boolean
}

/** A checked URL and the address to connect to: the one that was checked. */
export interface ResolvedTarget {
  url: URL
  address: string
  family: 4 | 6
}

const URL_MAX = 2000

/** The URL's form alone (no DNS): http(s) (https only in production), no user or password in it. */
export function checkUrlForm(text: string, rules: Pick<UrlRules, 'httpsOnly'>): Result<URL, WebhookUrlProblem> {
  if (text.length > URL_MAX) return fail({ code: 'webhook.url_invalid', reason: 'too_long' })
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return fail({ code: 'webhook.url_invalid', reason: 'not_a_url' })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail({ code: 'webhook.url_invalid', reason: 'scheme' })
  if (rules.httpsOnly && url.protocol !== 'https:') return fail({ code: 'webhook.url_invalid', reason: 'https_required' })
  // A password in a URL ends up in logs and lists; a receiver authenticates by the signature.
  if (url.username !== '' || url.password !== '') return fail({ code: 'webhook.url_invalid', reason: 'credentials' })
  if (url.hostname === '') return fail({ code: 'webhook.url_invalid', reason: 'not_a_url' })
  return ok(url)
}

/** A resolver: every address of a name (node's `dns.lookup` with `all: true`). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>

const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true })

/**
 * Check `text` and resolve its host, within `deadlineMs`: every address the name has must be
 * allowed (one bad address among good ones is refused: which one a connection would use is not
 * ours to choose). Returns the first address, to connect to and nothing else.
 */
export async function resolveWebhookTarget(text: string, rules: UrlRules, opts: { deadlineMs: number; resolve?: Resolve }): Promise<Result<ResolvedTarget, WebhookUrlProblem>> {
  const form = checkUrlForm(text, rules)
  if (!form.ok) return form
  const url = form.value
  // URL keeps an IPv6 literal in brackets.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  let addresses: { address: string; family: number }[]
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }]
  else {
    const answer = await withDeadline((opts.resolve ?? systemResolve)(host), opts.deadlineMs).catch(() => 'not_found' as const)
    if (answer === 'timeout' || answer === 'not_found') return fail({ code: 'webhook.url_unresolvable', host: host.slice(0, 253), reason: answer })
    addresses = answer
  }
  if (addresses.length === 0) return fail({ code: 'webhook.url_unresolvable', host: host.slice(0, 253), reason: 'not_found' })
  if (!rules.allowPrivate) {
    for (const a of addresses) {
      const range = addressRange(a.address)
      if (range) return fail({ code: 'webhook.url_not_allowed', address: a.address, range })
    }
  }
  const first = addresses[0]!
  return ok({ url, address: first.address, family: first.family === 6 ? 6 : 4 })
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The range that makes `address` one InviteOps does not post to, or null for a public unicast
 * address. Anything that is not an IP address at all is `reserved` (never allowed).
 */
export function addressRange(address: string): AddressRange | null {
  const kind = isIP(address)
  if (kind === 4) return ipv4Range(parseIpv4(address)!)
  if (kind === 6) {
    const bytes = parseIpv6(address)
    return bytes ? ipv6Range(bytes) : 'reserved'
  }
  return 'reserved'
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const bytes = parts.map((p) => (/^[0-9]{1,3}$/.test(p) ? Number(p) : NaN))
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null
}

/** 16 bytes, for any form `isIP` accepts (`::`, an embedded dotted IPv4, a zone id). */
function parseIpv6(text: string): number[] | null {
  let s = text.replace(/%.*$/, '')
  // An embedded dotted IPv4 (`::ffff:1.2.3.4`) is two words written another way.
  const dotted = /^(.*:)([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$/.exec(s)
  if (dotted) {
    const v4 = parseIpv4(dotted[2]!)
    if (!v4) return null
    s = `${dotted[1]}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null
  const bytes: number[] = []
  for (const g of [...head, ...Array<string>(fill).fill('0'), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
    const n = parseInt(g, 16)
    bytes.push(n >> 8, n & 0xff)
  }
  return bytes.length === 16 ? bytes : null
}

/** Whether the first `bits` bits of `bytes` equal those of `prefix`. */
function inPrefix(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3
    const mask = 0x80 >> (i & 7)
    if ((bytes[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false
  }
  return true
}

const V4_RANGES: [prefix: number[], bits: number, range: AddressRange][] = [
  [[0, 0, 0, 0], 8, 'unspecified'], // "this network"
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'private'], // carrier-grade NAT
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link_local'], // cloud metadata services live here
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'], // IETF protocol assignments
  [[192, 0, 2, 0], 24, 'reserved'], // documentation
  [[192, 88, 99, 0], 24, 'reserved'], // 6to4 relays
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'reserved'], // benchmarking
  [[198, 51, 100, 0], 24, 'reserved'], // documentation
  [[203, 0, 113, 0], 24, 'reserved'], // documentation
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'], // including the broadcast address
]

function ipv4Range(bytes: readonly number[]): AddressRange | null {
  for (const [prefix, bits, range] of V4_RANGES) if (inPrefix(bytes, prefix, bits)) return range
  return null
}

const hex = (...words: number[]) => words.flatMap((w) => [w >> 8, w & 0xff])

function ipv6Range(b: readonly number[]): AddressRange | null {
  if (b.every((x) => x === 0)) return 'unspecified'
  if (inPrefix(b, hex(0, 0, 0, 0, 0, 0, 0, 1), 128)) return 'loopback'
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address inside.
  if (inPrefix(b, hex(0, 0, 0, 0, 0, 0xffff), 96) || inPrefix(b, hex(0x64, 0xff9b), 96)) return ipv4Range(b.slice(12))
  // 6to4 (2002:aabb:ccdd::) carries its IPv4 address in bytes 2 to 5.
  if (inPrefix(b, hex(0x2002), 16)) return ipv4Range(b.slice(2, 6))
  if (inPrefix(b, hex(0xfe80), 10)) return 'link_local'
  if (inPrefix(b, hex(0xfec0), 10)) return 'private' // site-local, deprecated
  if (inPrefix(b, hex(0xfc00), 7)) return 'unique_local'
  if (inPrefix(b, hex(0xff00), 8)) return 'multicast'
  if (inPrefix(b, hex(0x2001, 0x0db8), 32)) return 'reserved' // documentation
  if (inPrefix(b, hex(0x2001, 0), 32)) return 'reserved' // Teredo: tunnels to anywhere
  if (inPrefix(b, hex(0x0064, 0xff9b, 1), 48)) return 'reserved' // local-use NAT64
  // Global unicast is 2000::/3; everything else (IPv4-compatible ::a.b.c.d included) is not ours to reach.
  if (!inPrefix(b, hex(0x2000), 3)) return 'reserved'
  return null
}
