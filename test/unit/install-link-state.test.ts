import fc from 'fast-check'
import { expect, test } from 'vitest'
import { readInstallLink, signInstallLink } from '../../src/installations/install-link.ts'

const secret = Buffer.alloc(32, 7)
const accountId = '0b6c1f3e-9d2a-4c5b-8e7f-1a2b3c4d5e6f'
const now = new Date('2026-11-30T12:00:00.000Z')
const in7Days = new Date(now.getTime() + 7 * 86_400_000)

test('a signed link reads back as its account and expiry; url-safe and short', () => {
  const token = signInstallLink(secret, { accountId, expiresAt: in7Days })
  expect(token).toMatch(/^[A-Za-z0-9._-]+$/)
  expect(token.length).toBeLessThan(200)
  expect(encodeURIComponent(token)).toBe(token)
  expect(readInstallLink(secret, token, now)).toEqual({ ok: true, accountId, expiresAt: in7Days })
  // Upper-case ids are ours too; the link names the canonical (lower-case) form.
  expect(readInstallLink(secret, signInstallLink(secret, { accountId: accountId.toUpperCase(), expiresAt: in7Days }), now)).toMatchObject({ ok: true, accountId })
  // A random nonce: two links for the same account and expiry differ.
  expect(signInstallLink(secret, { accountId, expiresAt: in7Days })).not.toBe(token)
})

test('expired at and after its expiry, with the account it named', () => {
  const token = signInstallLink(secret, { accountId, expiresAt: in7Days })
  expect(readInstallLink(secret, token, new Date(in7Days.getTime() - 1000))).toMatchObject({ ok: true })
  expect(readInstallLink(secret, token, in7Days)).toEqual({ ok: false, reason: 'expired', accountId, expiresAt: in7Days })
  expect(readInstallLink(secret, token, new Date(in7Days.getTime() + 86_400_000))).toMatchObject({ ok: false, reason: 'expired' })
  expect(readInstallLink(secret, token, new Date(Number.NaN))).toMatchObject({ ok: false, reason: 'expired' })
})

test('tampering with any part, or another secret, is refused as tampered', () => {
  const token = signInstallLink(secret, { accountId, expiresAt: in7Days })
  const parts = token.split('.')
  expect(parts).toHaveLength(5)
  const other = '1b6c1f3e9d2a4c5b8e7f1a2b3c4d5e6f'
  const later = Math.ceil(new Date(now.getTime() + 365 * 86_400_000).getTime() / 1000).toString(36)
  const swaps: Record<number, string> = { 1: other, 2: later, 3: 'AAAAAAAAAAAA', 4: `${parts[4]!.slice(0, 42)}${parts[4]!.endsWith('A') ? 'B' : 'A'}` }
  for (const [i, value] of Object.entries(swaps)) {
    const bad = parts.map((p, j) => (j === Number(i) ? value : p)).join('.')
    expect(readInstallLink(secret, bad, now), `part ${i}`).toEqual({ ok: false, reason: 'tampered' })
  }
  expect(readInstallLink(Buffer.alloc(32, 8), token, now)).toEqual({ ok: false, reason: 'tampered' })
  // Every single character changed within the alphabet of its part is caught.
  for (let i = 3; i < token.length; i += 1) {
    if (token[i] === '.') continue
    const c = token[i]!
    const swapped = /[0-9]/.test(c) ? (c === '0' ? '1' : '0') : /[a-z]/.test(c) ? (c === 'a' ? 'b' : 'a') : c === 'A' ? 'B' : 'A'
    const bad = token.slice(0, i) + swapped + token.slice(i + 1)
    const read = readInstallLink(secret, bad, now)
    expect(read.ok, `character ${i}`).toBe(false)
  }
})

test('malformed input is refused without a throw', () => {
  const token = signInstallLink(secret, { accountId, expiresAt: in7Days })
  for (const junk of [null, undefined, 42, {}, [], '', 'v1', `v2${token.slice(2)}`, `${token}.x`, token.slice(0, -1), `${token}A`, token.replace(/\./g, '_'), 'x'.repeat(5000), token.toUpperCase()]) {
    const read = readInstallLink(secret, junk, now)
    expect(read.ok).toBe(false)
  }
  expect(readInstallLink(secret, 'v1.zz', now)).toEqual({ ok: false, reason: 'malformed' })
})

test('generated junk never throws and never reads as valid', () => {
  const token = signInstallLink(secret, { accountId, expiresAt: in7Days })
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'v1.abcdef0123456789ABCDEF_-xyz'.split('')), maxLength: 120 }), fc.anything()), (junk) => {
      const read = readInstallLink(secret, junk, now)
      expect(read.ok).toBe(false)
    }),
  )
  // Mutations of a real token: any change of one character, insertion or deletion.
  fc.assert(
    fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'.abcdef0123456789ABCDEF_-xyzv'.split('')), fc.constantFrom('replace', 'insert', 'delete'), (i, c, op) => {
      const bad = op === 'replace' ? token.slice(0, i) + c + token.slice(i + 1) : op === 'insert' ? token.slice(0, i) + c + token.slice(i) : token.slice(0, i) + token.slice(i + 1)
      const read = readInstallLink(secret, bad, now)
      if (bad !== token) expect(read.ok).toBe(false)
    }),
  )
})

test('signing refuses what is not an account id or a date', () => {
  expect(() => signInstallLink(secret, { accountId: 'acme', expiresAt: in7Days })).toThrow(/uuid/)
  expect(() => signInstallLink(secret, { accountId, expiresAt: new Date(Number.NaN) })).toThrow(/expiry/)
})
