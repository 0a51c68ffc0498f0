/**
 * The invitee's pages, as pure functions from data to `{ status, html }` (docs/architecture.md).
 * Plain server-rendered HTML: no JavaScript, one stylesheet, forms that post back.
 *
 * Privacy rule: a page about a link that does not open (unknown, expired, replaced, used,
 * declined, revoked) names no account, no person and no email. Only the welcome, registration
 * and decline screens, reached with a live link, show who invited whom to what.
 */
import type { LinkCode } from '../../src/invitations/codes.ts'
import { formatLongDateTime, UTC, zoneOrUtc } from '../../src/shared/dates.ts'
import { html, raw, type HtmlValue, type SafeHtml } from './html.ts'

/** A rendered page: the HTTP status belongs with the words, so both live here. */
export interface RenderedPage {
  status: number
  html: string
}

/** What every page needs to know about where it is served. */
export interface PageContext {
  /** Product name in the header and the title. */
  productName: string
  /** URL of the stylesheet (served by the router). */
  stylesheetHref: string
  /** URL of the page icon (served by the router, so browsers do not ask for /favicon.ico). */
  iconHref: string
  /**
   * Formats an instant for the invitee in the account's time zone, named ("3 December 2026 at
   * 15:26 Europe/Berlin"), as the emails do. UTC on pages that belong to no account.
   */
  formatDate: (d: Date) => string
  /** Terms of Use page, when the operator has one (TERMS_URL). */
  termsUrl: string | null
  /** Privacy notice, linked from the footer (PRIVACY_URL). */
  privacyUrl?: string | null
  /** Where an invitee with a question writes, named in the footer (SUPPORT_EMAIL). */
  supportEmail?: string | null
  /** The product's sign-in page, offered once the invitee has an account (SIGN_IN_URL). */
  signInUrl?: string | null
}

/**
 * A `formatDate` in one time zone: `formatLongDateTime`, the long form the emails use, so the
 * page and the email say the same date in the same words. A zone this runtime does not know
 * reads as UTC.
 */
export function dateFormatter(timeZone: string = UTC): (d: Date) => string {
  const zone = zoneOrUtc(timeZone)
  return (d) => formatLongDateTime(d, zone)
}

/** The invitation as the invitee may see it, from a live link. */
export interface InviteeDetails {
  accountName: string
  /** Who sent the invitation (name or email), when known. */
  invitedBy: string | null
  groups: string[]
  expiresAt: Date
  email: string
  firstName: string
  lastName: string
}

/** A form on a page: where it posts and the CSRF token it must carry. */
export interface FormTarget {
  action: string
  csrfToken: string
}

/** Registration fields the form shows messages next to. */
export type RegisterField = 'firstName' | 'lastName' | 'password' | 'passwordConfirmation' | 'termsAccepted'

/** One problem with one field, already worded by the router's exhaustive mapping of codes. */
export type FieldMessages = Partial<Record<RegisterField, string[]>>

export interface RegisterFormData {
  invitee: InviteeDetails
  form: FormTarget
  /** What the invitee typed, echoed back (never the passwords). */
  values: { firstName: string; lastName: string; termsAccepted: boolean }
  errors: FieldMessages
}

/** The password rule, shown as a hint and checked by the core (docs/lifecycle.md). */
export const PASSWORD_RULE_TEXT =
  'At least 8 characters, with a lower-case letter, an upper-case letter, a digit and a special character such as ! ? # or % (a space does not count).'

// ---------------------------------------------------------------------------------------------
// Layout

const LOGO_SHAPES =
  '<rect width="28" height="28" rx="8" fill="#3346d3"/>' +
  '<path d="M7 10.5 14 15l7-4.5M7.75 8.5h12.5c.7 0 1.25.55 1.25 1.25v8.5c0 .7-.55 1.25-1.25 1.25H7.75c-.7 0-1.25-.55-1.25-1.25v-8.5c0-.7.55-1.25 1.25-1.25Z" ' +
  'fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>'

const LOGO = raw(`<svg class="logo" width="28" height="28" viewBox="0 0 28 28" aria-hidden="true" focusable="false">${LOGO_SHAPES}</svg>`)

/** The product mark as a standalone SVG document, served as the page icon. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28" viewBox="0 0 28 28">${LOGO_SHAPES}</svg>`

/** The mood of a page's status icon (also used by the Slack install pages). */
export type Tone = 'neutral' | 'success' | 'warning' | 'danger'

const ICONS: Record<Tone, SafeHtml> = {
  neutral: raw('<path d="M12 8v5m0 3.2v.1M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z"/>'),
  success: raw('<path d="m8 12.5 2.7 2.7L16.5 9.5M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z"/>'),
  warning: raw('<path d="M12 7.5V12l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z"/>'),
  danger: raw('<path d="m9.5 9.5 5 5m0-5-5 5M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z"/>'),
}

/** The round status icon at the top of a page. */
export function statusIcon(tone: Tone): SafeHtml {
  return html`<div class="status-icon status-icon--${tone}"><svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${ICONS[tone]}</svg></div>`
}

function layout(ctx: PageContext, title: string, body: HtmlValue, opts: { wide?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${title} · ${ctx.productName}</title>
<link rel="stylesheet" href="${ctx.stylesheetHref}">
<link rel="icon" type="image/svg+xml" href="${ctx.iconHref}">
</head>
<body>
<header class="site-header"><span class="brand">${LOGO}<span>${ctx.productName}</span></span></header>
<main id="main" class="${opts.wide ? 'card card--wide' : 'card'}">
${body}
</main>
<footer class="site-footer"><p>${ctx.productName} sends invitations on behalf of the account that invited you. This link is personal: please do not share it.</p>${footerLinks(ctx)}</footer>
</body>
</html>
`.value
}

/** Support address and privacy notice, when the operator gave them. */
function footerLinks(ctx: PageContext): SafeHtml | '' {
  const support = ctx.supportEmail ? html`Questions? Write to <a href="mailto:${ctx.supportEmail}">${ctx.supportEmail}</a>.` : ''
  const privacy = ctx.privacyUrl ? html`<a href="${ctx.privacyUrl}">Privacy notice</a>` : ''
  if (!support && !privacy) return ''
  return html`<p class="footer-links">${support}${support && privacy ? ' ' : ''}${privacy}</p>`
}

/** "Sign in to <product>", when the operator gave the product's sign-in page. */
function signInLink(ctx: PageContext): SafeHtml | '' {
  return ctx.signInUrl ? html`<div class="actions"><a class="button button--primary" href="${ctx.signInUrl}">Sign in to ${ctx.productName}</a></div>` : ''
}

function page(status: number, ctx: PageContext, title: string, body: HtmlValue, opts: { wide?: boolean } = {}): RenderedPage {
  return { status, html: layout(ctx, title, body, opts) }
}

function csrfField(form: FormTarget): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${form.csrfToken}">`
}

function groupList(groups: string[]): SafeHtml {
  if (groups.length === 0) return html`<span class="muted">None yet</span>`
  return html`<ul class="chips" role="list">${groups.map((g) => html`<li class="chip">${g}</li>`)}</ul>`
}

// ---------------------------------------------------------------------------------------------
// Live link: welcome, registration, decline

/**
 * The welcome screen: who invited you to what, until when; Accept and Decline. Accept opens the
 * registration form, or, when the product registers its users itself (`handOver`), posts and
 * sends the invitee on to the product's sign-up.
 */
export function renderWelcome(ctx: PageContext, data: { invitee: InviteeDetails; acceptPath: string; declinePath: string; handOver?: FormTarget | null }): RenderedPage {
  const { invitee } = data
  const inviter = invitee.invitedBy
  return page(
    200,
    ctx,
    `Join ${invitee.accountName}`,
    html`
<p class="eyebrow">Invitation</p>
<h1>Join ${invitee.accountName}</h1>
<p class="lead">${inviter ? html`<strong>${inviter}</strong> invited you` : 'You have been invited'} to join <strong>${invitee.accountName}</strong> as <strong>${invitee.email}</strong>.</p>
<dl class="facts">
  <div><dt>Account</dt><dd>${invitee.accountName}</dd></div>
  <div><dt>Invited by</dt><dd>${inviter ?? html`<span class="muted">An administrator of the account</span>`}</dd></div>
  <div><dt>Groups</dt><dd>${groupList(invitee.groups)}</dd></div>
  <div><dt>Valid until</dt><dd><time datetime="${invitee.expiresAt.toISOString()}">${ctx.formatDate(invitee.expiresAt)}</time></dd></div>
</dl>
<div class="actions">
  ${
    data.handOver
      ? html`<form method="post" action="${data.handOver.action}">${csrfField(data.handOver)}<button type="submit" class="button button--primary">Accept invitation</button></form>`
      : html`<form method="get" action="${data.acceptPath}"><button type="submit" class="button button--primary">Accept invitation</button></form>`
  }
  <form method="get" action="${data.declinePath}"><button type="submit" class="button button--secondary">Decline invitation</button></form>
</div>
${data.handOver ? html`<p class="note">Accepting takes you to ${ctx.productName} to create your account there.</p>` : ''}
<p class="note">Not expecting this invitation? Decline it, or simply ignore the email: nothing happens until you choose.</p>
`,
  )
}

function fieldError(id: string, messages: string[] | undefined): SafeHtml | '' {
  if (!messages || messages.length === 0) return ''
  return html`<div class="field-error" id="${id}-error">${messages.length === 1 ? html`<p>${messages[0]}</p>` : html`<ul>${messages.map((m) => html`<li>${m}</li>`)}</ul>`}</div>`
}

function describedBy(...ids: Array<string | false>): string {
  return ids.filter((x): x is string => Boolean(x)).join(' ')
}

const FIELD_LABELS: Record<RegisterField, string> = {
  firstName: 'First name',
  lastName: 'Last name',
  password: 'Password',
  passwordConfirmation: 'Confirm password',
  termsAccepted: 'Terms of Use',
}

/** The check box's name in the error summary: without Terms to accept, it confirms joining. */
function fieldLabel(ctx: PageContext, field: RegisterField): string {
  return field === 'termsAccepted' && !ctx.termsUrl ? 'Confirmation' : FIELD_LABELS[field]
}

const FIELD_ORDER: RegisterField[] = ['firstName', 'lastName', 'password', 'passwordConfirmation', 'termsAccepted']

/**
 * The registration form. With errors it answers 422 and keeps what was typed (except the
 * passwords, which are never echoed into a page).
 */
export function renderRegisterForm(ctx: PageContext, data: RegisterFormData): RenderedPage {
  const { invitee, errors, values } = data
  const failed = FIELD_ORDER.filter((f) => (errors[f]?.length ?? 0) > 0)
  const invalid = (f: RegisterField) => (failed.includes(f) ? 'true' : null)
  // With Terms to read, the box accepts them (the page says the link opens a new tab, so the
  // form is not lost); without, it says what ticking it does rather than name Terms nobody can read.
  const terms = ctx.termsUrl
    ? html`I have read and accept the <a href="${ctx.termsUrl}" target="_blank" rel="noopener noreferrer">Terms of Use</a> (opens in a new tab)`
    : html`I want to join ${invitee.accountName} as ${invitee.email}`
  const input = (name: 'firstName' | 'lastName', autocomplete: string) => html`
  <div class="field${failed.includes(name) ? ' field--invalid' : ''}">
    <label for="${name}">${FIELD_LABELS[name]}</label>
    <input id="${name}" name="${name}" type="text" autocomplete="${autocomplete}" required maxlength="100" value="${values[name]}"${invalid(name) ? raw(' aria-invalid="true"') : ''}${failed.includes(name) ? html` aria-describedby="${name}-error"` : ''}>
    ${fieldError(name, errors[name])}
  </div>`
  return page(
    failed.length > 0 ? 422 : 200,
    ctx,
    failed.length > 0 ? `Check your details · Join ${invitee.accountName}` : `Create your account · Join ${invitee.accountName}`,
    html`
<p class="eyebrow">Join ${invitee.accountName}</p>
<h1>Create your account</h1>
<p class="lead">You are registering as <strong>${invitee.email}</strong>.</p>
${
  failed.length > 0
    ? html`<div class="alert alert--danger" role="alert" aria-labelledby="error-summary-title">
  <h2 id="error-summary-title">Please check ${failed.length === 1 ? 'one field' : `${failed.length} fields`}</h2>
  <ul>${failed.map((f) => html`<li><a href="#${f}">${fieldLabel(ctx, f)}: ${errors[f]?.[0] ?? ''}</a></li>`)}</ul>
</div>`
    : ''
}
<form method="post" action="${data.form.action}" class="form" novalidate>
  ${csrfField(data.form)}
  <div class="field-row">${input('firstName', 'given-name')}${input('lastName', 'family-name')}</div>
  <div class="field${failed.includes('password') ? ' field--invalid' : ''}">
    <label for="password">${FIELD_LABELS.password}</label>
    <p class="hint" id="password-hint">${PASSWORD_RULE_TEXT}</p>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="200" aria-describedby="${describedBy('password-hint', failed.includes('password') && 'password-error')}"${invalid('password') ? raw(' aria-invalid="true"') : ''}>
    ${fieldError('password', errors.password)}
  </div>
  <div class="field${failed.includes('passwordConfirmation') ? ' field--invalid' : ''}">
    <label for="passwordConfirmation">${FIELD_LABELS.passwordConfirmation}</label>
    <input id="passwordConfirmation" name="passwordConfirmation" type="password" autocomplete="new-password" required maxlength="200"${invalid('passwordConfirmation') ? raw(' aria-invalid="true"') : ''}${failed.includes('passwordConfirmation') ? raw(' aria-describedby="passwordConfirmation-error"') : ''}>
    ${fieldError('passwordConfirmation', errors.passwordConfirmation)}
  </div>
  <div class="field field--check${failed.includes('termsAccepted') ? ' field--invalid' : ''}">
    <input id="termsAccepted" name="termsAccepted" type="checkbox" value="yes" required${values.termsAccepted ? raw(' checked') : ''}${invalid('termsAccepted') ? raw(' aria-invalid="true"') : ''}${failed.includes('termsAccepted') ? raw(' aria-describedby="termsAccepted-error"') : ''}>
    <label for="termsAccepted">${terms}</label>
    ${fieldError('termsAccepted', errors.termsAccepted)}
  </div>
  <div class="actions">
    <button type="submit" class="button button--primary">Create account and join</button>
  </div>
</form>
`,
  )
}

/** After a successful registration. */
export function renderAccepted(ctx: PageContext, data: { accountName: string; firstName: string; email: string }): RenderedPage {
  return page(
    200,
    ctx,
    `Welcome to ${data.accountName}`,
    html`
${statusIcon('success')}
<h1>Welcome, ${data.firstName}</h1>
<p class="lead">You are now a member of <strong>${data.accountName}</strong>. Sign in with <strong>${data.email}</strong> and the password you just chose.</p>
${signInLink(ctx)}
<p class="note">This invitation link has now been used and will not work again.</p>
`,
  )
}

/** "Are you sure?" before declining: a GET shows it, only its POST changes anything. */
export function renderDeclineConfirm(ctx: PageContext, data: { invitee: InviteeDetails; form: FormTarget; backPath: string }): RenderedPage {
  return page(
    200,
    ctx,
    `Decline the invitation to ${data.invitee.accountName}?`,
    html`
${statusIcon('warning')}
<h1>Decline this invitation?</h1>
<p class="lead">You will not join <strong>${data.invitee.accountName}</strong>, this link will stop working, and the account's administrators will be told.</p>
<div class="actions">
  <form method="post" action="${data.form.action}">${csrfField(data.form)}<button type="submit" class="button button--danger">Yes, decline the invitation</button></form>
  <form method="get" action="${data.backPath}"><button type="submit" class="button button--secondary">No, go back</button></form>
</div>
`,
  )
}

/** After declining. */
export function renderDeclined(ctx: PageContext, data: { accountName: string }): RenderedPage {
  return page(
    200,
    ctx,
    'Invitation declined',
    html`
${statusIcon('neutral')}
<h1>Invitation declined</h1>
<p class="lead">You declined the invitation to join <strong>${data.accountName}</strong>. We have let its administrators know.</p>
<p class="note">Changed your mind? Ask an administrator of the account to invite you again.</p>
`,
  )
}

// ---------------------------------------------------------------------------------------------
// Links that do not open: one page per state, each with a 4xx status and no names

/** The expired page's "Request a new invitation" form. */
export interface ExpiredExtras {
  requestForm: FormTarget
}

/**
 * The page for a link that does not open. Unknown, malformed and dead links all come here: the
 * router sends every token through the same lookup and this one switch (docs/security.md).
 */
export function renderLinkProblem(ctx: PageContext, code: LinkCode, extras: ExpiredExtras | null): RenderedPage {
  switch (code) {
    case 'link.invalid':
      return page(
        404,
        ctx,
        'Invitation link not found',
        html`
${statusIcon('danger')}
<h1>This invitation link does not work</h1>
<p class="lead">We could not find an invitation for this link. It may have been copied incompletely: try opening the link from the email again.</p>
<p class="note">If it still does not work, ask the person who invited you to send a new invitation.</p>
`,
      )
    case 'link.expired':
      return page(
        410,
        ctx,
        'Invitation expired',
        html`
${statusIcon('warning')}
<h1>This invitation has expired</h1>
<p class="lead">Invitations are valid for a limited time. Reach out to the account administrator for a new invite, or ask for one here: the administrators will be told.</p>
${
  extras
    ? html`<form method="post" action="${extras.requestForm.action}" class="actions">${csrfField(extras.requestForm)}<button type="submit" class="button button--primary">Request a new invitation</button></form>`
    : ''
}
`,
      )
    case 'link.replaced':
      return page(
        410,
        ctx,
        'A newer invitation was sent',
        html`
${statusIcon('neutral')}
<h1>A newer invitation was sent</h1>
<p class="lead">This link was replaced by a newer invitation. Please check your inbox for the latest invitation and use the link in it.</p>
<p class="note">Can't find it? Look in your spam folder, or ask the account administrator to send it again.</p>
`,
      )
    case 'link.accepted':
      return page(
        410,
        ctx,
        'Invitation already accepted',
        html`
${statusIcon('success')}
<h1>This invitation has already been accepted</h1>
<p class="lead">The account was created with this link, so it cannot be used again. If that was you, sign in as usual.</p>
${signInLink(ctx)}
`,
      )
    case 'link.declined':
      return page(
        410,
        ctx,
        'Invitation declined',
        html`
${statusIcon('neutral')}
<h1>This invitation was declined</h1>
<p class="lead">The invitation was declined, so this link no longer works. If you want to join after all, ask the account administrator to invite you again.</p>
`,
      )
    case 'link.revoked':
      return page(
        410,
        ctx,
        'Invitation withdrawn',
        html`
${statusIcon('danger')}
<h1>This invitation was withdrawn</h1>
<p class="lead">An administrator withdrew this invitation, so the link no longer works. If you think this is a mistake, contact the person who invited you.</p>
`,
      )
    default: {
      const unreachable: never = code
      throw new Error(`unhandled link code ${String(unreachable)}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Request a new invitation

/** The request was recorded (or had already been recorded moments ago). */
export function renderNewInvitationRequested(ctx: PageContext): RenderedPage {
  return page(
    200,
    ctx,
    'Request sent',
    html`
${statusIcon('success')}
<h1>Request sent</h1>
<p class="lead">We told the account's administrators that you would like a new invitation. When they send one, it will arrive by email with a fresh link.</p>
`,
  )
}

/** A request was already recorded recently for this link. */
export function renderNewInvitationAlreadyRequested(ctx: PageContext, data: { requestedAt: Date; retryAt: Date }): RenderedPage {
  return page(
    429,
    ctx,
    'Already requested',
    html`
${statusIcon('neutral')}
<h1>You already asked for a new invitation</h1>
<p class="lead">Your request of <time datetime="${data.requestedAt.toISOString()}">${ctx.formatDate(data.requestedAt)}</time> has reached the administrators. You can ask again after <time datetime="${data.retryAt.toISOString()}">${ctx.formatDate(data.retryAt)}</time>.</p>
`,
  )
}

// ---------------------------------------------------------------------------------------------
// Requests the router refuses before they reach the core

/** Why the router refused a request. */
export type RequestProblem =
  | 'rate_limited'
  | 'csrf'
  | 'content_type'
  | 'too_large'
  | 'bad_form'
  | 'not_found'
  | 'server_error'

/** One page per refusal, with its status; none of them echoes the request. */
export function renderRequestProblem(ctx: PageContext, problem: RequestProblem, backPath: string | null): RenderedPage {
  const back = backPath ? html`<p><a class="link" href="${backPath}">Back to the invitation</a></p>` : ''
  switch (problem) {
    case 'rate_limited':
      return page(
        429,
        ctx,
        'Too many attempts',
        html`${statusIcon('warning')}
<h1>Too many attempts</h1>
<p class="lead">We received a lot of requests from your network in a short time. Please wait a few minutes, then open the link from your email again.</p>`,
      )
    case 'csrf':
      return page(
        403,
        ctx,
        'Form expired',
        html`${statusIcon('warning')}
<h1>This form has expired</h1>
<p class="lead">For your safety we could not accept this form: it was sent without the security check we add to our pages, or from another site. Open the invitation again and retry; nothing was changed.</p>
${back}`,
      )
    case 'content_type':
      return page(
        415,
        ctx,
        'Unsupported form',
        html`${statusIcon('danger')}
<h1>We could not read this form</h1>
<p class="lead">The form arrived in a format this page does not accept. Please use the form on the invitation page; nothing was changed.</p>
${back}`,
      )
    case 'too_large':
      return page(
        413,
        ctx,
        'Form too large',
        html`${statusIcon('danger')}
<h1>That was more than we expected</h1>
<p class="lead">The form was too large to accept. Please use shorter values; nothing was changed.</p>
${back}`,
      )
    case 'bad_form':
      return page(
        400,
        ctx,
        'Incomplete form',
        html`${statusIcon('danger')}
<h1>We could not read this form</h1>
<p class="lead">Some of what the form should contain was missing or malformed. Please use the form on the invitation page; nothing was changed.</p>
${back}`,
      )
    case 'not_found':
      return page(
        404,
        ctx,
        'Page not found',
        html`${statusIcon('danger')}
<h1>Page not found</h1>
<p class="lead">There is nothing at this address. Open the link from your invitation email again.</p>`,
      )
    case 'server_error':
      return page(
        500,
        ctx,
        'Something went wrong',
        html`${statusIcon('danger')}
<h1>Something went wrong on our side</h1>
<p class="lead">We could not complete your request and nothing was changed. Please try again in a few minutes.</p>
${back}`,
      )
    default: {
      const unreachable: never = problem
      throw new Error(`unhandled problem ${String(unreachable)}`)
    }
  }
}
