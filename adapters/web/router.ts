import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import { z } from 'zod'
import { brandingOf, type Deps } from '../../src/deps.ts'
import { issueHandOverCode } from '../../src/handover/issue.ts'
import type { LinkCode } from '../../src/invitations/codes.ts'
import { acceptInvitation, type RegistrationField, type RegistrationFieldError } from '../../src/invitations/accept-invitation.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { openInvitationLink, type InviteeView } from '../../src/invitations/open-invitation-link.ts'
import { requestNewInvitation } from '../../src/invitations/request-new-invitation.ts'
import { redactRequestPath } from '../../src/invitations/links.ts'
import { UTC } from '../../src/shared/dates.ts'
import { createCsrf, readCookie, type CsrfAction } from './csrf.ts'
import {
  dateFormatter,
  ICON_SVG,
  renderAccepted,
  renderDeclineConfirm,
  renderDeclined,
  renderLinkProblem,
  renderNewInvitationAlreadyRequested,
  renderNewInvitationRequested,
  renderRegisterForm,
  renderRequestProblem,
  renderWelcome,
  type FieldMessages,
  type InviteeDetails,
  type PageContext,
  type RenderedPage,
  type RequestProblem,
} from './pages.ts'
import { createRateLimiter, type RateLimitOptions } from './rate-limit.ts'


/** Where the invitee's pages live (docs/operations.md: `GET /invitations/<token>`). */
export const INVITEE_BASE_PATH = '/invitations'

export interface InviteeRouterOptions {
  /** Product name in page headers. Default: the configured branding (PRODUCT_NAME, else `InviteOps`). */
  productName?: string
  /** Terms of Use URL linked from the registration form. Default: the configured TERMS_URL. */
  termsUrl?: string | null
  /** Per-IP limit on requests that look up a token. Default 60 per minute. */
  lookupLimit?: RateLimitOptions
  /** Largest form body accepted, in bytes. Default 16 kB (the forms are a few short fields). */
  maxBodyBytes?: number
  /** `Secure` + `__Host-` CSRF cookie. Default: whether PUBLIC_BASE_URL is https. */
  secureCookies?: boolean
}

// Every byte from outside goes through zod (docs/architecture.md). The token's own shape is checked by the
// core, so unknown and malformed tokens take one path; here only an absurd length is cut short.
const TokenParam = z.string().min(1).max(256)
// Field bounds are structural (anything longer is not a person typing into this form); the
// business rules (required, ≤100 characters, the password rule) are the core's, worded below.
const FormText = z.string().max(1_000)
const CsrfForm = z.object({ csrf: z.string().min(1).max(200) })
const AcceptForm = z.object({
  csrf: z.string(),
  firstName: FormText,
  lastName: FormText,
  password: FormText,
  passwordConfirmation: FormText,
  // An unticked checkbox is simply absent from the form.
  termsAccepted: z.enum(['yes', 'on']).optional(),
})
// What body-parser puts on its errors (`type`, `status`): read through zod, never cast.
const HttpErrorShape = z.object({ type: z.string().optional(), status: z.number().optional(), statusCode: z.number().optional() })

/** The pages' CSP; `formTargets` are the origins a form may end up at beyond our own. */
function contentSecurityPolicy(formTargets: string[] = []): string {
  // No script at all; styles and images only from us; forms only post back to us (and, for the
  // hand-over, follow our redirect to the product's sign-up: browsers check form-action on each
  // redirect of a submission); never framed.
  return `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${["'self'", ...formTargets].join(' ')}; frame-ancestors 'none'; base-uri 'none'`
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': contentSecurityPolicy(),
  // The token is in the URL: never send it to another site (the Terms link, a logo host…).
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Pages depend on the link's state and carry CSRF tokens: no cache may keep them.
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
  'X-Robots-Tag': 'noindex, nofollow',
}

/**
 * The invitee's pages, as an express 5 router to mount at `/` (it answers only under
 * `/invitations`, so its middleware never touches other routes such as Bolt's raw bodies):
 *
 *  - `GET  /invitations/:token`              welcome screen, or the page of the link's state
 *  - `GET  /invitations/:token/accept`       registration form
 *  - `POST /invitations/:token/accept`       register (accept)
 *  - `GET  /invitations/:token/decline`      "Decline this invitation?"
 *  - `POST /invitations/:token/decline`      decline
 *  - `POST /invitations/:token/request-new`  expired link: ask the administrators for a new one
 *  - `GET  /invitations/assets/invitee.css`  the stylesheet (and `assets/icon.svg`, the page icon)
 *
 * Every GET is read-only (mail scanners and link previews open links). Every POST checks the
 * content type, parses its own bounded body, verifies CSRF and zod-parses the form before the
 * core sees anything; a refusal is a friendly 4xx page and changes nothing.
 */
export function createInviteeRouter(deps: Deps, opts: InviteeRouterOptions = {}): Router {
  const css = readFileSync(new URL('./invitee.css', import.meta.url))
  const cssVersion = createHash('sha256').update(css).digest('hex').slice(0, 12)
  // Dates are shown in the account's time zone (the page cannot know the invitee's): one
  // formatter per zone, built on first use.
  const formatters = new Map<string, (d: Date) => string>()
  const formatDateIn = (timeZone: string) => {
    let f = formatters.get(timeZone)
    if (!f) formatters.set(timeZone, (f = dateFormatter(timeZone)))
    return f
  }
  const csrf = createCsrf(deps.config.inviteSecret, { secure: opts.secureCookies ?? deps.config.publicBaseUrl.startsWith('https:') })
  const lookupLimit = opts.lookupLimit ?? { max: 60, windowMs: 60_000 }
  const limiter = createRateLimiter(deps.clock, lookupLimit)
  const logger = deps.logger.child({ component: 'invitee-web' })
  const branding = brandingOf(deps.config)
  const termsUrl = opts.termsUrl !== undefined ? opts.termsUrl : branding.termsUrl
  // With ACCEPT_REDIRECT_URL, Accept hands the invitee over to the product's own sign-up.
  const handOverUrl = deps.config.acceptRedirectUrl ?? null
  const welcomeCsp = handOverUrl ? contentSecurityPolicy([new URL(handOverUrl).origin]) : null

  const ctx = (req: Request, timeZone: string = UTC): PageContext => ({
    productName: opts.productName ?? branding.productName,
    stylesheetHref: `${req.baseUrl}/assets/invitee.css?v=${cssVersion}`,
    iconHref: `${req.baseUrl}/assets/icon.svg`,
    formatDate: formatDateIn(timeZone),
    termsUrl,
    privacyUrl: branding.privacyUrl,
    supportEmail: branding.supportEmail,
    signInUrl: branding.signInUrl,
  })
  const send = (res: Response, page: RenderedPage) => {
    res.status(page.status).type('html').send(page.html)
  }
  const linkPath = (req: Request, token: string, suffix = '') => `${req.baseUrl}/${encodeURIComponent(token)}${suffix}`
  const problem = (req: Request, res: Response, kind: RequestProblem, token: string | null) => {
    if (kind === 'rate_limited') res.set('Retry-After', String(Math.ceil(lookupLimit.windowMs / 1000)))
    send(res, renderRequestProblem(ctx(req), kind, token ? linkPath(req, token) : null))
  }

  /** This browser's CSRF cookie value, minting (and setting) one when it has none. */
  const csrfCookie = (req: Request, res: Response): string => {
    const existing = readCookie(req.headers.cookie, csrf.cookieName)
    if (csrf.isWellFormedCookie(existing)) return existing
    const fresh = csrf.newCookieValue()
    res.append('Set-Cookie', csrf.setCookieHeader(fresh))
    return fresh
  }
  const formFor = (req: Request, res: Response, token: string, action: CsrfAction) => ({
    action: linkPath(req, token, `/${action}`),
    csrfToken: csrf.tokenFor(csrfCookie(req, res), action, token),
  })

  /** The page of a link that does not open; the expired one offers "Request a new invitation". */
  const sendLinkProblem = (req: Request, res: Response, token: string, code: LinkCode) => {
    const extras = code === 'link.expired' ? { requestForm: formFor(req, res, token, 'request-new') } : null
    send(res, renderLinkProblem(ctx(req), code, extras))
  }

  /** Rate limit, then the token param (an absurd one is simply an invalid link). */
  const tokenOf = (req: Request, res: Response): string | null => {
    if (!limiter.hit(req.ip ?? 'unknown')) {
      problem(req, res, 'rate_limited', null)
      return null
    }
    const parsed = TokenParam.safeParse(req.params.token)
    if (!parsed.success) {
      send(res, renderLinkProblem(ctx(req), 'link.invalid', null))
      return null
    }
    return parsed.data
  }

  const bodyParser = express.urlencoded({ extended: false, limit: opts.maxBodyBytes ?? 16 * 1024, parameterLimit: 20 })

  /**
   * POST guard: rate limit, token, content type, bounded body, then CSRF for `action`. Calls the
   * handler only when all pass; otherwise answers with the matching 4xx page.
   */
  const guardedPost =
    (action: CsrfAction, handler: (req: Request, res: Response, token: string) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => {
      const token = tokenOf(req, res)
      if (token === null) return
      if (!req.is('application/x-www-form-urlencoded')) {
        problem(req, res, 'content_type', token)
        return
      }
      bodyParser(req, res, (err?: unknown) => {
        if (err) {
          next(err)
          return
        }
        const form = CsrfForm.safeParse(req.body)
        const cookie = readCookie(req.headers.cookie, csrf.cookieName)
        // A browser sends Sec-Fetch-Site; a form posted from another site is refused outright.
        const crossSite = req.headers['sec-fetch-site'] === 'cross-site'
        if (crossSite || !form.success || !csrf.verify(cookie, form.data.csrf, action, token)) {
          logger.info({ path: redactRequestPath(req.originalUrl), crossSite }, 'invitee form refused: CSRF check failed')
          problem(req, res, 'csrf', token)
          return
        }
        handler(req, res, token).catch(next)
      })
    }

  const inner = express.Router()
  inner.use((_req, res, next) => {
    res.set(SECURITY_HEADERS)
    next()
  })

  inner.get('/assets/invitee.css', (req, res) => {
    // The stylesheet holds no secret: it may be cached, keyed by its content hash.
    res.set('Cache-Control', req.query.v === cssVersion ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
    res.set('ETag', `"${cssVersion}"`)
    res.type('text/css').send(css)
  })

  inner.get('/assets/icon.svg', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400')
    res.type('image/svg+xml').send(ICON_SVG)
  })

  inner.get('/:token', async (req, res) => {
    const token = tokenOf(req, res)
    if (token === null) return
    const link = await openInvitationLink(deps, { token })
    if (!link.ok) return sendLinkProblem(req, res, token, link.code)
    if (welcomeCsp) res.set('Content-Security-Policy', welcomeCsp)
    send(
      res,
      renderWelcome(ctx(req, link.value.timeZone), {
        invitee: details(link.value),
        acceptPath: linkPath(req, token, '/accept'),
        declinePath: linkPath(req, token, '/decline'),
        handOver: handOverUrl ? formFor(req, res, token, 'accept') : null,
      }),
    )
  })

  inner.get('/:token/accept', async (req, res) => {
    const token = tokenOf(req, res)
    if (token === null) return
    const link = await openInvitationLink(deps, { token })
    if (!link.ok) return sendLinkProblem(req, res, token, link.code)
    // The product registers its users: there is no form here, Accept on the welcome screen is it.
    if (handOverUrl) return res.redirect(303, linkPath(req, token))
    const invitee = details(link.value)
    send(
      res,
      renderRegisterForm(ctx(req, link.value.timeZone), {
        invitee,
        form: formFor(req, res, token, 'accept'),
        // Prefill the names the administrator typed; the invitee may correct them.
        values: { firstName: invitee.firstName, lastName: invitee.lastName, termsAccepted: false },
        errors: {},
      }),
    )
  })

  inner.post(
    '/:token/accept',
    guardedPost('accept', async (req, res, token) => {
      if (handOverUrl) {
        // A one-time code for the product's sign-up; the invitation stays pending until the
        // product redeems it. The token stays here: Referrer-Policy no-referrer, and the product
        // gets only the code.
        const issued = await issueHandOverCode(deps, { token })
        if (!issued.ok) return sendLinkProblem(req, res, token, issued.code)
        return res.redirect(303, issued.value.redirectTo)
      }
      const form = AcceptForm.safeParse(req.body)
      if (!form.success) return problem(req, res, 'bad_form', token)
      const f = form.data
      const termsAccepted = f.termsAccepted !== undefined
      const result = await acceptInvitation(deps, {
        token,
        firstName: f.firstName,
        lastName: f.lastName,
        password: f.password,
        passwordConfirmation: f.passwordConfirmation,
        termsAccepted,
      })
      if (result.ok) return send(res, renderAccepted(ctx(req), { accountName: result.value.accountName, firstName: f.firstName.trim(), email: result.value.email }))
      if (result.code !== 'registration.invalid') return sendLinkProblem(req, res, token, result.code)
      // Show the form again with messages next to the fields; the link may have died meanwhile.
      const link = await openInvitationLink(deps, { token })
      if (!link.ok) return sendLinkProblem(req, res, token, link.code)
      send(
        res,
        renderRegisterForm(ctx(req, link.value.timeZone), {
          invitee: details(link.value),
          form: formFor(req, res, token, 'accept'),
          values: { firstName: f.firstName, lastName: f.lastName, termsAccepted },
          errors: fieldMessages(result.fields, { termsUrl }),
        }),
      )
    }),
  )

  inner.get('/:token/decline', async (req, res) => {
    const token = tokenOf(req, res)
    if (token === null) return
    const link = await openInvitationLink(deps, { token })
    if (!link.ok) return sendLinkProblem(req, res, token, link.code)
    send(res, renderDeclineConfirm(ctx(req, link.value.timeZone), { invitee: details(link.value), form: formFor(req, res, token, 'decline'), backPath: linkPath(req, token) }))
  })

  inner.post(
    '/:token/decline',
    guardedPost('decline', async (req, res, token) => {
      const result = await declineInvitation(deps, { token })
      if (!result.ok) return sendLinkProblem(req, res, token, result.code)
      send(res, renderDeclined(ctx(req), { accountName: result.value.accountName }))
    }),
  )

  inner.post(
    '/:token/request-new',
    guardedPost('request-new', async (req, res, token) => {
      const result = await requestNewInvitation(deps, { token })
      if (result.ok) return send(res, renderNewInvitationRequested(ctx(req)))
      switch (result.code) {
        case 'request.too_soon':
          return send(res, renderNewInvitationAlreadyRequested(ctx(req, result.timeZone), { requestedAt: result.requestedAt, retryAt: result.retryAt }))
        case 'request.link_still_valid':
          // Nothing to ask for: the link still works, so show its welcome screen.
          return res.redirect(303, linkPath(req, token))
        case 'link.invalid':
        case 'link.expired':
        case 'link.replaced':
        case 'link.accepted':
        case 'link.declined':
        case 'link.revoked':
          return sendLinkProblem(req, res, token, result.code)
        default: {
          const unreachable: never = result
          throw new Error(`unhandled request-new result ${JSON.stringify(unreachable)}`)
        }
      }
    }),
  )

  inner.use((req, res) => problem(req, res, 'not_found', null))

  // Errors from the body parser (too large, malformed encoding), from decoding the path, and
  // outages from the core. The page never echoes the request; a 5xx is logged without the URL's
  // secret and without the error message of a 4xx (a decode error quotes the raw path segment).
  inner.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err)
    // A token with broken percent-encoding is a malformed link: the same page as an unknown one.
    if (err instanceof URIError) {
      res.set(SECURITY_HEADERS)
      return send(res, renderLinkProblem(ctx(req), 'link.invalid', null))
    }
    const shape = HttpErrorShape.safeParse(err)
    const type = shape.success ? shape.data.type : undefined
    const status = shape.success ? (shape.data.status ?? shape.data.statusCode) : undefined
    const kind: RequestProblem =
      type === 'entity.too.large' || type === 'parameters.too.many'
        ? 'too_large'
        : type === 'charset.unsupported' || type === 'encoding.unsupported'
          ? 'content_type'
          : status !== undefined && status >= 400 && status < 500
            ? 'bad_form'
            : 'server_error'
    if (kind === 'server_error') {
      logger.error({ path: redactRequestPath(req.originalUrl), err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'invitee page failed')
    } else {
      logger.info({ path: redactRequestPath(req.originalUrl), kind, type }, 'invitee request refused')
    }
    // Headers were set before the failure; set them again in case the error came first.
    res.set(SECURITY_HEADERS)
    send(res, renderRequestProblem(ctx(req), kind, null))
  })

  const outer = express.Router()
  outer.use(INVITEE_BASE_PATH, inner)
  return outer
}

function details(view: InviteeView): InviteeDetails {
  return {
    accountName: view.accountName,
    invitedBy: view.invitedBy,
    groups: view.groups,
    expiresAt: view.expiresAt,
    email: view.email,
    firstName: view.firstName,
    lastName: view.lastName,
  }
}

/**
 * The core's field codes in the page's words: one exhaustive switch (docs/architecture.md).
 * `page.termsUrl` says whether the check box accepts Terms or only confirms joining.
 */
export function fieldMessage(field: RegistrationField, code: RegistrationFieldError, page: { termsUrl: string | null } = { termsUrl: null }): string {
  switch (code) {
    case 'required':
      return field === 'firstName' ? 'Enter your first name.' : field === 'lastName' ? 'Enter your last name.' : 'This field is required.'
    case 'too_long':
      return field === 'password' ? 'Use at most 200 characters.' : 'Use at most 100 characters.'
    case 'line_break':
      return field === 'firstName' ? 'Enter your first name on one line.' : 'Enter your last name on one line.'
    case 'control_characters':
      return `Remove the invisible control characters from your ${field === 'firstName' ? 'first' : 'last'} name.`
    case 'password_too_short':
      return 'Use at least 8 characters.'
    case 'password_needs_lower':
      return 'Add a lower-case letter.'
    case 'password_needs_upper':
      return 'Add an upper-case letter.'
    case 'password_needs_digit':
      return 'Add a digit (0–9).'
    case 'password_needs_special':
      return 'Add a special character, such as ! ? # or %.'
    case 'password_space_not_special':
      return 'Add a special character, such as ! ? # or % (a space does not count).'
    case 'password_mismatch':
      return 'The two passwords do not match.'
    case 'terms_required':
      return page.termsUrl ? 'Tick the box to accept the Terms of Use.' : 'Tick the box to confirm that you want to join.'
    default: {
      const unreachable: never = code
      throw new Error(`unhandled field error ${String(unreachable)}`)
    }
  }
}

function fieldMessages(fields: Partial<Record<RegistrationField, RegistrationFieldError[]>>, page: { termsUrl: string | null }): FieldMessages {
  const out: FieldMessages = {}
  for (const field of ['firstName', 'lastName', 'password', 'passwordConfirmation', 'termsAccepted'] as const) {
    const codes = fields[field]
    if (codes && codes.length > 0) out[field] = codes.map((c) => fieldMessage(field, c, page))
  }
  return out
}
