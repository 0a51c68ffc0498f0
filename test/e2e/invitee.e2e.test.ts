/**
 * The invitee's page in real Chromium, with JavaScript disabled in the page:
 * everything must work as plain HTML forms. Each test walks what an invitee does, then checks
 * the database. The suite prints how many browser tests ran and passed.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { verifyPassword } from '../../src/shared/password.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { startInviteeApp, type RunningApp } from '../web/support.ts'
import { chromiumProblem, launchChromium } from './browser.ts'

const PASSWORD = 'Correct-Horse7'

// Runs inside the page (Playwright's isolated world); the project compiles without the DOM lib.
declare const getComputedStyle: (el: unknown) => { backgroundColor: string; outlineStyle: string; outlineWidth: string }

let db: TestDatabase
let browser: Browser | undefined
let deps: TestDeps
let seed: SeededAccount
let app: RunningApp
let context: BrowserContext
let page: Page
/** Console errors (a CSP violation is one) and failed subresources (stylesheet, icon) of the test. */
let pageProblems: string[] = []
const tally = { defined: 0, passed: 0 }

/** A browser test: counted, so the suite can print how many ran and passed. */
function browserTest(name: string, fn: () => Promise<void>) {
  tally.defined += 1
  test(name, async () => {
    await fn()
    expect(pageProblems).toEqual([])
    tally.passed += 1
  })
}

beforeAll(async () => {
  db = await createTestDatabase()
  browser = await launchChromium() // throws "Run `apt-get install -y chromium`" when missing
})

afterAll(async () => {
  await browser?.close()
  await db?.close()
  console.log(`browser tests (Chromium ${browser?.version() ?? 'not started'}): ${tally.passed} of ${tally.defined} passed`)
})

beforeEach(async () => {
  await truncateAll(db.knex)
  deps = makeDeps(db.knex)
  seed = await seedAccount(deps, { name: 'Northwind Traders' })
  app = await startInviteeApp(deps)
  // JavaScript off: the pages must work as plain HTML. Every page is checked for CSP violations.
  context = await browser!.newContext({ javaScriptEnabled: false, baseURL: app.baseUrl })
  page = await context.newPage()
  pageProblems = []
  page.on('console', (m) => {
    // Chromium logs every 4xx document as "Failed to load resource"; those statuses are
    // asserted by the tests, and failed subresources are caught below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageProblems.push(m.text())
  })
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) pageProblems.push(`${r.status()} ${r.url()}`)
  })
  page.on('requestfailed', (r) => {
    // A click that navigates before the page's icon has loaded makes Chromium cancel that
    // request (net::ERR_ABORTED): the test moved on, the asset is not broken. A missing asset
    // is a 404 (caught above); any other failure (refused, reset) is a problem.
    const reason = r.failure()?.errorText ?? 'unknown'
    if (reason !== 'net::ERR_ABORTED') pageProblems.push(`failed ${r.url()} (${reason})`)
  })
})

afterEach(async () => {
  await context.close()
  await app.close()
})

async function invite(email = 'dana@northwind.test') {
  const { token } = await inviteUser(deps, seed, email, { firstName: 'Dana', lastName: 'Scully', groups: ['Engineering'] })
  return `/invitations/${token}`
}

async function userStatus(email = 'dana@northwind.test') {
  return db.knex('users').where({ email }).first<{ status: string; joined_at: Date | null; password_hash: string | null; first_name: string }>()
}

async function focusedId(): Promise<string> {
  // Read through the accessibility-neutral DOM API from Playwright's isolated world (works with
  // page JavaScript disabled).
  return page.locator(':focus').evaluate((el) => el.id || el.textContent?.trim() || el.tagName)
}

test('Chromium is installed (apt-get install -y chromium)', () => {
  expect(chromiumProblem()).toBeNull()
})

browserTest('accept and register end to end', async () => {
  const link = await invite()
  const welcome = await page.goto(link)
  expect(welcome?.status()).toBe(200)
  await expect(page.locator('h1').textContent()).resolves.toBe('Join Northwind Traders')
  await expect(page.locator('.facts').textContent()).resolves.toContain('Engineering')
  await expect(page.locator('.facts').textContent()).resolves.toContain('3 December 2026 at 10:00 UTC')
  // The stylesheet loaded (CSP allows it): the primary button is painted in the brand colour.
  await expect(page.getByRole('button', { name: 'Accept invitation' }).evaluate((el) => getComputedStyle(el).backgroundColor)).resolves.toBe('rgb(51, 70, 211)')
  // So did the icon (no 404 for /favicon.ico: the page names its own).
  await expect(page.locator('link[rel="icon"]').getAttribute('href')).resolves.toMatch(/^\/invitations\/assets\/icon\.svg/)

  await page.getByRole('button', { name: 'Accept invitation' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Create your account')
  await expect(page.getByLabel('First name').inputValue()).resolves.toBe('Dana')
  await page.getByLabel('First name').fill('Dana K.')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByLabel('Confirm password').fill(PASSWORD)
  await page.getByLabel(/^I want to join Northwind Traders as /).check()
  await page.getByRole('button', { name: 'Create account and join' }).click()

  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Dana K.')
  const user = await userStatus()
  expect(user?.status).toBe('active')
  expect(user?.joined_at?.toISOString()).toBe('2026-11-26T10:00:00.000Z')
  expect(await verifyPassword(PASSWORD, user!.password_hash!)).toBe(true)

  // The link cannot be used again.
  const again = await page.goto(link)
  expect(again?.status()).toBe(410)
  await expect(page.locator('h1').textContent()).resolves.toBe('This invitation has already been accepted')
})

browserTest('password rule errors are shown next to the fields, and what was typed is kept', async () => {
  const link = await invite()
  await page.goto(`${link}/accept`)
  await page.getByLabel('First name').fill('Dana')
  await page.getByLabel('Last name').fill('Scully')
  await page.getByLabel('Password', { exact: true }).fill('abcdefg')
  await page.getByLabel('Confirm password').fill('abcdefh')
  await page.getByLabel(/^I want to join Northwind Traders as /).check()
  const response = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create account and join' }).click()]).then(([r]) => r)
  expect(response?.status()).toBe(422)

  await expect(page.getByRole('alert').textContent()).resolves.toContain('Please check 2 fields')
  const passwordErrors = await page.locator('#password-error li').allTextContents()
  expect(passwordErrors).toEqual(['Use at least 8 characters.', 'Add an upper-case letter.', 'Add a digit (0–9).', 'Add a special character, such as ! ? # or %.'])
  await expect(page.locator('#passwordConfirmation-error').textContent()).resolves.toBe('The two passwords do not match.')
  await expect(page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true')
  await expect(page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby')).resolves.toBe('password-hint password-error')
  await expect(page.getByLabel('Password', { exact: true }).inputValue()).resolves.toBe('')
  await expect(page.getByLabel('Last name').inputValue()).resolves.toBe('Scully')
  await expect(page.getByLabel(/^I want to join Northwind Traders as /).isChecked()).resolves.toBe(true)
  // The summary links to the field.
  await expect(page.getByRole('link', { name: /^Password:/ }).getAttribute('href')).resolves.toBe('#password')
  expect((await userStatus())?.status).toBe('invited')

  // Fix it on the same page: registered.
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByLabel('Confirm password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account and join' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Dana')
  expect((await userStatus())?.status).toBe('active')
})

browserTest('decline asks for confirmation, then the link is dead', async () => {
  const link = await invite()
  await page.goto(link)
  await page.getByRole('button', { name: 'Decline invitation' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Decline this invitation?')
  expect((await userStatus())?.status).toBe('invited')

  // "No, go back" returns to the welcome screen and changes nothing.
  await page.getByRole('button', { name: 'No, go back' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Join Northwind Traders')
  await page.getByRole('button', { name: 'Decline invitation' }).click()
  await page.getByRole('button', { name: 'Yes, decline the invitation' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Invitation declined')
  expect((await userStatus())?.status).toBe('declined')
  expect(await db.knex('account_events').where({ type: 'invitation.declined' })).toHaveLength(1)

  const after = await page.goto(link)
  expect(after?.status()).toBe(410)
  await expect(page.locator('h1').textContent()).resolves.toBe('This invitation was declined')
})

browserTest('an expired link says so and can ask the administrators for a new invitation', async () => {
  const link = await invite()
  deps.clock.advance(7 * DAY)
  const res = await page.goto(link)
  expect(res?.status()).toBe(410)
  await expect(page.locator('h1').textContent()).resolves.toBe('This invitation has expired')
  await expect(page.locator('main').textContent()).resolves.not.toContain('Northwind')

  await page.getByRole('button', { name: 'Request a new invitation' }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Request sent')
  expect(await db.knex('invitation_requests')).toHaveLength(1)
  expect(await db.knex('account_events').where({ type: 'invitation.new_requested' })).toHaveLength(1)

  // A second click (back, then the button again) is rate-limited and records nothing more.
  await page.goBack()
  const second = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Request a new invitation' }).click()]).then(([r]) => r)
  expect(second?.status()).toBe(429)
  await expect(page.locator('h1').textContent()).resolves.toBe('You already asked for a new invitation')
  expect(await db.knex('invitation_requests')).toHaveLength(1)
})

browserTest('a replaced link sends the invitee to the latest invitation', async () => {
  const link = await invite()
  deps.clock.advance(7 * DAY)
  const regenerated = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'dana@northwind.test' })
  expect(regenerated.ok).toBe(true)
  const res = await page.goto(link)
  expect(res?.status()).toBe(410)
  await expect(page.locator('h1').textContent()).resolves.toBe('A newer invitation was sent')
  await expect(page.locator('main').textContent()).resolves.toContain('check your inbox for the latest invitation')
  await expect(page.locator('main form').count()).resolves.toBe(0)
})

browserTest('keyboard only: Tab, Enter and Space accept and register, with a visible focus ring', async () => {
  const link = await invite()
  await page.goto(link)
  // From the top of the page, the first Tab stop is the primary action.
  await page.keyboard.press('Tab')
  expect(await focusedId()).toBe('Accept invitation')
  const ring = await page.locator(':focus').evaluate((el) => {
    const s = getComputedStyle(el)
    return { style: s.outlineStyle, width: s.outlineWidth }
  })
  expect(ring).toEqual({ style: 'solid', width: '3px' })
  await page.keyboard.press('Tab')
  expect(await focusedId()).toBe('Decline invitation')
  await page.keyboard.press('Shift+Tab')
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/accept/)
  await expect(page.locator('h1').textContent()).resolves.toBe('Create your account')

  // Focus order follows the visual order: names, password, confirmation, terms, submit.
  const order: string[] = []
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type('Dana')
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type('Scully')
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  await page.keyboard.press('Space')
  await page.keyboard.press('Tab')
  order.push(await focusedId())
  expect(order).toEqual(['firstName', 'lastName', 'password', 'passwordConfirmation', 'termsAccepted', 'Create account and join'])
  await expect(page.getByLabel(/^I want to join Northwind Traders as /).isChecked()).resolves.toBe(true)
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Space')])
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Dana')
  expect((await userStatus())?.status).toBe('active')
})
