import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { z } from 'zod'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { createInviteeRouter } from '../../adapters/web/router.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { openInvitationLink } from '../../src/invitations/open-invitation-link.ts'
import { showUser } from '../../src/users/show-user.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount, testConfig } from '../support/factories.ts'
import { startSesEmulator } from './support/ses-emulator.ts'

/**
 * End to end through the SES v1 API of the `aws-ses-v2-local` emulator (it implements SendEmail
 * and SendRawEmail of v1): add a user through the service, let the worker send with the real SDK
 * configured only by the SDK's own variables, read the stored email from the emulator's HTTP API,
 * and follow its link on the app.
 */
let db: TestDatabase
let emulator: Server
let app: Server
let emulatorUrl: string
let appUrl: string

const listen = (s: Server) => new Promise<number>((resolve) => s.once('listening', () => resolve((s.address() as AddressInfo).port)))
const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()))

// What we read from the emulator's GET /store, parsed like any outside data.
const StoreSchema = z.object({
  emails: z.array(
    z.object({
      messageId: z.string(),
      from: z.string(),
      destination: z.object({ to: z.array(z.string()) }),
      subject: z.string(),
      body: z.object({ text: z.string().optional(), html: z.string().optional() }),
    }),
  ),
})

beforeAll(async () => {
  db = await createTestDatabase()
  emulator = await startSesEmulator()
  emulatorUrl = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`
})

afterAll(async () => {
  if (app) await close(app)
  if (emulator) await close(emulator)
  await db.close()
})

it('an invitation added through the service arrives in the emulator with a link that opens the invitee page', async () => {
  // Only the SDK's own variables: this is how an operator points InviteOps at SES (or a stand-in).
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SES: emulatorUrl, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' })

  const web = express()
  app = web.listen(0, '127.0.0.1')
  appUrl = `http://127.0.0.1:${await listen(app)}`
  const deps = makeDeps(db.knex, { config: testConfig({ publicBaseUrl: appUrl }), now: new Date().toISOString() })
  web.use('/', createInviteeRouter(deps, { secureCookies: false }))

  const seed = await seedAccount(deps, { name: `Acme "<Ops>"` })
  const added = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'newcomer@example.com', firstName: 'Nina', lastName: 'Newcomer', groups: ['Engineering'] })
  expect(added.ok).toBe(true)

  const worker = createEmailWorker({ deps, sender: createSesSender({ quotaWaitMs: 60_000 }), maxSendRate: 10 })
  expect(await worker.drainOnce()).toBe(1)

  const store = StoreSchema.parse(await (await fetch(`${emulatorUrl}/store`)).json())
  const mails = store.emails.filter((e) => e.destination.to.includes('newcomer@example.com'))
  expect(mails).toHaveLength(1)
  const mail = mails[0]!
  expect(mail.from).toBe(deps.config.emailFrom)
  expect(mail.subject).toBe('You are invited to join Acme "<Ops>"')
  expect(mail.body.html).toContain('Acme &quot;&lt;Ops&gt;&quot;')
  expect(mail.body.text).toContain('Engineering')

  // Delivery status is visible to administrators (`/invite show`), with SES's MessageId.
  const shown = await showUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'newcomer@example.com' })
  if (!shown.ok) throw new Error(shown.code)
  expect(shown.value.user.invitation?.delivery).toEqual({ status: 'sent', detail: null, messageId: mail.messageId })

  // Follow the link from the email body.
  const link = /https?:\/\/\S+\/invitations\/[A-Za-z0-9_-]+/.exec(mail.body.text ?? '')?.[0]
  expect(link?.startsWith(`${appUrl}/invitations/`)).toBe(true)
  const page = await fetch(link!)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('newcomer@example.com')
  expect(html).toContain('Acme &quot;&lt;Ops&gt;&quot;')
  const token = link!.split('/invitations/')[1]!
  const opened = await openInvitationLink(deps, { token })
  expect(opened).toMatchObject({ ok: true, value: { email: 'newcomer@example.com', accountName: 'Acme "<Ops>"' } })
})
