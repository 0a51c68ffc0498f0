import knexFactory from 'knex'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/shared/password.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { capturingLogger, csrfFrom, snapshot, startInviteeApp, WebClient, type RunningApp } from './support.ts'
import { createCsrf, type CsrfAction } from '../../adapters/web/csrf.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { setAccountTimeZone } from '../../src/accounts/set-account-time-zone.ts'

let db: TestDatabase
let deps: TestDeps
let app: RunningApp
let seed: SeededAccount
let web: WebClient
const logger = capturingLogger()

beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

beforeEach(async () => {
  await truncateAll(db.knex)
  logger.lines.length = 0
  deps = makeDeps(db.knex, { logger })
  seed = await seedAccount(deps, { name: 'Acme Corp' })
  app = await startInviteeApp(deps, { lookupLimit: { max: 1000, windowMs: 60_000 } })
  web = new WebClient(app.baseUrl)
})
afterEach(async () => app.close())

const PASSWORD = 'Correct-Horse7'
const quietKnexLog = { warn: () => {}, error: () => {}, deprecate: () => {}, debug: () => {} }
const UNKNOWN_TOKEN = 'A'.repeat(43)

async function invite(email = 'bob@acme.test') {
  return inviteUser(deps, seed, email, { firstName: 'Bob', lastName: 'Stone', groups: ['Engineering'] })
}

/** A valid CSRF field for this client (setting its cookie if needed), as a page would carry. */
function mintCsrf(client: WebClient, action: CsrfAction, token: string): string {
  const csrf = createCsrf(deps.config.inviteSecret, { secure: false })
  if (!client.cookies.has(csrf.cookieName)) client.cookies.set(csrf.cookieName, csrf.newCookieValue())
  return csrf.tokenFor(client.cookies.get(csrf.cookieName)!, action, token)
}

async function userRow(email: string) {
  return db.knex('users').where({ email, account_id: seed.account.id }).first<{ status: string; joined_at: Date | null; password_hash: string | null; first_name: string }>()
}

function expectHardened(res: Response) {
  expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('cache-control')).toBe('no-store')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
}

describe('GET /invitations/:token', () => {
  it('shows the welcome screen with the hardening headers', async () => {
    const { token } = await invite()
    const { res, body } = await web.get(`/invitations/${token}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expectHardened(res)
    expect(body).toContain('<h1>Join Acme Corp</h1>')
    expect(body).toContain('<div><dt>Invited by</dt><dd>Alice Admin</dd></div>')
    expect(body).toContain('<li class="chip">Engineering</li>')
    expect(body).toContain('3 December 2026 at 10:00 UTC')
    expect(body).toContain('Accept invitation')
    expect(body).toContain('Decline invitation')
  })

  it("shows times in the account's time zone, named, on every page with a date", async () => {
    const set = await setAccountTimeZone(deps, { accountId: seed.account.id, actor: { platform: 'cli', platformUserId: 'test', email: null }, timeZone: 'Europe/Berlin' })
    expect(set.ok).toBe(true)
    const { token } = await invite()
    const { body } = await web.get(`/invitations/${token}`)
    expect(body).toContain('3 December 2026 at 11:00 Europe/Berlin')
    // Not a word of UTC on the page (the random link token itself may hold the letters, so it is left out).
    expect(body.replaceAll(token, '')).not.toMatch(/\bUTC\b/)
    // The "already asked" page of an expired link: the request's time and the next one's.
    deps.clock.advance(7 * DAY)
    const csrf = mintCsrf(web, 'request-new', token)
    expect((await web.post(`/invitations/${token}/request-new`, { csrf })).res.status).toBe(200)
    const again = await web.post(`/invitations/${token}/request-new`, { csrf })
    expect(again.res.status).toBe(429)
    expect(again.body).toContain('3 December 2026 at 11:00 Europe/Berlin')
    expect(again.body).toContain('4 December 2026 at 11:00 Europe/Berlin')
  })

  it('never changes state, on any GET route, for any state of link (mail scanners)', async () => {
    const live = await invite('live@acme.test')
    const expiring = await invite('old@acme.test')
    deps.clock.advance(7 * DAY) // both expire
    const fresh = await invite('fresh@acme.test') // valid for 7 more days
    const before = await snapshot(db.knex)
    for (const token of [live.token, expiring.token, fresh.token, UNKNOWN_TOKEN, 'short']) {
      for (const suffix of ['', '/accept', '/decline']) {
        const { res } = await web.get(`/invitations/${token}${suffix}`)
        expect(res.status).toBeLessThan(500)
        const head = await fetch(`${app.baseUrl}/invitations/${token}${suffix}`, { method: 'HEAD' })
        expect(head.status).toBeLessThan(500)
      }
    }
    expect(await snapshot(db.knex)).toBe(before)
  })

  it('unknown, malformed and mangled tokens get one identical 404 page', async () => {
    await invite()
    const pages = await Promise.all(
      [UNKNOWN_TOKEN, 'short', 'x'.repeat(300), '%E0%A4%A', '%3Cscript%3E', 'a.b', `${'B'.repeat(43)}`].map((t) => web.get(`/invitations/${t}`)),
    )
    for (const { res, body } of pages) {
      expect(res.status).toBe(404)
      expectHardened(res)
      expect(body).toContain('This invitation link does not work')
      expect(body).not.toContain('Acme')
    }
    expect(new Set(pages.map((p) => p.body)).size).toBe(1)
  })

  it('serves the stylesheet, cacheable, and a 404 page for other paths', async () => {
    const { body: page } = await web.get(`/invitations/${UNKNOWN_TOKEN}`)
    const href = /<link rel="stylesheet" href="([^"]+)">/.exec(page)?.[1]
    expect(href).toMatch(/^\/invitations\/assets\/invitee\.css\?v=[0-9a-f]{12}$/)
    const css = await web.get(href!)
    expect(css.res.status).toBe(200)
    expect(css.res.headers.get('content-type')).toMatch(/^text\/css/)
    expect(css.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(css.body).toContain(':focus-visible')

    const other = await web.get('/invitations/a/b/c')
    expect(other.res.status).toBe(404)
    expect(other.body).toContain('Page not found')
  })

  it('limits token lookups per IP with a friendly 429 page', async () => {
    await app.close()
    app = await startInviteeApp(deps, { lookupLimit: { max: 3, windowMs: 60_000 } })
    web = new WebClient(app.baseUrl)
    const { token } = await invite()
    for (let i = 0; i < 3; i++) expect((await web.get(`/invitations/${token}`)).res.status).toBe(200)
    const limited = await web.get(`/invitations/${token}`)
    expect(limited.res.status).toBe(429)
    expect(limited.res.headers.get('retry-after')).toBe('60')
    expect(limited.body).toContain('Too many attempts')
    // POSTs are token lookups too.
    expect((await web.post(`/invitations/${token}/decline`, { csrf: 'x' })).res.status).toBe(429)
    // The stylesheet is not.
    expect((await web.get('/invitations/assets/invitee.css')).res.status).toBe(200)
    deps.clock.advance(60_000)
    expect((await web.get(`/invitations/${token}`)).res.status).toBe(200)
    expect((await userRow('bob@acme.test'))?.status).toBe('invited')
  })
})

describe('accept and register', () => {
  it('registers through the form: Active with join date, scrypt hash, success page, link used up', async () => {
    const { token } = await invite()
    const form = await web.get(`/invitations/${token}/accept`)
    expect(form.res.status).toBe(200)
    expect(form.res.headers.getSetCookie().join()).toMatch(/^inviteops_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/)
    expect(form.body).toContain('value="Bob"')
    deps.clock.advance(3_600_000)
    const done = await web.post(`/invitations/${token}/accept`, {
      csrf: csrfFrom(form.body),
      firstName: '  Robert ',
      lastName: 'Stone',
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
      termsAccepted: 'yes',
    })
    expect(done.res.status).toBe(200)
    expectHardened(done.res)
    expect(done.body).toContain('<h1>Welcome, Robert</h1>')
    expect(done.body).toContain('You are now a member of <strong>Acme Corp</strong>')

    const user = await userRow('bob@acme.test')
    expect(user?.status).toBe('active')
    expect(user?.joined_at?.toISOString()).toBe('2026-11-26T11:00:00.000Z')
    expect(user?.first_name).toBe('Robert')
    expect(user?.password_hash).toMatch(/^scrypt\$/)
    expect(await verifyPassword(PASSWORD, user!.password_hash!)).toBe(true)
    expect(await db.knex('account_events').where({ type: 'invitation.accepted', account_id: seed.account.id })).toHaveLength(1)

    const again = await web.get(`/invitations/${token}`)
    expect(again.res.status).toBe(410)
    expect(again.body).toContain('This invitation has already been accepted')
    const before = await snapshot(db.knex)
    const replay = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'X', lastName: 'Y', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(replay.res.status).toBe(410)
    expect(await snapshot(db.knex)).toBe(before)
  })

  it('refuses a weak password, a mismatch, empty names and no Terms tick, next to each field; nothing changes', async () => {
    const { token } = await invite()
    const form = await web.get(`/invitations/${token}/accept`)
    const before = await snapshot(db.knex)
    const { res, body } = await web.post(`/invitations/${token}/accept`, {
      csrf: csrfFrom(form.body),
      firstName: '<script>alert(1)</script>',
      lastName: '   ',
      password: 'short',
      passwordConfirmation: 'other',
    })
    expect(res.status).toBe(422)
    expect(body).toContain('Please check 4 fields')
    expect(body).toContain('<div class="field-error" id="lastName-error"><p>Enter your last name.</p></div>')
    for (const m of ['Use at least 8 characters.', 'Add an upper-case letter.', 'Add a digit (0–9).', 'Add a special character, such as ! ? # or %.']) {
      expect(body).toContain(`<li>${m}</li>`)
    }
    expect(body).not.toContain('<li>Add a lower-case letter.</li>')
    expect(body).toContain('The two passwords do not match.')
    expect(body).toContain('Tick the box to confirm that you want to join.')
    expect(body).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"')
    expect(body).not.toContain('<script>')
    expect(body).not.toContain('value="short"')
    expect(await snapshot(db.knex)).toBe(before)

    // The re-rendered form carries a working CSRF token: fixing the fields registers.
    const fixed = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(body), firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(fixed.res.status).toBe(200)
  })
})

describe('decline', () => {
  it('asks for confirmation, then declines: link dead, audit entry and an event for the administrators', async () => {
    const { token } = await invite()
    const confirm = await web.get(`/invitations/${token}/decline`)
    expect(confirm.res.status).toBe(200)
    expect(confirm.body).toContain('Decline this invitation?')
    expect((await userRow('bob@acme.test'))?.status).toBe('invited')

    const done = await web.post(`/invitations/${token}/decline`, { csrf: csrfFrom(confirm.body) })
    expect(done.res.status).toBe(200)
    expect(done.body).toContain('You declined the invitation to join <strong>Acme Corp</strong>')
    expect((await userRow('bob@acme.test'))?.status).toBe('declined')
    const audit = await db.knex('audit_log').where({ action: 'invitation.decline', target_email: 'bob@acme.test' })
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ ok: true, actor_platform: 'web', account_id: seed.account.id })
    const events = await db.knex('account_events').where({ type: 'invitation.declined', account_id: seed.account.id })
    expect(events).toHaveLength(1)
    expect(events[0].payload).toMatchObject({ email: 'bob@acme.test' })

    const after = await web.get(`/invitations/${token}`)
    expect(after.res.status).toBe(410)
    expect(after.body).toContain('This invitation was declined')
  })
})

describe('links that do not open', () => {
  it('expired: 410 and "Request a new invitation" records one request for the administrators, rate-limited', async () => {
    const { token } = await invite()
    deps.clock.advance(7 * DAY)
    const page = await web.get(`/invitations/${token}`)
    expect(page.res.status).toBe(410)
    expect(page.body).toContain('This invitation has expired')
    expect(page.body).not.toContain('Acme')
    expect(page.body).toContain(`action="/invitations/${token}/request-new"`)

    const asked = await web.post(`/invitations/${token}/request-new`, { csrf: csrfFrom(page.body) })
    expect(asked.res.status).toBe(200)
    expect(asked.body).toContain('Request sent')
    expect(await db.knex('invitation_requests')).toHaveLength(1)
    const events = await db.knex('account_events').where({ type: 'invitation.new_requested' })
    expect(events).toHaveLength(1)
    expect(events[0].payload).toMatchObject({ email: 'bob@acme.test', firstName: 'Bob' })
    expect(await db.knex('audit_log').where({ action: 'invitation.new_requested', ok: true })).toHaveLength(1)
    expect(await db.knex('email_outbox').where({ to_email: 'bob@acme.test' })).toHaveLength(1) // only the original invitation

    const again = await web.post(`/invitations/${token}/request-new`, { csrf: csrfFrom(page.body) })
    expect(again.res.status).toBe(429)
    expect(again.body).toContain('You already asked for a new invitation')
    expect(await db.knex('invitation_requests')).toHaveLength(1)
    expect(await db.knex('audit_log').where({ action: 'invitation.new_requested', ok: false, result_code: 'request.too_soon' })).toHaveLength(1)

    deps.clock.advance(DAY)
    expect((await web.post(`/invitations/${token}/request-new`, { csrf: csrfFrom(page.body) })).res.status).toBe(200)
    expect(await db.knex('invitation_requests')).toHaveLength(2)
  })

  it('request-new on a link that still works records nothing and goes to the welcome screen', async () => {
    const { token } = await invite()
    const res = await web.post(`/invitations/${token}/request-new`, { csrf: mintCsrf(web, 'request-new', token) })
    expect(res.res.status).toBe(303)
    expect(res.res.headers.get('location')).toBe(`/invitations/${token}`)
    expect(await db.knex('invitation_requests')).toHaveLength(0)
  })

  it('replaced by a newer link: 410 "check your inbox"; the new link opens', async () => {
    const first = await invite()
    deps.clock.advance(7 * DAY)
    const regenerated = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@acme.test' })
    expect(regenerated.ok).toBe(true)
    const old = await web.get(`/invitations/${first.token}`)
    expect(old.res.status).toBe(410)
    expect(old.body).toContain('check your inbox for the latest invitation')
    expect(old.body).not.toContain('<form method="post"')
    // Even a well-formed request-new on the replaced link records nothing: the replaced page.
    const asked = await web.post(`/invitations/${first.token}/request-new`, { csrf: mintCsrf(web, 'request-new', first.token) })
    expect(asked.res.status).toBe(410)
    expect(asked.body).toContain('check your inbox for the latest invitation')
    expect(await db.knex('invitation_requests')).toHaveLength(0)
    const fresh = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@acme.test' })
    if (!fresh.ok) throw new Error(fresh.code)
    expect((await web.get(new URL(fresh.value.url).pathname)).res.status).toBe(200)
  })

  it('removed (revoked): 410 "withdrawn"', async () => {
    const { token } = await invite()
    const removed = await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@acme.test' })
    expect(removed.ok).toBe(true)
    const page = await web.get(`/invitations/${token}`)
    expect(page.res.status).toBe(410)
    expect(page.body).toContain('This invitation was withdrawn')
  })

  it('a dead link refuses POSTs with its page and changes nothing', async () => {
    const { token } = await invite()
    const form = await web.get(`/invitations/${token}/accept`)
    const confirm = await web.get(`/invitations/${token}/decline`)
    deps.clock.advance(7 * DAY)
    const before = await snapshot(db.knex)
    const accept = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'B', lastName: 'S', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(accept.res.status).toBe(410)
    expect(accept.body).toContain('This invitation has expired')
    const decline = await web.post(`/invitations/${token}/decline`, { csrf: csrfFrom(confirm.body) })
    expect(decline.res.status).toBe(410)
    expect(await snapshot(db.knex)).toBe(before)
  })
})

describe('malformed and hostile input: a clear 4xx page, nothing changes', () => {
  let token: string
  let declineCsrf: string
  let acceptCsrf: string
  let before: string
  const validAccept = () => ({ csrf: acceptCsrf, firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })

  beforeEach(async () => {
    token = (await invite()).token
    declineCsrf = csrfFrom((await web.get(`/invitations/${token}/decline`)).body)
    acceptCsrf = csrfFrom((await web.get(`/invitations/${token}/accept`)).body)
    before = await snapshot(db.knex)
  })
  afterEach(async () => {
    expect(await snapshot(db.knex)).toBe(before)
    expect((await userRow('bob@acme.test'))?.status).toBe('invited')
  })

  it('missing CSRF field → 403', async () => {
    const { res, body } = await web.post(`/invitations/${token}/decline`, {})
    expect(res.status).toBe(403)
    expectHardened(res)
    expect(body).toContain('This form has expired')
  })

  it('missing CSRF cookie (a forged cross-site form) → 403', async () => {
    web.cookies.clear()
    expect((await web.post(`/invitations/${token}/decline`, { csrf: declineCsrf })).res.status).toBe(403)
  })

  it('CSRF token of another action, another link or another browser → 403', async () => {
    expect((await web.post(`/invitations/${token}/decline`, { csrf: acceptCsrf })).res.status).toBe(403)
    const other = await invite('other@acme.test')
    before = await snapshot(db.knex)
    expect((await web.post(`/invitations/${other.token}/decline`, { csrf: declineCsrf })).res.status).toBe(403)
    const stranger = new WebClient(app.baseUrl)
    await stranger.get(`/invitations/${token}/decline`)
    expect((await stranger.post(`/invitations/${token}/decline`, { csrf: declineCsrf })).res.status).toBe(403)
  })

  it('a browser-marked cross-site POST → 403 even with a valid token', async () => {
    expect((await web.post(`/invitations/${token}/decline`, { csrf: declineCsrf }, { headers: { 'sec-fetch-site': 'cross-site' } })).res.status).toBe(403)
  })

  it('wrong content type → 415', async () => {
    for (const [type, body] of [
      ['application/json', JSON.stringify({ csrf: declineCsrf })],
      ['text/plain', `csrf=${declineCsrf}`],
      ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n${declineCsrf}\r\n--x--\r\n`],
      [null, `csrf=${declineCsrf}`],
    ] as const) {
      const { res, body: page } = await web.post(`/invitations/${token}/decline`, body, { contentType: type })
      expect(res.status).toBe(415)
      expect(page).toContain('We could not read this form')
    }
  })

  it('oversized body → 413; too many fields → 413; an oversized or repeated field → 400', async () => {
    const huge = await web.post(`/invitations/${token}/accept`, { ...validAccept(), firstName: 'x'.repeat(20_000) })
    expect(huge.res.status).toBe(413)
    expect(huge.body).toContain('That was more than we expected')
    const many = new URLSearchParams(validAccept())
    for (let i = 0; i < 30; i++) many.append(`f${i}`, 'x')
    expect((await web.post(`/invitations/${token}/accept`, many)).res.status).toBe(413)
    const long = await web.post(`/invitations/${token}/accept`, { ...validAccept(), lastName: 'y'.repeat(1_001) })
    expect(long.res.status).toBe(400)
    expect(long.body).toContain('We could not read this form')
    const repeated = new URLSearchParams(validAccept())
    repeated.append('firstName', 'Mallory')
    expect((await web.post(`/invitations/${token}/accept`, repeated)).res.status).toBe(400)
  })

  it('a field the core finds too long is worded next to it (422)', async () => {
    const { res, body } = await web.post(`/invitations/${token}/accept`, { ...validAccept(), firstName: 'z'.repeat(101) })
    expect(res.status).toBe(422)
    expect(body).toContain('Use at most 100 characters.')
  })

  it('bad tokens on POST: no form was ever served for them (403), absurd ones are invalid links (404)', async () => {
    for (const bad of [UNKNOWN_TOKEN, 'short']) {
      const { res, body } = await web.post(`/invitations/${bad}/decline`, { csrf: declineCsrf })
      expect(res.status).toBe(403)
      expect(body).not.toContain('Acme')
    }
    for (const bad of ['x'.repeat(300), '%E0%A4%A']) {
      const { res, body } = await web.post(`/invitations/${bad}/decline`, { csrf: declineCsrf })
      expect(res.status).toBe(404)
      expect(body).toContain('This invitation link does not work')
    }
    // Even with a CSRF token that verifies, unknown and malformed tokens reach the core and get
    // the invalid-link page from it.
    for (const bad of [UNKNOWN_TOKEN, 'short', 'a.b']) {
      for (const action of ['accept', 'decline', 'request-new'] as const) {
        const form = action === 'accept' ? { ...validAccept(), csrf: mintCsrf(web, action, bad) } : { csrf: mintCsrf(web, action, bad) }
        const { res, body } = await web.post(`/invitations/${bad}/${action}`, form)
        expect(res.status).toBe(404)
        expect(body).toContain('This invitation link does not work')
      }
    }
  })

  it('broken url-encoding in the CSRF field → 403', async () => {
    const { res } = await web.post(`/invitations/${token}/decline`, 'csrf=%E0%A4%A')
    expect(res.status).toBe(403)
  })
})

describe('logs and other routes', () => {
  it('a failing database gives a 500 page, and no log line holds the token', async () => {
    const { token } = await invite()
    const broken = knexFactory({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:9/none', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2_000, log: quietKnexLog })
    await app.close()
    app = await startInviteeApp({ ...deps, db: broken })
    web = new WebClient(app.baseUrl)
    const { res, body } = await web.get(`/invitations/${token}`)
    expect(res.status).toBe(500)
    expectHardened(res)
    expect(body).toContain('Something went wrong on our side')
    await broken.destroy()
    // Refusals log too: a CSRF failure.
    await web.post(`/invitations/${token}/decline`, { csrf: 'nope' })
    const own = logger.lines.filter((l) => l.includes('"component":"invitee-web"'))
    expect(own.map((l) => JSON.parse(l).path)).toEqual(['/invitations/[redacted]', '/invitations/[redacted]/decline'])
    expect(own.join('\n')).not.toContain(token)
  })

  it('the HTTP request log (src/server/http.ts) never holds the token either', async () => {
    const { token } = await invite()
    await web.get(`/invitations/${token}`)
    await web.get(`/invitations/${token}/accept`)
    await web.post(`/invitations/${token}/decline`, { csrf: 'nope' })
    const requestLines = logger.lines.filter((l) => l.includes('"msg":"http request"'))
    expect(requestLines).toHaveLength(3)
    expect(requestLines.join('\n')).not.toContain(token)
  })

  it('leaves other routes alone: no headers, no body parsing', async () => {
    const res = await fetch(`${app.baseUrl}/raw-echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=%20' })
    expect(await res.text()).toBe('a=1&b=%20')
    expect(res.headers.get('content-security-policy')).toBeNull()
  })
})
