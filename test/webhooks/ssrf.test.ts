/**
 * Which URLs webhooks may be posted to (src/webhooks/ssrf.ts): the address ranges with generated
 * addresses (IPv4, IPv6, IPv4-mapped and NAT64 forms of each IPv4 range), the URL's form, every
 * resolved address checked, and at delivery the connection made to the address that was checked.
 */
import { createServer, type Socket } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { deliverWebhook } from '../../src/webhooks/deliver.ts'
import { addressRange, checkUrlForm, resolveWebhookTarget, type Resolve } from '../../src/webhooks/ssrf.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'

const byte = fc.integer({ min: 0, max: 255 })
const v4 = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`

/** Addresses inside an IPv4 prefix, generated. */
function inV4(prefix: [number, number, number, number], bits: number): fc.Arbitrary<string> {
  const base = prefix.reduce((n, b) => n * 256 + b, 0)
  const size = 2 ** (32 - bits)
  return fc.integer({ min: 0, max: size - 1 }).map((offset) => {
    const n = base + offset
    return v4(Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256)
  })
}

const PRIVATE_V4: [string, fc.Arbitrary<string>][] = [
  ['unspecified', inV4([0, 0, 0, 0], 8)],
  ['private', inV4([10, 0, 0, 0], 8)],
  ['private', inV4([100, 64, 0, 0], 10)],
  ['loopback', inV4([127, 0, 0, 0], 8)],
  ['link_local', inV4([169, 254, 0, 0], 16)],
  ['private', inV4([172, 16, 0, 0], 12)],
  ['private', inV4([192, 168, 0, 0], 16)],
  ['multicast', inV4([224, 0, 0, 0], 4)],
  ['reserved', inV4([240, 0, 0, 0], 4)],
]

/** A public IPv4 address: none of the ranges above nor the documentation and benchmarking ones. */
const publicV4 = fc.tuple(fc.integer({ min: 1, max: 223 }), byte, byte, byte).filter(([a, b, c]) => {
  if ([0, 10, 127].includes(a)) return false
  if (a === 100 && b >= 64 && b < 128) return false
  if (a === 169 && b === 254) return false
  if (a === 172 && b >= 16 && b < 32) return false
  if (a === 192 && (b === 168 || (b === 0 && (c === 0 || c === 2)) || (b === 88 && c === 99))) return false
  if (a === 198 && (b === 18 || b === 19 || (b === 51 && c === 100))) return false
  if (a === 203 && b === 0 && c === 113) return false
  return true
}).map(([a, b, c, d]) => v4(a, b, c, d))

const hex4 = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16))
/** The last two words of an IPv6 address holding `ip` (a dotted IPv4). */
const words = (ip: string) => {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number]
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
}

describe('addressRange', () => {
  test.each(PRIVATE_V4.map(([range, arb], i) => [i, range, arb] as const))('IPv4 range %i is %s, in every notation that reaches it', (_i, range, arb) => {
    fc.assert(
      fc.property(arb, (ip) => {
        expect(addressRange(ip)).toBe(range)
        expect(addressRange(`::ffff:${ip}`)).toBe(range)
        expect(addressRange(`::ffff:${words(ip)}`)).toBe(range)
        expect(addressRange(`64:ff9b::${ip}`)).toBe(range)
        expect(addressRange(`2002:${words(ip)}::1`)).toBe(range)
      }),
      { numRuns: 200 },
    )
  })

  test('public IPv4 addresses, and their mapped forms, are allowed', () => {
    fc.assert(
      fc.property(publicV4, (ip) => {
        expect(addressRange(ip)).toBeNull()
        expect(addressRange(`::ffff:${ip}`)).toBeNull()
      }),
      { numRuns: 500 },
    )
  })

  test('IPv6: loopback, unspecified, link-local, unique-local, multicast and non-global are refused; global unicast is allowed', () => {
    const cases: [fc.Arbitrary<string>, string | null][] = [
      [fc.constant('::1'), 'loopback'],
      [fc.constantFrom('::', '0:0:0:0:0:0:0:0'), 'unspecified'],
      [fc.tuple(hex4, hex4).map(([a, b]) => `fe80::${a}:${b}`), 'link_local'],
      [fc.tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), hex4).map(([a, b]) => `${a.toString(16)}::${b}`), 'link_local'],
      [fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), hex4).map(([a, b]) => `${a.toString(16)}:${b}::1`), 'unique_local'],
      [fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), hex4).map(([a, b]) => `${a.toString(16)}::${b}`), 'multicast'],
      [fc.tuple(hex4, hex4).map(([a, b]) => `2001:db8:${a}::${b}`), 'reserved'],
      [fc.tuple(fc.integer({ min: 0x2000, max: 0x3fff }).filter((n) => n !== 0x2001 && n !== 0x2002), hex4, hex4).map(([a, b, c]) => `${a.toString(16)}:${b}::${c}`), null],
    ]
    for (const [arb, range] of cases) {
      fc.assert(
        fc.property(arb, (ip) => {
          expect(addressRange(ip)).toBe(range)
        }),
        { numRuns: 100 },
      )
    }
    expect(addressRange('fe80::1%eth0')).toBe('link_local')
    expect(addressRange('not an address')).toBe('reserved')
  })
})

describe('checkUrlForm', () => {
  test('http(s) only, https only in production, no user or password, not too long', () => {
    expect(checkUrlForm('https://app.example.com/hooks', { httpsOnly: true }).ok).toBe(true)
    expect(checkUrlForm('http://app.example.com/hooks', { httpsOnly: false }).ok).toBe(true)
    expect(checkUrlForm('http://app.example.com/hooks', { httpsOnly: true })).toMatchObject({ ok: false, reason: 'https_required' })
    expect(checkUrlForm('ftp://app.example.com/', { httpsOnly: false })).toMatchObject({ ok: false, reason: 'scheme' })
    expect(checkUrlForm('file:///etc/passwd', { httpsOnly: false })).toMatchObject({ ok: false, reason: 'scheme' })
    expect(checkUrlForm('https://user:pw@app.example.com/', { httpsOnly: true })).toMatchObject({ ok: false, reason: 'credentials' })
    expect(checkUrlForm('app.example.com/hooks', { httpsOnly: true })).toMatchObject({ ok: false, reason: 'not_a_url' })
    expect(checkUrlForm(`https://app.example.com/${'x'.repeat(2000)}`, { httpsOnly: true })).toMatchObject({ ok: false, reason: 'too_long' })
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (junk) => {
        // never throws, whatever is typed
        expect(typeof checkUrlForm(junk, { httpsOnly: true }).ok).toBe('boolean')
      }),
    )
  })
})

describe('resolveWebhookTarget', () => {
  const rules = { allowPrivate: false, httpsOnly: true }
  const answering =
    (...addresses: string[]): Resolve =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))

  test('every resolved address must be allowed: one private address among public ones is refused', async () => {
    expect(await resolveWebhookTarget('https://hooks.example.com/x', rules, { deadlineMs: 1000, resolve: answering('93.184.216.34', '2606:2800:220:1::1') })).toMatchObject({ ok: true, value: { address: '93.184.216.34', family: 4 } })
    expect(await resolveWebhookTarget('https://hooks.example.com/x', rules, { deadlineMs: 1000, resolve: answering('93.184.216.34', '10.0.0.5') })).toEqual({ ok: false, code: 'webhook.url_not_allowed', address: '10.0.0.5', range: 'private' })
    expect(await resolveWebhookTarget('https://metadata.example.com/', rules, { deadlineMs: 1000, resolve: answering('169.254.169.254') })).toMatchObject({ ok: false, range: 'link_local' })
    expect(await resolveWebhookTarget('https://[::ffff:127.0.0.1]/x', rules, { deadlineMs: 1000 })).toMatchObject({ ok: false, range: 'loopback' })
    expect(await resolveWebhookTarget('https://127.1/x', rules, { deadlineMs: 1000 })).toMatchObject({ ok: false, range: 'loopback' })
    expect(await resolveWebhookTarget('https://0x7f000001/x', rules, { deadlineMs: 1000 })).toMatchObject({ ok: false, range: 'loopback' })
    // WEBHOOK_ALLOW_PRIVATE_URLS=true
    expect(await resolveWebhookTarget('https://hooks.internal/x', { ...rules, allowPrivate: true }, { deadlineMs: 1000, resolve: answering('10.0.0.5') })).toMatchObject({ ok: true, value: { address: '10.0.0.5' } })
  })

  test('a name that does not resolve, or not in time, is refused', async () => {
    expect(await resolveWebhookTarget('https://nowhere.example/', rules, { deadlineMs: 1000, resolve: async () => Promise.reject(new Error('ENOTFOUND')) })).toMatchObject({ ok: false, code: 'webhook.url_unresolvable', reason: 'not_found' })
    expect(await resolveWebhookTarget('https://nowhere.example/', rules, { deadlineMs: 1000, resolve: async () => [] })).toMatchObject({ ok: false, reason: 'not_found' })
    expect(await resolveWebhookTarget('https://slow.example/', rules, { deadlineMs: 20, resolve: () => new Promise(() => undefined) })).toMatchObject({ ok: false, code: 'webhook.url_unresolvable', reason: 'timeout' })
  })
})

describe('delivering to the checked address', () => {
  let receiver: Receiver | undefined
  afterEach(async () => {
    await receiver?.close()
  })

  test('the connection goes to the address that was checked, whatever the name would resolve to now; no redirect is followed', async () => {
    receiver = await startReceiver()
    receiver.secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
    const port = new URL(receiver.url).port
    // a name the system resolver does not know: the request reaches the receiver only through the pinned address
    const target = await resolveWebhookTarget(`http://hooks.rebinding.invalid:${port}/hooks/inviteops`, { allowPrivate: true, httpsOnly: false }, { deadlineMs: 1000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] })
    if (!target.ok) throw new Error(target.code)
    const message = { id: 'msg_pinnedpinnedpinned', timestamp: new Date(), body: JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: {} }) }
    expect(await deliverWebhook(target.value, receiver.secret, message, { timeoutMs: 5_000 })).toEqual({ ok: true, status: 204 })
    expect(receiver.accepted.map((d) => [d.id, d.headers.host])).toEqual([['msg_pinnedpinnedpinned', `hooks.rebinding.invalid:${port}`]])
    receiver.answer(302)
    expect(await deliverWebhook(target.value, receiver.secret, message, { timeoutMs: 5_000 })).toEqual({ ok: false, status: 302, reason: 'HTTP 302 (redirects are not followed)' })
  })

  test('a receiver that never answers is given up at the deadline', async () => {
    const sockets: Socket[] = []
    // Resolves once the request's bytes reached the receiver, which then says nothing.
    let received!: () => void
    const requestIn = new Promise<void>((resolve) => (received = resolve))
    const silent = createServer((socket) => {
      sockets.push(socket)
      socket.once('data', () => received())
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as { port: number }).port
    const target = await resolveWebhookTarget(`http://127.0.0.1:${port}/`, { allowPrivate: true, httpsOnly: false }, { deadlineMs: 1000 })
    if (!target.ok) throw new Error(target.code)
    // The deadline's timer is faked (the sockets are real): it fires when the test moves time.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const pending = deliverWebhook(target.value, `whsec_${Buffer.alloc(32).toString('base64')}`, { id: 'msg_silentsilentsilent', timestamp: new Date(), body: '{}' }, { timeoutMs: 10_000 })
      await requestIn
      vi.advanceTimersByTime(9_999)
      let settled = false
      void pending.then(() => (settled = true))
      await Promise.resolve()
      expect(settled).toBe(false)
      vi.advanceTimersByTime(1)
      expect(await pending).toEqual({ ok: false, status: null, reason: 'no answer within 10000 ms' })
    } finally {
      vi.useRealTimers()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })
})
