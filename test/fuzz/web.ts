/**
 * The invitee's pages: `POST /invitations/<token>/{accept,decline,request-new}` after a GET of
 * the page (which sets the CSRF cookie and carries the form's token), plus GETs and HEADs of any
 * path, with links in every state, unknown and mangled tokens, broken CSRF, wrong content types
 * and mangled form bodies.
 *
 * Whether an input must change nothing is decided by construction: every GET and HEAD (mail
 * scanners open links), a link that is not live (or, for "request a new invitation", not
 * expired), a CSRF field we broke on purpose, a body that is no form, and a registration whose
 * fields the core's own rules refuse (checked only on bodies whose parsing leaves no doubt).
 */
import fc from 'fast-check'
import { createCsrf, type CsrfAction } from '../../adapters/web/csrf.ts'
import { registrationErrors } from '../../src/invitations/accept-invitation.ts'
import { WebClient } from '../web/support.ts'
import { encodePathSegment, excerpt, nastyString, rarely } from './mutate.ts'
import type { Family, Prepared } from './shared.ts'
import { TOKEN_STATES, type TokenState, type World } from './world.ts'

type TokenRecipe = { state: TokenState | 'fresh'; index: number } | { junk: string; encode: boolean } | { unknown: true }
type Csrf = 'valid' | 'missing' | 'junk' | 'otherAction' | 'otherToken' | 'noCookie' | 'otherCookie' | 'crossSite'
type Mangle = 'none' | 'truncate' | 'duplicate' | 'percent' | 'huge' | 'manyParams' | 'raw' | 'brackets'

export interface WebRecipe {
  method: 'GET' | 'HEAD' | 'POST'
  token: TokenRecipe
  route: string
  csrf: Csrf
  contentType: string | null
  fields: { firstName: string; lastName: string; password: string; confirmation: { same: true } | { other: string }; terms: string | null }
  extra: [string, string][]
  mangle: Mangle
  cut: number
  raw: string
}

const ROUTES = ['accept', 'decline', 'request-new'] as const
const FORM = 'application/x-www-form-urlencoded'

const validPasswordArb = fc.stringMatching(/^[A-Z][a-z]{3,12}[0-9]{1,3}[!?#%-][a-z]{0,4}$/)
const passwordArb = fc.oneof(
  { weight: 2, arbitrary: validPasswordArb },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.string({ minLength: 8, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 190, max: 1_100 }).map((n) => `Aa1!${'x'.repeat(n)}`) },
)
const nameArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('Bob', 'Ann-Marie', "O'Neil", 'Zoë', '李', 'Bob  Stone') }, { weight: 3, arbitrary: nastyString }, { weight: 1, arbitrary: fc.integer({ min: 90, max: 1_100 }).map((n) => 'n'.repeat(n)) })

function fieldsArb(confirm: fc.Arbitrary<{ same: true } | { other: string }>, terms: fc.Arbitrary<string | null>) {
  return fc.record({ firstName: nameArb, lastName: nameArb, password: passwordArb, confirmation: confirm, terms })
}
const anyConfirm = fc.oneof({ weight: 4, arbitrary: fc.constant({ same: true as const }) }, { weight: 1, arbitrary: nastyString.map((other) => ({ other })) })
const anyTerms = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('yes', 'on') }, { weight: 1, arbitrary: fc.option(nastyString, { nil: null }) })

const tokenArb: fc.Arbitrary<TokenRecipe> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ state: fc.constantFrom(...TOKEN_STATES), index: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ junk: fc.oneof(nastyString, fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.stringMatching(/^[A-Za-z0-9_%.-]{1,300}$/)), encode: rarely(5).map((b) => !b) }) },
  { weight: 1, arbitrary: fc.constant({ unknown: true as const }) },
)

const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant(FORM) },
  { weight: 1, arbitrary: fc.constantFrom(`${FORM}; charset=utf-8`, `${FORM}; charset=iso-8859-1`, `${FORM}; charset=koi8-r`, 'application/json', 'multipart/form-data; boundary=x', 'text/plain', 'APPLICATION/X-WWW-FORM-URLENCODED') },
  { weight: 1, arbitrary: fc.constant(null) },
)

function recipeArb(parts: { method: fc.Arbitrary<WebRecipe['method']>; token: fc.Arbitrary<TokenRecipe>; csrf: fc.Arbitrary<Csrf>; fields: ReturnType<typeof fieldsArb>; mangle: fc.Arbitrary<Mangle> }): fc.Arbitrary<WebRecipe> {
  return fc.record({
    method: parts.method,
    token: parts.token,
    route: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...ROUTES) }, { weight: 1, arbitrary: fc.constantFrom('', 'accept/x', 'assets/invitee.css', '..', 'ACCEPT', 'Decline/', 'request-new/') }, { weight: 1, arbitrary: nastyString.map(encodePathSegment) }),
    csrf: parts.csrf,
    contentType: contentTypeArb,
    fields: parts.fields,
    extra: fc.array(fc.tuple(nastyString, nastyString), { maxLength: 2 }),
    mangle: parts.mangle,
    cut: fc.nat(400),
    raw: nastyString,
  })
}

const mangleArb = fc.oneof({ weight: 10, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('truncate' as const, 'duplicate' as const, 'percent' as const, 'huge' as const, 'manyParams' as const, 'raw' as const, 'brackets' as const) })
const BROKEN_CSRF: Csrf[] = ['missing', 'junk', 'otherAction', 'otherToken', 'noCookie', 'otherCookie', 'crossSite']

export const inviteePages: Family<WebRecipe> = {
  name: 'invitee pages',
  refused: fc.oneof(
    // Reads of any link and any path.
    { weight: 2, arbitrary: recipeArb({ method: fc.constantFrom('GET' as const, 'HEAD' as const), token: tokenArb, csrf: fc.constant('valid' as const), fields: fieldsArb(anyConfirm, anyTerms), mangle: mangleArb }) },
    // Posts with a broken CSRF check, on any link.
    { weight: 3, arbitrary: recipeArb({ method: fc.constant('POST' as const), token: tokenArb, csrf: fc.constantFrom(...BROKEN_CSRF), fields: fieldsArb(anyConfirm, anyTerms), mangle: mangleArb }) },
    // Posts with a valid CSRF on links that are not live (or unknown): refused by the link's state.
    { weight: 3, arbitrary: recipeArb({ method: fc.constant('POST' as const), token: tokenArb, csrf: fc.constant('valid' as const), fields: fieldsArb(anyConfirm, anyTerms), mangle: mangleArb }) },
    // Registrations the core's rules refuse: passwords that do not match, or the terms not accepted.
    { weight: 2, arbitrary: recipeArb({ method: fc.constant('POST' as const), token: fc.constant({ state: 'fresh' as const, index: 0 }), csrf: fc.constant('valid' as const), fields: fieldsArb(fc.oneof(anyConfirm, nastyString.map((other) => ({ other }))), fc.option(fc.constantFrom('no', 'true', '1', 'YES'), { nil: null })), mangle: fc.constant('none' as const) }) },
  ),
  mayChange: recipeArb({
    method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST' as const) }, { weight: 1, arbitrary: fc.constant('GET' as const) }),
    token: fc.oneof({ weight: 3, arbitrary: fc.constant({ state: 'fresh' as const, index: 0 }) }, { weight: 2, arbitrary: tokenArb }),
    csrf: fc.oneof({ weight: 8, arbitrary: fc.constant('valid' as const) }, { weight: 1, arbitrary: fc.constantFrom(...BROKEN_CSRF) }),
    fields: fieldsArb(anyConfirm, anyTerms),
    mangle: mangleArb,
  }),
  async prepare(r, world) {
    const fresh = 'state' in r.token && r.token.state === 'fresh'
    const token = fresh ? await world.freshToken() : tokenOf(r.token, world)
    const state: TokenState | null = fresh ? 'live' : (TOKEN_STATES.find((s) => world.tokens[s].includes(token)) ?? null)
    const segment = 'junk' in r.token && !r.token.encode ? token : encodePathSegment(token)
    const path = `/invitations/${segment}${r.route === '' ? '' : `/${r.route}`}`
    const password = r.fields.password
    const form: [string, string][] = [
      ['firstName', r.fields.firstName],
      ['lastName', r.fields.lastName],
      ['password', password],
      ['passwordConfirmation', 'same' in r.fields.confirmation ? password : r.fields.confirmation.other],
      ...(r.fields.terms === null ? [] : [['termsAccepted', r.fields.terms] as [string, string]]),
      ...r.extra,
    ]
    return {
      setupWrote: fresh,
      refusedBecause: refusal(r, state, form),
      describe: `${r.method} ${path} csrf=${r.csrf} content-type=${r.contentType ?? '(none)'} mangle=${r.mangle} form=${excerpt(JSON.stringify(form), 300)}`,
      send: () => sendWeb(world, r, token, segment, path, form),
    } satisfies Prepared
  },
}

function tokenOf(t: TokenRecipe, world: World): string {
  if ('unknown' in t) return 'A'.repeat(43)
  if ('junk' in t) return t.junk
  if (t.state === 'fresh') throw new Error('fresh tokens are made by prepare')
  const all = world.tokens[t.state]
  return all[t.index % all.length]!
}

/** The form a route names, matched as express matches it (case-insensitive, a trailing slash allowed). */
function formOf(route: string): (typeof ROUTES)[number] | undefined {
  return ROUTES.find((x) => x === route.toLowerCase().replace(/\/$/, ''))
}

function refusal(r: WebRecipe, state: TokenState | null, form: [string, string][]): string | null {
  if (r.method !== 'POST') return `${r.method} is read-only`
  const action = formOf(r.route)
  if (!action) return 'no such form'
  if (state === null) return 'unknown link'
  if (action === 'request-new' && state !== 'expired') return state === 'live' ? 'link still valid' : `link ${state}`
  if (action !== 'request-new' && state !== 'live') return `link ${state}`
  if (r.csrf !== 'valid') return `CSRF (${r.csrf})`
  if (r.contentType === null || r.contentType.split(';')[0]!.trim().toLowerCase() !== FORM) return 'not a form'
  if (action !== 'accept') return null
  // Only a body parsed without doubt: as built, UTF-8, each field once, no bracket keys.
  const utf8 = r.contentType === FORM || r.contentType === `${FORM}; charset=utf-8`
  const keys = form.map(([k]) => k)
  if (r.mangle !== 'none' || !utf8 || new Set(keys).size !== keys.length || keys.some((k) => /[[\]]/.test(k))) return null
  const parsed = new URLSearchParams(new URLSearchParams(form).toString())
  const field = (k: string) => parsed.get(k)
  const firstName = field('firstName')
  const lastName = field('lastName')
  const password = field('password')
  const passwordConfirmation = field('passwordConfirmation')
  if (firstName === null || lastName === null || password === null || passwordConfirmation === null) return 'a field is missing'
  if ([firstName, lastName, password, passwordConfirmation].some((v) => v.length > 1_000)) return 'a field is too long for the form'
  const terms = field('termsAccepted')
  if (terms !== null && terms !== 'yes' && terms !== 'on') return 'termsAccepted is not a checkbox value'
  const errors = registrationErrors({ token: '', firstName, lastName, password, passwordConfirmation, termsAccepted: terms !== null })
  const bad = Object.keys(errors)
  return bad.length > 0 ? `registration refused (${bad.join(', ')})` : null
}

function mangled(r: WebRecipe, form: [string, string][]): string {
  const body = new URLSearchParams(form).toString()
  switch (r.mangle) {
    case 'none':
      return body
    case 'truncate':
      return body.slice(0, r.cut % (body.length + 1))
    case 'duplicate':
      return `${body}&${new URLSearchParams(form.slice(0, 3)).toString()}`
    case 'percent':
      return `${body.slice(0, r.cut % (body.length + 1))}%E0%A4%A%zz%${body.slice(r.cut % (body.length + 1))}`
    case 'huge':
      return `${body}&firstName=${'a'.repeat(20_000)}`
    case 'manyParams':
      return `${body}&${Array.from({ length: 25 }, (_, i) => `p${i}=${i}`).join('&')}`
    case 'raw':
      return r.raw
    case 'brackets':
      return `${body}&firstName[x]=1&__proto__[admin]=1&csrf[]=a`
  }
}

async function sendWeb(world: World, r: WebRecipe, token: string, segment: string, path: string, form: [string, string][]): Promise<number> {
  const client = new WebClient(world.webBase)
  if (r.method === 'HEAD') return (await fetch(world.webBase + path, { method: 'HEAD', redirect: 'manual' })).status
  // The page first, as a browser would: it sets the CSRF cookie and carries the form's token.
  const action = formOf(r.route)
  // "Request a new invitation" is a form on the expired link's own page.
  const page = await client.get(action === 'request-new' ? `/invitations/${segment}` : path)
  if (r.method === 'GET') return page.res.status
  const csrf = createCsrf(world.slack.deps.config.inviteSecret, { secure: false })
  if (!client.cookies.has(csrf.cookieName)) client.cookies.set(csrf.cookieName, csrf.newCookieValue())
  const cookie = client.cookies.get(csrf.cookieName)!
  const actionFor = (action ?? 'accept') as CsrfAction
  const pageToken = csrfOnPage(page.body, action)
  const field: string | null = (() => {
    switch (r.csrf) {
      case 'valid':
      case 'noCookie':
      case 'otherCookie':
      case 'crossSite':
        return pageToken ?? csrf.tokenFor(cookie, actionFor, token)
      case 'missing':
        return null
      case 'junk':
        return r.raw
      case 'otherAction':
        return csrf.tokenFor(cookie, actionFor === 'accept' ? 'decline' : 'accept', token)
      case 'otherToken':
        return csrf.tokenFor(cookie, actionFor, `${token}x`)
    }
  })()
  if (r.csrf === 'noCookie') client.cookies.delete(csrf.cookieName)
  if (r.csrf === 'otherCookie') client.cookies.set(csrf.cookieName, csrf.newCookieValue())
  const withCsrf: [string, string][] = field === null ? form : [['csrf', field], ...form]
  const res = await client.post(path, mangled(r, withCsrf), { contentType: r.contentType, headers: r.csrf === 'crossSite' ? { 'sec-fetch-site': 'cross-site' } : {} })
  return res.res.status
}

/** The CSRF field of the page's form for `action`, when the page has that form. */
function csrfOnPage(html: string, action: string | undefined): string | null {
  if (!action) return null
  for (const m of html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const csrf = /name="csrf" value="([^"]+)"/.exec(m[2] ?? '')
    if (m[1]?.endsWith(`/${action}`) && csrf?.[1]) return csrf[1]
  }
  return null
}
