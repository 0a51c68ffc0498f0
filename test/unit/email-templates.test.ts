import { describe, expect, it } from 'vitest'
import type { EmailKind, EmailPayload } from '../../src/email/outbox.ts'
import { renderEmail } from '../../src/email/templates.ts'

const payload: EmailPayload = {
  accountName: 'Acme Corp',
  recipientFirstName: 'Bob',
  inviterName: 'Alice Admin',
  inviterEmail: 'alice@acme.test',
  groups: ['Members', 'Engineering'],
  expiresAt: '2026-12-03T10:00:00.000Z',
}
const LINK = 'https://invite.example/invitations/abcDEF123_-'

describe('the four emails', () => {
  it('invitation: the subject names the account; inviter, groups, expiry and the accept link in both bodies', () => {
    const e = renderEmail('invitation', payload, LINK)
    expect(e.subject).toBe('You are invited to join Acme Corp')
    for (const body of [e.text, e.html]) {
      expect(body).toContain('Alice Admin (alice@acme.test)')
      expect(body).toContain('Members, Engineering')
      expect(body).toContain('3 December 2026')
      expect(body).toContain(LINK)
    }
    expect(e.html).toContain(`<a href="${LINK}"`)
  })

  const table: [EmailKind, RegExp, boolean][] = [
    ['resend', /^Reminder: your invitation to join Acme Corp$/, true],
    ['new_invitation', /^A new invitation to join Acme Corp$/, true],
    ['removal', /^You no longer have access to Acme Corp$/, false],
  ]
  it.each(table)('%s: subject, and a link only when there is one to follow', (kind, subject, hasLink) => {
    const e = renderEmail(kind, payload, hasLink ? LINK : null)
    expect(e.subject).toMatch(subject)
    expect(e.text.includes(LINK)).toBe(hasLink)
    expect(e.html.includes(LINK)).toBe(hasLink)
    expect(e.text).toContain('Acme Corp')
  })
})

describe("dates in the account's time zone, named", () => {
  it('UTC when the payload names no zone (emails queued before accounts had one)', () => {
    const e = renderEmail('invitation', payload, LINK)
    for (const body of [e.text, e.html]) expect(body).toContain('valid until 3 December 2026 at 10:00 UTC.')
  })

  it.each([
    ['Europe/Berlin', '3 December 2026 at 11:00 Europe/Berlin'],
    ['America/New_York', '3 December 2026 at 05:00 America/New_York'],
    // Across midnight: the day is the zone's day.
    ['Pacific/Kiritimati', '4 December 2026 at 00:00 Pacific/Kiritimati'],
    ['UTC', '3 December 2026 at 10:00 UTC'],
  ])('%s', (timeZone, shown) => {
    const e = renderEmail('resend', { ...payload, timeZone }, LINK)
    for (const body of [e.text, e.html]) expect(body).toContain(`valid until ${shown}.`)
  })

  it('a zone this runtime does not know reads as UTC rather than failing the send', () => {
    const e = renderEmail('invitation', { ...payload, timeZone: 'Mars/Olympus_Mons' }, LINK)
    expect(e.text).toContain('3 December 2026 at 10:00 UTC')
  })
})

describe('escaping', () => {
  const hostile: EmailPayload = {
    accountName: `<script>alert("acct")</script> O'Brien & "Sons"`,
    recipientFirstName: `<img src=x onerror="alert('bob')">`,
    inviterName: `"Alice" <script>steal()</script>\n\nClick http://evil.example now`,
    inviterEmail: 'alice@acme.test',
    groups: ['<b>Admins</b>', `"quoted" & 'single'`],
    expiresAt: '2026-12-03T10:00:00.000Z',
  }

  it.each(['invitation', 'resend', 'new_invitation', 'removal'] as EmailKind[])('%s: no markup from names reaches the HTML', (kind) => {
    const e = renderEmail(kind, hostile, kind === 'removal' ? null : LINK)
    expect(e.html).not.toMatch(/<script|<img|<b>|onerror="/i)
    expect(e.html).toContain('&lt;script&gt;alert(&quot;acct&quot;)&lt;/script&gt; O&#39;Brien &amp; &quot;Sons&quot;')
    expect(e.html).toContain('&lt;img src=x onerror=&quot;alert(&#39;bob&#39;)&quot;&gt;')
    if (kind !== 'removal') expect(e.html).toContain('&lt;b&gt;Admins&lt;/b&gt;, &quot;quoted&quot; &amp; &#39;single&#39;')
  })

  it('the subject is one header line, and a name cannot forge lines in the text body', () => {
    const e = renderEmail('invitation', { ...hostile, accountName: 'Acme\r\nBcc: victim@example.com' }, LINK)
    expect(e.subject).toBe('You are invited to join Acme Bcc: victim@example.com')
    expect(e.subject).not.toMatch(/[\r\n]/)
    expect(e.text.split('\n').some((line) => line.startsWith('Click http://evil.example'))).toBe(false)
    // Plain text needs no entities: the name appears as typed, on its one line.
    expect(e.text).toContain(`"Alice" <script>steal()</script> Click http://evil.example now`)
  })

  it('names stored before the name rule (line and paragraph separators, direction overrides) are shown on one line, in order', () => {
    const e = renderEmail('invitation', { ...hostile, accountName: 'Acme\u2028Bcc: x@example.com\u202egnp.exe', recipientFirstName: 'Bob\u2029Fake' }, LINK)
    expect(e.subject).toBe('You are invited to join Acme Bcc: x@example.com gnp.exe')
    expect(e.text + e.html).not.toMatch(/[\u2028\u2029\u202a-\u202e\u2066-\u2069]/)
  })
})

describe('branding', () => {
  const BRANDED = { productName: 'Acme Cloud', termsUrl: null, privacyUrl: 'https://acme.example/privacy', supportEmail: 'help@acme.example', signInUrl: null }

  it("unset: today's subject and signature, no footer", () => {
    const e = renderEmail('invitation', payload, LINK)
    expect(e.subject).toBe('You are invited to join Acme Corp')
    expect(e.text.endsWith('\n\n— InviteOps')).toBe(true)
    expect(e.html).toContain('— InviteOps</p>\n</body>')
    expect(e.text).not.toContain('Questions?')
  })

  it.each([
    ['invitation', 'You are invited to join Acme Corp on Acme Cloud'],
    ['resend', 'Reminder: your invitation to join Acme Corp on Acme Cloud'],
    ['new_invitation', 'A new invitation to join Acme Corp on Acme Cloud'],
    ['removal', 'You no longer have access to Acme Corp on Acme Cloud'],
  ] as const)('%s: the product in the subject, the signature and a footer with support and privacy', (kind, subject) => {
    const e = renderEmail(kind, payload, kind === 'removal' ? null : LINK, BRANDED)
    expect(e.subject).toBe(subject)
    expect(e.text).toContain('\n\n— Acme Cloud\n\nQuestions? Write to help@acme.example.\nPrivacy notice: https://acme.example/privacy')
    expect(e.text).not.toContain('InviteOps')
    expect(e.html).toContain('— Acme Cloud</p>')
    expect(e.html).toContain('Questions? Write to <a href="mailto:help@acme.example" style="color:#6b7280">help@acme.example</a>. · <a href="https://acme.example/privacy" style="color:#6b7280">Privacy notice</a>')
    expect(e.html).not.toContain('InviteOps')
  })

  it('hostile branding values are escaped in HTML and cannot forge a line or a header', () => {
    const e = renderEmail('invitation', payload, LINK, {
      ...BRANDED,
      productName: '<b>Acme</b>\nBcc: x@evil.example',
      privacyUrl: 'https://acme.example/p?a=1&b="><script>x</script>',
    })
    expect(e.subject).not.toMatch(/[\r\n]/)
    expect(e.text.split('\n').some((l) => l.startsWith('Bcc:'))).toBe(false)
    expect(e.html).not.toContain('<b>Acme</b>')
    expect(e.html).not.toContain('<script>')
    expect(e.html).toContain('href="https://acme.example/p?a=1&amp;b=&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
  })
})
