/**
 * Produce docs/welcome.png: the invitee's welcome screen, as served by the real router over a real
 * (embedded) database, in the same headless Chromium as the browser tests.
 *
 *   npx tsx test/e2e/screenshot.ts [output.png]
 */
import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { createTestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount } from '../support/factories.ts'
import { startInviteeApp } from '../web/support.ts'
import { launchChromium } from './browser.ts'

const out = resolve(process.argv[2] ?? 'docs/welcome.png')
const db = await createTestDatabase()
const deps = makeDeps(db.knex)
const seed = await seedAccount(deps, { name: 'Northwind Traders', adminEmail: 'maria.garcia@northwind.example' })
const { token } = await inviteUser(deps, seed, 'dana.scully@example.com', { firstName: 'Dana', lastName: 'Scully', groups: ['Engineering', 'Members'] })
const app = await startInviteeApp(deps)
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: 760, height: 600 }, deviceScaleFactor: 2, javaScriptEnabled: false })
  const res = await page.goto(`${app.baseUrl}/invitations/${token}`)
  if (res?.status() !== 200) throw new Error(`welcome screen answered ${res?.status()}`)
  await mkdir(dirname(out), { recursive: true })
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
} finally {
  await browser.close()
  await app.close()
  await db.close()
}
