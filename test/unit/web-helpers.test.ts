import { describe, expect, it } from 'vitest'
import { createCsrf, readCookie } from '../../adapters/web/csrf.ts'
import { createRateLimiter } from '../../adapters/web/rate-limit.ts'
import { redactRequestPath } from '../../src/invitations/links.ts'
import { fieldMessage } from '../../adapters/web/router.ts'
import { fixedClock } from '../../src/ports/clock.ts'

const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde'

describe('redactRequestPath (what the invitee router logs)', () => {
  it.each([
    [`/invitations/${TOKEN}`, '/invitations/[redacted]'],
    [`/invitations/${TOKEN}/accept`, '/invitations/[redacted]/accept'],
    [`/invitations/${TOKEN}/decline?x=1`, '/invitations/[redacted]/decline?x=1'],
    [`https://invite.example/invitations/${TOKEN}#frag`, 'https://invite.example/invitations/[redacted]#frag'],
    ['/invitations/%E0%A4%A/accept', '/invitations/[redacted]/accept'],
    ['/INVITATIONS/whatever', '/INVITATIONS/[redacted]'],
    ['/invitations/assets/invitee.css?v=1', '/invitations/assets/invitee.css?v=1'],
    ['/invitations/', '/invitations/'],
    [`/invitations//${TOKEN}`, '/invitations//[redacted]'],
    ['/slack/events', '/slack/events'],
  ])('%s → %s', (input, expected) => {
    expect(redactRequestPath(input)).toBe(expected)
  })
})

describe('CSRF (signed double-submit cookie)', () => {
  const csrf = createCsrf(Buffer.alloc(32, 7), { secure: false })
  const cookie = csrf.newCookieValue()

  it('accepts the token minted for this cookie, action and link only', () => {
    const t = csrf.tokenFor(cookie, 'decline', TOKEN)
    expect(csrf.verify(cookie, t, 'decline', TOKEN)).toBe(true)
    expect(csrf.verify(cookie, t, 'accept', TOKEN)).toBe(false)
    expect(csrf.verify(cookie, t, 'decline', TOKEN.replace('A', 'B'))).toBe(false)
    expect(csrf.verify(csrf.newCookieValue(), t, 'decline', TOKEN)).toBe(false)
    expect(csrf.verify(undefined, t, 'decline', TOKEN)).toBe(false)
    expect(csrf.verify(cookie, undefined, 'decline', TOKEN)).toBe(false)
    expect(csrf.verify(cookie, t.slice(1), 'decline', TOKEN)).toBe(false)
    expect(csrf.verify('short', csrf.tokenFor('short', 'decline', TOKEN), 'decline', TOKEN)).toBe(false)
  })

  it('depends on the secret', () => {
    const other = createCsrf(Buffer.alloc(32, 8), { secure: false })
    expect(other.verify(cookie, csrf.tokenFor(cookie, 'accept', TOKEN), 'accept', TOKEN)).toBe(false)
  })

  it('uses a __Host- Secure cookie on https, a plain one on http', () => {
    expect(createCsrf(Buffer.alloc(32), { secure: true }).setCookieHeader('v')).toBe('__Host-inviteops_csrf=v; Path=/; HttpOnly; SameSite=Strict; Secure')
    expect(csrf.setCookieHeader('v')).toBe('inviteops_csrf=v; Path=/; HttpOnly; SameSite=Strict')
  })

  it('reads one cookie from a header', () => {
    expect(readCookie('a=1; inviteops_csrf=xyz; b=2', 'inviteops_csrf')).toBe('xyz')
    expect(readCookie('a=1; b', 'inviteops_csrf')).toBeUndefined()
    expect(readCookie(undefined, 'x')).toBeUndefined()
  })
})

describe('per-IP rate limiter', () => {
  it('allows max hits per window per key, then refuses until the window rolls', () => {
    const clock = fixedClock('2026-11-26T10:00:00Z')
    const limiter = createRateLimiter(clock, { max: 2, windowMs: 60_000 })
    expect([limiter.hit('a'), limiter.hit('a'), limiter.hit('a'), limiter.hit('b')]).toEqual([true, true, false, true])
    clock.advance(60_000)
    expect(limiter.hit('a')).toBe(true)
  })

  it('keeps at most maxKeys windows', () => {
    const clock = fixedClock('2026-11-26T10:00:00Z')
    const limiter = createRateLimiter(clock, { max: 1, windowMs: 60_000, maxKeys: 2 })
    expect(limiter.hit('a')).toBe(true)
    expect(limiter.hit('b')).toBe(true)
    expect(limiter.hit('c')).toBe(true) // evicts a
    expect(limiter.hit('a')).toBe(true) // a fresh window: bounded memory wins over exactness
    expect(limiter.hit('c')).toBe(false)
  })
})

describe('field messages', () => {
  it('words every password rule', () => {
    expect(fieldMessage('password', 'password_needs_special')).toContain('special character')
    expect(fieldMessage('firstName', 'required')).toBe('Enter your first name.')
  })
})
