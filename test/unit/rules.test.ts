import { describe, expect, test } from 'vitest'
import { displayStatus, parseDuration, passwordProblems, rowActions } from '../../src/invitations/rules.ts'
import { isWellFormedToken, linkToken, newLinkId, redactInvitationUrl, tokenHash, tokenMatches } from '../../src/invitations/links.ts'
import { normaliseEmail } from '../../src/shared/email-address.ts'

describe('expiry is computed from expires_at', () => {
  const expires = new Date('2026-12-03T10:00:00Z')
  test('valid until the instant of expiry, expired from it on', () => {
    expect(displayStatus('invited', expires, new Date('2026-12-03T09:59:59.999Z'))).toBe('invited')
    expect(displayStatus('invited', expires, expires)).toBe('expired')
    expect(displayStatus('active', null, expires)).toBe('active')
  })
  test('the menu holds exactly the actions that apply', () => {
    expect(rowActions('invited')).toEqual(['resend', 'link', 'edit', 'remove'])
    expect(rowActions('expired')).toEqual(['regenerate', 'edit', 'remove'])
    expect(rowActions('active')).toEqual(['edit', 'remove'])
    expect(rowActions('removed')).toEqual([])
  })
})

test('INVITE_TTL durations', () => {
  expect(parseDuration('90s')).toBe(90_000)
  expect(parseDuration('12h')).toBe(12 * 3_600_000)
  expect(parseDuration('7d')).toBe(7 * 86_400_000)
  for (const bad of ['', '7', 'd', '0d', '-1d', '7 days', '1.5h', '7w']) expect(parseDuration(bad)).toBeNull()
})

test('password rule: ≥8, lower, upper, digit, special', () => {
  expect(Object.values(passwordProblems('Str0ng!pass')).some(Boolean)).toBe(false)
  expect(passwordProblems('short1!')).toMatchObject({ tooShort: true, needsUpper: true })
  expect(passwordProblems('alllowercase')).toMatchObject({ needsUpper: true, needsDigit: true, needsSpecial: true, tooShort: false })
})

describe('password rule: what counts as a special character', () => {
  const fine = (password: string) => Object.values(passwordProblems(password)).some(Boolean) === false

  test('a space is not special: Aa1 aaaa is refused, and says why', () => {
    expect(passwordProblems('Aa1 aaaa')).toEqual({ tooShort: false, needsLower: false, needsUpper: false, needsDigit: false, needsSpecial: true, spaceIsNotSpecial: true })
    expect(fine('Aa1!aaaa')).toBe(true)
    // A special character beside a space is fine: the space simply does not count.
    expect(fine('Aa1 aaa!')).toBe(true)
  })

  test.each([
    ['tab', 'Aa1\taaaa'],
    ['no-break space', 'Aa1\u00a0aaaa'],
    ['ideographic space', 'Aa1\u3000aaaa'],
    ['line separator', 'Aa1\u2028aaaa'],
  ])('no other whitespace counts either (%s)', (_kind, password) => {
    expect(passwordProblems(password)).toMatchObject({ needsSpecial: true, spaceIsNotSpecial: true })
  })

  test.each([
    ['a control character', 'Aa1\u0007aaaa'],
    ['a zero-width joiner (format character)', 'Aa1\u200daaaa'],
    ['a combining mark', 'Aa1e\u0301aaaa'],
    ['a letter of another script', 'Aa1ßaaaa'],
    ['a digit of another script', 'Aa1٣aaaa'],
  ])('%s is not special', (_kind, password) => {
    expect(passwordProblems(password)).toMatchObject({ needsSpecial: true, spaceIsNotSpecial: false })
  })

  // Decision: any Unicode punctuation (P*) or symbol (S*) counts, in any script.
  test.each([
    ['ASCII punctuation', 'Aa1-aaaa'],
    ['ASCII symbol', 'Aa1+aaaa'],
    ['inverted question mark', 'Aa1¿aaaa'],
    ['guillemet', 'Aa1«aaaa'],
    ['em dash', 'Aa1—aaaa'],
    ['euro sign', 'Aa1€aaaa'],
    ['section sign', 'Aa1§aaaa'],
    ['fullwidth exclamation mark', 'Aa1！aaaa'],
    ['an emoji', 'Aa1🔑aaaa'],
  ])('%s is special', (_kind, password) => {
    expect(fine(password)).toBe(true)
  })
})

describe('links', () => {
  const secret = Buffer.alloc(32, 1)
  test('a token carries 256 bits derived from a 128-bit random id', () => {
    const id = newLinkId()
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    const token = linkToken(secret, id)
    expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    expect(isWellFormedToken(token)).toBe(true)
    expect(tokenMatches(secret, id, token)).toBe(true)
    expect(tokenMatches(Buffer.alloc(32, 2), id, token)).toBe(false)
    expect(tokenHash(token)).not.toContain(token)
  })
  test('redaction cuts the secret out of URLs', () => {
    expect(redactInvitationUrl('see http://x/invitations/abcDEF_-123 now')).toBe('see http://x/invitations/[redacted] now')
  })
})

describe('email addresses are validated and normalised once', () => {
  test.each([
    ['Bob@Example.COM', 'bob@example.com'],
    ['  bob+tag@example.co.uk ', 'bob+tag@example.co.uk'],
    ['bob@bücher.de', 'bob@xn--bcher-kva.de'],
  ])('%j → %j', (input, email) => expect(normaliseEmail(input)).toEqual({ ok: true, email }))
  test.each([
    ['', 'empty'],
    ['bob', 'malformed'],
    ['bob@', 'malformed'],
    ['@x.com', 'malformed'],
    ['bob@x', 'malformed'],
    ['bob@x.com\r\nBcc: e@v.il', 'control_characters'],
    ['a@x.com,b@x.com', 'several_addresses'],
    ['a@x.com b@x.com', 'several_addresses'],
    ['a@b@x.com', 'several_addresses'],
    ['josé@x.com', 'not_ascii'],
    ['bob..x@x.com', 'malformed'],
    [`${'a'.repeat(65)}@x.com`, 'malformed'],
    [`a@${'b'.repeat(260)}.com`, 'too_long'],
  ])('%j is refused (%s)', (input, reason) => expect(normaliseEmail(input)).toEqual({ ok: false, reason }))
})
