/**
 * Branding and the hand-over to the product's sign-up, in real Chromium with JavaScript off: the
 * invitee's pages say the product's name and link its Terms, privacy notice and sign-in page;
 * with ACCEPT_REDIRECT_URL, Accept lands on the product's own page (a small HTTP server here, on
 * another origin) carrying a one-time code, which the product's server redeems through
 * `POST /api/v1/invitations/redeem` with its API key, as a product backend does.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest'
import { createApiRouter } from '../../adapters/api/router.ts'
import { createApiKey } from '../../src/api-keys/api-keys.ts'
import { createHttpApp } from '../../src/server/http.ts'
import { escapeHtml } from '../../src/shared/html.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { startInviteeApp, type RunningApp } from '../web/support.ts'
import { launchChromium } from './browser.ts'

const PASSWORD = 'Correct-Horse7'

let db: TestDatabase
let browser: Browser | undefined
let product: { server: Server; base: string; redeemed: Array<{ code: string; outcome: string }> }
let seed: SeededAccount
let app: RunningApp | undefined
/** InviteOps's API, and the product's key for it. */
let api: { server: Server; base: string } | undefined
let apiKey: string
let context: BrowserContext
let page: Page
let pageProblems: string[] = []
let deps: TestDeps

/**
 * The product: /signup redeems the code it was given on its server side, through InviteOps's API
 * with its key, and says who signed up or why not; /terms and /login are its pages.
 */
function startProduct(): Promise<typeof product> {
  const redeemed: Array<{ code: string; outcome: string }> = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://product.local')
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Cloud</title></head><body>${body}</body></html>`)
    }
    if (url.pathname === '/terms') return send(200, '<h1>Acme Cloud Terms of Use</h1>')
    if (url.pathname === '/login') return send(200, '<h1>Acme Cloud sign-in</h1>')
    if (url.pathname !== '/signup') return send(404, '<h1>Not found</h1>')
    const code = url.searchParams.get('code') ?? ''
    fetch(`${api!.base}/api/v1/invitations/redeem`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (r) => {
        const body = (await r.json()) as { email: string; account_name: string; groups: string[] } | { code: string }
        redeemed.push({ code, outcome: r.ok ? 'ok' : `${r.status} ${'code' in body ? body.code : ''}` })
        if (r.ok && 'email' in body) send(200, `<h1>Create your Acme Cloud account</h1><p id="who">${escapeHtml(body.email)} · ${escapeHtml(body.account_name)} · ${escapeHtml(body.groups.join(', '))}</p>`)
        else send(409, `<h1>This sign-up link cannot be used</h1><p id="why">${escapeHtml('code' in body ? body.code : 'unknown')}</p>`)
      })
      .catch(() => send(500, '<h1>error</h1>'))
  })
  server.listen(0, '127.0.0.1')
  return once(server, 'listening').then(() => ({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, redeemed }))
}

beforeAll(async () => {
  db = await createTestDatabase()
  browser = await launchChromium()
  product = await startProduct()
})

afterAll(async () => {
  await browser?.close()
  product?.server.closeAllConnections()
  await new Promise((resolve) => product?.server.close(resolve))
  await db?.close()
})

/** The invitee app with `config`, and a fresh browser context watching for CSP violations. */
async function open(config: Partial<TestDeps['config']>): Promise<void> {
  deps = makeDeps(db.knex, { config })
  seed = await seedAccount(deps, { name: 'Northwind Traders' })
  app = await startInviteeApp(deps)
  const { app: apiApp } = createHttpApp({ db: deps.db, logger: deps.logger, registry: new Registry(), mounts: [{ path: '/', router: createApiRouter(deps, { rateLimitPerMinute: 1000 }) }] })
  const apiServer = apiApp.listen(0, '127.0.0.1')
  await once(apiServer, 'listening')
  api = { server: apiServer, base: `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}` }
  const key = await createApiKey(deps, { accountId: seed.account.id, label: 'acme-backend', operator: 'test' })
  if (!key.ok) throw new Error(key.code)
  apiKey = key.value.key
  context = await browser!.newContext({ javaScriptEnabled: false, baseURL: app.baseUrl })
  page = await context.newPage()
  context.on('page', (p) =>
    p.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageProblems.push(m.text())
    }),
  )
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageProblems.push(m.text())
  })
}

beforeEach(async () => {
  await truncateAll(db.knex)
  product.redeemed.length = 0
  pageProblems = []
})

afterEach(async () => {
  await context?.close()
  await app?.close()
  app = undefined
  api?.server.closeAllConnections()
  await new Promise((resolve) => (api ? api.server.close(resolve) : resolve(undefined)))
  api = undefined
  // A CSP violation is a console error: without the sign-up's origin in the welcome page's
  // form-action, Chromium blocks the redirect after Accept and says so here.
  expect(pageProblems).toEqual([])
})

async function invite(): Promise<string> {
  const { token } = await inviteUser(deps, seed, 'dana@northwind.test', { firstName: 'Dana', lastName: 'Scully', groups: ['Engineering'] })
  return `/invitations/${token}`
}

function branding() {
  return {
    productName: 'Acme Cloud',
    termsUrl: `${product.base}/terms`,
    privacyUrl: `${product.base}/privacy`,
    supportEmail: 'help@acme.example',
    signInUrl: `${product.base}/login`,
  }
}

test('the branded page: name, footer, Terms in a new tab, and Sign in to the product after registering', async () => {
  await open({ branding: branding() })
  const link = await invite()
  await page.goto(link)
  await expect(page.title()).resolves.toBe('Join Northwind Traders · Acme Cloud')
  await expect(page.locator('.site-header').textContent()).resolves.toContain('Acme Cloud')
  await expect(page.getByRole('link', { name: 'help@acme.example' }).getAttribute('href')).resolves.toBe('mailto:help@acme.example')
  await expect(page.getByRole('link', { name: 'Privacy notice' }).getAttribute('href')).resolves.toBe(`${product.base}/privacy`)

  await page.getByRole('button', { name: 'Accept invitation' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Create your account')
  const terms = page.getByRole('link', { name: 'Terms of Use' })
  // The page says the link opens a new tab, and it does: the form stays as it was.
  await expect(page.locator('label[for="termsAccepted"]').textContent()).resolves.toBe('I have read and accept the Terms of Use (opens in a new tab)')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  const [termsTab] = await Promise.all([context.waitForEvent('page'), terms.click()])
  await termsTab.waitForLoadState()
  expect(termsTab.url()).toBe(`${product.base}/terms`)
  await expect(termsTab.locator('h1').textContent()).resolves.toBe('Acme Cloud Terms of Use')
  await termsTab.close()
  await expect(page.getByLabel('Password', { exact: true }).inputValue()).resolves.toBe(PASSWORD)

  await page.getByLabel('Confirm password').fill(PASSWORD)
  await page.getByLabel(/^I have read and accept the Terms of Use/).check()
  await page.getByRole('button', { name: 'Create account and join' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Dana')
  await page.getByRole('link', { name: 'Sign in to Acme Cloud' }).click()
  expect(page.url()).toBe(`${product.base}/login`)
  await expect(page.locator('h1').textContent()).resolves.toBe('Acme Cloud sign-in')
  expect((await db.knex('users').where({ email: 'dana@northwind.test' }).first('status'))?.status).toBe('active')
})

test('hand-over: Accept lands on the product sign-up with a code; its server redeems it once; the invitation is accepted', async () => {
  await open({ acceptRedirectUrl: `${product.base}/signup?plan=team`, branding: branding() })
  const link = await invite()
  await page.goto(link)
  await expect(page.locator('.note').first().textContent()).resolves.toBe('Accepting takes you to Acme Cloud to create your account there.')
  await page.getByRole('button', { name: 'Accept invitation' }).click()

  // On the product's own origin, with the code and the query it configured.
  const landed = new URL(page.url())
  expect(landed.origin).toBe(product.base)
  expect(landed.pathname).toBe('/signup')
  expect(landed.searchParams.get('plan')).toBe('team')
  const code = landed.searchParams.get('code')!
  expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
  await expect(page.locator('h1').textContent()).resolves.toBe('Create your Acme Cloud account')
  await expect(page.locator('#who').textContent()).resolves.toBe('dana@northwind.test · Northwind Traders · Engineering')
  const user = await db.knex('users').where({ email: 'dana@northwind.test' }).first<{ status: string; password_hash: string | null }>('status', 'password_hash')
  expect(user).toEqual({ status: 'active', password_hash: null })
  expect(await db.knex('invitations').select('state')).toEqual([{ state: 'accepted' }])

  // The same code a second time: refused.
  const again = await page.goto(landed.toString())
  expect(again?.status()).toBe(409)
  await expect(page.locator('#why').textContent()).resolves.toBe('handover.used')
  expect(product.redeemed.map((r) => r.outcome)).toEqual(['ok', '409 handover.used'])
  // Audited as the product's key.
  expect(await db.knex('audit_log').where({ action: 'invitation.redeem' }).orderBy('id').select('actor_platform', 'actor_platform_id', 'ok')).toEqual([
    { actor_platform: 'api', actor_platform_id: 'acme-backend', ok: true },
    { actor_platform: 'api', actor_platform_id: 'acme-backend', ok: false },
  ])

  // And the invitation link is spent.
  const spent = await page.goto(link)
  expect(spent?.status()).toBe(410)
  await expect(page.locator('h1').textContent()).resolves.toBe('This invitation has already been accepted')
})

test('without ACCEPT_REDIRECT_URL, Accept still opens the registration form', async () => {
  await open({ branding: branding() })
  await page.goto(await invite())
  await page.getByRole('button', { name: 'Accept invitation' }).click()
  expect(new URL(page.url()).pathname).toMatch(/\/accept$/)
  await expect(page.locator('h1').textContent()).resolves.toBe('Create your account')
  expect(product.redeemed).toEqual([])
})
