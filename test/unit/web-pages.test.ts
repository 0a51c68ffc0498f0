import { describe, expect, it } from 'vitest'
import { escapeHtml, html, raw } from '../../adapters/web/html.ts'
import {
  dateFormatter,
  renderAccepted,
  renderDeclineConfirm,
  renderDeclined,
  renderLinkProblem,
  renderNewInvitationAlreadyRequested,
  renderNewInvitationRequested,
  renderRegisterForm,
  renderRequestProblem,
  renderWelcome,
  type InviteeDetails,
  type PageContext,
  type RequestProblem,
} from '../../adapters/web/pages.ts'
import type { LinkCode } from '../../src/invitations/codes.ts'

const ctx: PageContext = { productName: 'InviteOps', stylesheetHref: '/invitations/assets/invitee.css?v=1', iconHref: '/invitations/assets/icon.svg', formatDate: dateFormatter('UTC'), termsUrl: null }
const EVIL = '<script>alert(1)</script>'

const invitee: InviteeDetails = {
  accountName: 'Acme',
  invitedBy: 'alice@acme.test',
  groups: ['Sales', 'Support'],
  expiresAt: new Date('2026-12-03T10:00:00Z'),
  email: 'bob@acme.test',
  firstName: 'Bob',
  lastName: 'Stone',
}

describe('html helper', () => {
  it('escapes every character that can break out of text or a quoted attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;')
  })
  it('escapes interpolations but not nested html or raw', () => {
    expect(html`<p>${EVIL}${html`<b>${'<i>'}</b>`}${raw('<br>')}</p>`.value).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;<b>&lt;i&gt;</b><br></p>')
  })
})

describe('dateFormatter', () => {
  const at = new Date('2026-12-03T10:00:00Z')
  it.each([
    ['UTC', '3 December 2026 at 10:00 UTC'],
    ['Europe/Berlin', '3 December 2026 at 11:00 Europe/Berlin'],
    ['Asia/Kolkata', '3 December 2026 at 15:30 Asia/Kolkata'],
    ['America/New_York', '3 December 2026 at 05:00 America/New_York'],
  ])('%s: the time in the zone, the zone named', (zone, shown) => {
    expect(dateFormatter(zone)(at)).toBe(shown)
  })

  it("follows the zone's daylight-saving rules, not a fixed offset", () => {
    expect(dateFormatter('Europe/Berlin')(new Date('2026-07-03T10:00:00Z'))).toBe('3 July 2026 at 12:00 Europe/Berlin')
  })

  it('a zone this runtime does not know reads as UTC instead of failing the page', () => {
    expect(dateFormatter('Nowhere/Else')(at)).toBe('3 December 2026 at 10:00 UTC')
  })

  it('a legacy name stored before names were checked reads as its zone, named as the runtime names it', () => {
    expect(dateFormatter('US/Eastern')(at)).toBe('3 December 2026 at 05:00 America/New_York')
  })
})

describe('welcome screen', () => {
  it('shows account, inviter, groups, validity and the two buttons', () => {
    const page = renderWelcome(ctx, { invitee, acceptPath: '/invitations/T/accept', declinePath: '/invitations/T/decline' })
    expect(page.status).toBe(200)
    expect(page.html).toContain('<h1>Join Acme</h1>')
    expect(page.html).toContain('alice@acme.test')
    expect(page.html).toContain('<li class="chip">Sales</li>')
    expect(page.html).toContain('3 December 2026 at 10:00 UTC')
    expect(page.html).toContain('datetime="2026-12-03T10:00:00.000Z"')
    expect(page.html).toMatch(/<form method="get" action="\/invitations\/T\/accept"><button type="submit" class="button button--primary">Accept invitation<\/button>/)
    expect(page.html).toMatch(/<form method="get" action="\/invitations\/T\/decline"><button[^>]*>Decline invitation<\/button>/)
    expect(page.html).toContain('<link rel="stylesheet" href="/invitations/assets/invitee.css?v=1">')
    expect(page.html).not.toContain('<script')
  })

  it('escapes <script> in every value that comes from people', () => {
    const page = renderWelcome(ctx, {
      invitee: { ...invitee, accountName: EVIL, invitedBy: EVIL, groups: [EVIL], email: `x${EVIL}@y.z`, firstName: EVIL, lastName: EVIL },
      acceptPath: '/a',
      declinePath: '/d',
    })
    expect(page.html).not.toContain('<script')
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  it('says so when the inviter is unknown', () => {
    const page = renderWelcome(ctx, { invitee: { ...invitee, invitedBy: null }, acceptPath: '/a', declinePath: '/d' })
    expect(page.html).toContain('You have been invited')
    expect(page.html).toContain('An administrator of the account')
  })
})

describe('registration form', () => {
  const form = { action: '/invitations/T/accept', csrfToken: 'csrf-value' }

  it('has a label for every field, the password rule, the Terms tick and the CSRF field', () => {
    const page = renderRegisterForm(ctx, { invitee, form, values: { firstName: 'Bob', lastName: 'Stone', termsAccepted: false }, errors: {} })
    expect(page.status).toBe(200)
    for (const id of ['firstName', 'lastName', 'password', 'passwordConfirmation', 'termsAccepted']) {
      expect(page.html).toContain(`<label for="${id}">`)
      expect(page.html).toContain(`id="${id}"`)
    }
    expect(page.html).toContain('At least 8 characters, with a lower-case letter, an upper-case letter, a digit and a special character')
    expect(page.html).toContain('aria-describedby="password-hint"')
    expect(page.html).toContain('<input type="hidden" name="csrf" value="csrf-value">')
    expect(page.html).toContain('method="post" action="/invitations/T/accept"')
    expect(page.html).not.toContain('role="alert"')
    expect(page.html).not.toMatch(/termsAccepted"[^>]*checked/)
  })

  it('answers 422 with messages next to the fields, a summary, and keeps what was typed', () => {
    const page = renderRegisterForm(ctx, {
      invitee,
      form,
      values: { firstName: `"><script>x</script>`, lastName: '', termsAccepted: true },
      errors: { lastName: ['Enter your last name.'], password: ['Use at least 8 characters.', 'Add a digit (0–9).'] },
    })
    expect(page.status).toBe(422)
    expect(page.html).toContain('role="alert"')
    expect(page.html).toContain('Please check 2 fields')
    expect(page.html).toContain('<a href="#lastName">Last name: Enter your last name.</a>')
    expect(page.html).toMatch(/id="lastName"[^>]*aria-invalid="true" aria-describedby="lastName-error"/)
    expect(page.html).toContain('<div class="field-error" id="lastName-error"><p>Enter your last name.</p></div>')
    expect(page.html).toContain('aria-describedby="password-hint password-error"')
    expect(page.html).toContain('<li>Use at least 8 characters.</li><li>Add a digit (0–9).</li>')
    expect(page.html).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
    expect(page.html).not.toContain('<script')
    expect(page.html).toMatch(/id="termsAccepted"[^>]*checked/)
  })

  it('links the Terms of Use when the operator has a page', () => {
    const page = renderRegisterForm({ ...ctx, termsUrl: 'https://example.test/terms' }, { invitee, form, values: { firstName: '', lastName: '', termsAccepted: false }, errors: {} })
    expect(page.html).toContain('<a href="https://example.test/terms" target="_blank" rel="noopener noreferrer">Terms of Use</a>')
  })
})

describe('result pages', () => {
  it('success, decline confirmation and declined', () => {
    const ok = renderAccepted(ctx, { accountName: 'Acme', firstName: EVIL, email: 'bob@acme.test' })
    expect(ok.status).toBe(200)
    expect(ok.html).toContain('You are now a member of <strong>Acme</strong>')
    expect(ok.html).not.toContain('<script')

    const confirm = renderDeclineConfirm(ctx, { invitee, form: { action: '/invitations/T/decline', csrfToken: 'c' }, backPath: '/invitations/T' })
    expect(confirm.status).toBe(200)
    expect(confirm.html).toContain('<h1>Decline this invitation?</h1>')
    expect(confirm.html).toContain('method="post" action="/invitations/T/decline"')
    expect(confirm.html).toContain('<form method="get" action="/invitations/T">')

    const declined = renderDeclined(ctx, { accountName: 'Acme' })
    expect(declined.status).toBe(200)
    expect(declined.html).toContain('<h1>Invitation declined</h1>')
  })

  it('request-new outcomes', () => {
    expect(renderNewInvitationRequested(ctx).status).toBe(200)
    const again = renderNewInvitationAlreadyRequested(ctx, { requestedAt: new Date('2026-11-26T10:00:00Z'), retryAt: new Date('2026-11-27T10:00:00Z') })
    expect(again.status).toBe(429)
    expect(again.html).toContain('27 November 2026 at 10:00 UTC')
  })
})

describe('pages of links that do not open', () => {
  const cases: Array<[LinkCode, number, string]> = [
    ['link.invalid', 404, 'This invitation link does not work'],
    ['link.expired', 410, 'This invitation has expired'],
    ['link.replaced', 410, 'A newer invitation was sent'],
    ['link.accepted', 410, 'This invitation has already been accepted'],
    ['link.declined', 410, 'This invitation was declined'],
    ['link.revoked', 410, 'This invitation was withdrawn'],
  ]
  it.each(cases)('%s → %i with its own heading', (code, status, heading) => {
    const page = renderLinkProblem(ctx, code, null)
    expect(page.status).toBe(status)
    expect(page.html).toContain(`<h1>${heading}</h1>`)
    expect(page.html).not.toContain('<form')
  })

  it('headings are distinct', () => {
    expect(new Set(cases.map(([code]) => /<h1>(.*)<\/h1>/.exec(renderLinkProblem(ctx, code, null).html)?.[1])).size).toBe(cases.length)
  })

  it('the replaced page sends the invitee to their inbox', () => {
    expect(renderLinkProblem(ctx, 'link.replaced', null).html).toContain('check your inbox for the latest invitation')
  })

  it('the expired page offers "Request a new invitation" as a CSRF-protected POST', () => {
    const page = renderLinkProblem(ctx, 'link.expired', { requestForm: { action: '/invitations/T/request-new', csrfToken: 'tok' } })
    expect(page.html).toContain('Reach out to the account administrator for a new invite')
    expect(page.html).toContain('<form method="post" action="/invitations/T/request-new" class="actions"><input type="hidden" name="csrf" value="tok"><button type="submit" class="button button--primary">Request a new invitation</button></form>')
  })
})

describe('refusal pages', () => {
  const cases: Array<[RequestProblem, number]> = [
    ['rate_limited', 429],
    ['csrf', 403],
    ['content_type', 415],
    ['too_large', 413],
    ['bad_form', 400],
    ['not_found', 404],
    ['server_error', 500],
  ]
  it.each(cases)('%s → %i', (problem, status) => {
    const page = renderRequestProblem(ctx, problem, '/invitations/T')
    expect(page.status).toBe(status)
    expect(page.html).toMatch(/<h1>[^<]+<\/h1>/)
  })
})

describe('branding and hand-over', () => {
  const branded: PageContext = {
    ...ctx,
    productName: `Acme ${EVIL}`,
    termsUrl: 'https://acme.test/terms',
    privacyUrl: 'https://acme.test/privacy?x="><script>',
    supportEmail: 'help@acme.test',
    signInUrl: 'https://app.acme.test/login',
  }

  it('every page carries the product name and the footer links, escaped', () => {
    const page = renderDeclined(branded, { accountName: 'Acme' })
    expect(page.html).toContain('<title>Invitation declined · Acme &lt;script&gt;alert(1)&lt;/script&gt;</title>')
    expect(page.html).toContain('<p class="footer-links">Questions? Write to <a href="mailto:help@acme.test">help@acme.test</a>. <a href="https://acme.test/privacy?x=&quot;&gt;&lt;script&gt;">Privacy notice</a></p>')
    expect(page.html).not.toContain('<script')
  })

  it('without branding links there is no footer-links paragraph and no sign-in button', () => {
    expect(renderAccepted(ctx, { accountName: 'Acme', firstName: 'Bob', email: 'bob@acme.test' }).html).not.toMatch(/footer-links|Sign in to/)
  })

  it('the Terms box says its link opens a new tab; without Terms it confirms joining and the summary names it so', () => {
    const form = { action: '/invitations/T/accept', csrfToken: 'c' }
    const withTerms = renderRegisterForm(branded, { invitee, form, values: { firstName: '', lastName: '', termsAccepted: false }, errors: { termsAccepted: ['Tick the box to accept the Terms of Use.'] } })
    expect(withTerms.html).toContain('<label for="termsAccepted">I have read and accept the <a href="https://acme.test/terms" target="_blank" rel="noopener noreferrer">Terms of Use</a> (opens in a new tab)</label>')
    expect(withTerms.html).toContain('<a href="#termsAccepted">Terms of Use: Tick the box to accept the Terms of Use.</a>')
    const without = renderRegisterForm(ctx, { invitee: { ...invitee, accountName: EVIL }, form, values: { firstName: '', lastName: '', termsAccepted: false }, errors: { termsAccepted: ['Tick the box to confirm that you want to join.'] } })
    expect(without.html).toContain('<label for="termsAccepted">I want to join &lt;script&gt;alert(1)&lt;/script&gt; as bob@acme.test</label>')
    expect(without.html).toContain('<a href="#termsAccepted">Confirmation: Tick the box to confirm that you want to join.</a>')
    expect(without.html).not.toContain('Terms')
  })

  it('after registering, and on a used link, offers Sign in to the product', () => {
    expect(renderAccepted(branded, { accountName: 'Acme', firstName: 'Bob', email: 'bob@acme.test' }).html).toContain('<a class="button button--primary" href="https://app.acme.test/login">Sign in to Acme &lt;script&gt;alert(1)&lt;/script&gt;</a>')
    expect(renderLinkProblem(branded, 'link.accepted', null).html).toContain('href="https://app.acme.test/login"')
  })

  it('with the hand-over, Accept on the welcome screen is a POST carrying the CSRF field', () => {
    const page = renderWelcome(branded, { invitee, acceptPath: '/invitations/T/accept', declinePath: '/invitations/T/decline', handOver: { action: '/invitations/T/accept', csrfToken: 'tok' } })
    expect(page.html).toContain('<form method="post" action="/invitations/T/accept"><input type="hidden" name="csrf" value="tok"><button type="submit" class="button button--primary">Accept invitation</button></form>')
    expect(page.html).toContain('Accepting takes you to Acme &lt;script&gt;alert(1)&lt;/script&gt; to create your account there.')
    const plain = renderWelcome(ctx, { invitee, acceptPath: '/invitations/T/accept', declinePath: '/invitations/T/decline' })
    expect(plain.html).toContain('<form method="get" action="/invitations/T/accept">')
    expect(plain.html).not.toContain('Accepting takes you')
  })
})
