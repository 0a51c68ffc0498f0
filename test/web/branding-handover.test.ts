import { afterEach, describe, expect, it } from 'vitest'
import type { Branding } from '../../src/deps.ts'
import { redeemHandOverCode } from '../../src/handover/redeem.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { csrfFrom, snapshot, startInviteeApp, WebClient, type RunningApp } from './support.ts'

/**
 * The invitee's pages through the real HTTP route with the branding variables set, and with
 * ACCEPT_REDIRECT_URL set (the hand-over to the product's own sign-up).
 */

let db: TestDatabase
let seed: SeededAccount
let base: TestDeps
let app: RunningApp | undefined
useSeededDatabase((t) => ({ db, seed, deps: base } = t))
afterEach(async () => {
  await app?.close()
  app = undefined
})

const PASSWORD = 'Correct-Horse7'
const BRANDING: Branding = {
  productName: 'Acme Cloud',
  termsUrl: 'https://acme.example/terms',
  privacyUrl: 'https://acme.example/privacy',
  supportEmail: 'help@acme.example',
  signInUrl: 'https://app.acme.example/login',
}

/** The app on the seeded database with `config` over the test defaults. */
async function serve(config: Partial<TestDeps['config']>): Promise<{ deps: TestDeps; web: WebClient }> {
  const deps = makeDeps(db.knex, { config: { ...config }, now: base.clock.now().toISOString() })
  app = await startInviteeApp(deps, { lookupLimit: { max: 1000, windowMs: 60_000 } })
  return { deps, web: new WebClient(app.baseUrl) }
}

async function invite(deps: TestDeps, email = 'bob@x.test') {
  return inviteUser(deps, seed, email, { firstName: 'Bob', lastName: 'Stone', groups: ['Engineering'] })
}

describe('branding', () => {
  it("unset: today's words, no footer links, the box confirms joining without naming Terms", async () => {
    const { deps, web } = await serve({})
    const { token } = await invite(deps)
    const welcome = await web.get(`/invitations/${token}`)
    expect(welcome.body).toContain('<title>Join ' + seed.account.name + ' · InviteOps</title>')
    expect(welcome.body).not.toContain('footer-links')
    const form = await web.get(`/invitations/${token}/accept`)
    expect(form.body).toContain(`<label for="termsAccepted">I want to join ${seed.account.name} as bob@x.test</label>`)
    expect(form.body).not.toContain('Terms of Use')
    const done = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(done.res.status).toBe(200)
    expect(done.body).not.toContain('Sign in to')
  })

  it('set: product name in title and header, support and privacy in the footer, Terms linked in a new tab, sign-in after registering', async () => {
    const { deps, web } = await serve({ branding: BRANDING })
    const { token } = await invite(deps)
    const welcome = await web.get(`/invitations/${token}`)
    expect(welcome.body).toContain(`<title>Join ${seed.account.name} · Acme Cloud</title>`)
    expect(welcome.body).toContain('<span>Acme Cloud</span></span></header>')
    expect(welcome.body).toContain('<p class="footer-links">Questions? Write to <a href="mailto:help@acme.example">help@acme.example</a>. <a href="https://acme.example/privacy">Privacy notice</a></p>')
    expect(welcome.body).not.toContain('InviteOps')

    const form = await web.get(`/invitations/${token}/accept`)
    expect(form.body).toContain('I have read and accept the <a href="https://acme.example/terms" target="_blank" rel="noopener noreferrer">Terms of Use</a> (opens in a new tab)')

    // No tick: the message names the Terms.
    const refused = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD })
    expect(refused.res.status).toBe(422)
    expect(refused.body).toContain('Tick the box to accept the Terms of Use.')

    const done = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(refused.body), firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(done.res.status).toBe(200)
    expect(done.body).toContain('<a class="button button--primary" href="https://app.acme.example/login">Sign in to Acme Cloud</a>')
    // The used link's page offers it too (and still names no account).
    const used = await web.get(`/invitations/${token}`)
    expect(used.res.status).toBe(410)
    expect(used.body).toContain('Sign in to Acme Cloud')
    expect(used.body).not.toContain(seed.account.name)
  })

  it('hostile branding values are text, never markup', async () => {
    const hostile: Branding = {
      productName: '<script>alert(1)</script> & "Co"',
      termsUrl: 'https://acme.example/terms?a=1&b="><script>x</script>',
      privacyUrl: 'https://acme.example/p"onmouseover="alert(1)',
      supportEmail: 'help@acme.example',
      signInUrl: "https://acme.example/login?next='><img src=x>",
    }
    const { deps, web } = await serve({ branding: hostile })
    const { token } = await invite(deps)
    const form = await web.get(`/invitations/${token}/accept`)
    const welcome = await web.get(`/invitations/${token}`)
    for (const body of [form.body, welcome.body]) {
      expect(body).not.toContain('<script>')
      expect(body).not.toContain('"onmouseover=')
    }
    expect(welcome.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;')
    expect(form.body).toContain('href="https://acme.example/terms?a=1&amp;b=&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
    const done = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'Bob', lastName: 'Stone', password: PASSWORD, passwordConfirmation: PASSWORD, termsAccepted: 'yes' })
    expect(done.body).toContain('href="https://acme.example/login?next=&#39;&gt;&lt;img src=x&gt;"')
    expect(done.body).not.toContain('<img')
  })
})

describe('hand-over to the product sign-up (ACCEPT_REDIRECT_URL)', () => {
  const SIGNUP = 'https://app.acme.example/signup?plan=team'

  it('Accept posts, answers 303 to the sign-up with a code (its query kept); the invitation stays pending until the product redeems', async () => {
    const { deps, web } = await serve({ acceptRedirectUrl: SIGNUP, branding: BRANDING })
    const { token } = await invite(deps)
    const welcome = await web.get(`/invitations/${token}`)
    expect(welcome.res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://app.acme.example; frame-ancestors 'none'; base-uri 'none'")
    expect(welcome.body).toContain(`<form method="post" action="/invitations/${token}/accept"><input type="hidden" name="csrf"`)
    expect(welcome.body).toContain('Accepting takes you to Acme Cloud to create your account there.')

    const accepted = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(welcome.body) })
    expect(accepted.res.status).toBe(303)
    const location = new URL(accepted.res.headers.get('location')!)
    expect(location.origin + location.pathname).toBe('https://app.acme.example/signup')
    expect(location.searchParams.get('plan')).toBe('team')
    const code = location.searchParams.get('code')!
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // The link's own secret never goes to the product.
    expect(location.toString()).not.toContain(token)
    expect(await db.knex('users').where({ email: 'bob@x.test' }).first('status')).toEqual({ status: 'invited' })

    const { createApiKey } = await import('../../src/api-keys/api-keys.ts')
    const apiKey = await createApiKey(deps, { accountId: seed.account.id, label: 'test', operator: 'test' })
    if (!apiKey.ok) throw new Error(apiKey.code)
    const redeemed = await redeemHandOverCode(deps, { accountId: seed.account.id, code, actor: { platform: 'api', platformUserId: 'test', email: null, apiKeyId: apiKey.value.apiKey.id } })
    expect(redeemed.ok).toBe(true)
    expect((await web.get(`/invitations/${token}`)).res.status).toBe(410)
  })

  it('there is no registration form: GET accept goes back to the welcome screen', async () => {
    const { deps, web } = await serve({ acceptRedirectUrl: SIGNUP })
    const { token } = await invite(deps)
    const res = await web.get(`/invitations/${token}/accept`)
    expect(res.res.status).toBe(303)
    expect(res.res.headers.get('location')).toBe(`/invitations/${token}`)
  })

  it('without a valid CSRF field nothing is issued', async () => {
    const { deps, web } = await serve({ acceptRedirectUrl: SIGNUP })
    const { token } = await invite(deps)
    await web.get(`/invitations/${token}`)
    const before = await snapshot(db.knex)
    const refused = await web.post(`/invitations/${token}/accept`, { csrf: 'forged' })
    expect(refused.res.status).toBe(403)
    const crossSite = await web.post(`/invitations/${token}/accept`, { csrf: 'x' }, { headers: { 'sec-fetch-site': 'cross-site' } })
    expect(crossSite.res.status).toBe(403)
    expect(await snapshot(db.knex)).toBe(before)
    expect(await db.knex('handover_codes').select()).toEqual([])
  })

  it('a dead link gets its page, not a code', async () => {
    const { deps, web } = await serve({ acceptRedirectUrl: SIGNUP })
    const { token } = await invite(deps)
    const welcome = await web.get(`/invitations/${token}`)
    deps.clock.advance(8 * 86_400_000)
    const res = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(welcome.body) })
    expect(res.res.status).toBe(410)
    expect(res.body).toContain('This invitation has expired')
    expect(await db.knex('handover_codes').select()).toEqual([])
  })

  it('other pages keep form-action to ourselves', async () => {
    const { deps, web } = await serve({ acceptRedirectUrl: SIGNUP })
    const { token } = await invite(deps)
    const decline = await web.get(`/invitations/${token}/decline`)
    expect(decline.res.headers.get('content-security-policy')).toContain("form-action 'self';")
  })
})
