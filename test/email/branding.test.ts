import { describe, expect, test } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { createEmailWorker } from '../../src/email/outbox-worker.ts'
import type { EmailMessage, EmailSender } from '../../src/ports/email.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

/** The worker renders each email with the configured branding, from the configured sender. */

let db: TestDatabase
let seed: SeededAccount
let base: TestDeps
useSeededDatabase((t) => ({ db, seed, deps: base } = t))

function capturingSender(): EmailSender & { sent: EmailMessage[] } {
  const sent: EmailMessage[] = []
  return { name: 'capturing', sent, send: async (m) => (sent.push(m), { messageId: `m-${sent.length}` }) }
}

describe('the worker sends branded emails', () => {
  test('PRODUCT_NAME, SUPPORT_EMAIL and PRIVACY_URL from the environment reach the sender, the subject, the body and the footer', async () => {
    const loaded = loadConfig({ PRODUCT_NAME: 'Acme Cloud', SUPPORT_EMAIL: 'help@acme.example', PRIVACY_URL: 'https://acme.example/privacy', EMAIL_FROM: 'invites@acme.example' })
    if (!loaded.ok) throw new Error(loaded.problems.join('; '))
    const deps = makeDeps(db.knex, { config: { ...loaded.config.service }, now: base.clock.now().toISOString() })
    await inviteUser(deps, seed, 'bob@x.test')
    const sender = capturingSender()
    await createEmailWorker({ deps, sender }).drainOnce()
    expect(sender.sent).toHaveLength(1)
    const [m] = sender.sent
    expect(m!.from).toBe('Acme Cloud <invites@acme.example>')
    expect(m!.subject).toBe(`You are invited to join ${seed.account.name} on Acme Cloud`)
    expect(m!.text).toContain('— Acme Cloud\n\nQuestions? Write to help@acme.example.\nPrivacy notice: https://acme.example/privacy')
    expect(m!.html).toContain('href="https://acme.example/privacy"')
  })

  test("unset: today's sender and words", async () => {
    const loaded = loadConfig({})
    if (!loaded.ok) throw new Error(loaded.problems.join('; '))
    const deps = makeDeps(db.knex, { config: { ...loaded.config.service }, now: base.clock.now().toISOString() })
    await inviteUser(deps, seed, 'bob@x.test')
    const sender = capturingSender()
    await createEmailWorker({ deps, sender }).drainOnce()
    expect(sender.sent[0]).toMatchObject({ from: 'InviteOps <invitations@localhost>', subject: `You are invited to join ${seed.account.name}` })
    expect(sender.sent[0]!.text.endsWith('— InviteOps')).toBe(true)
  })
})
