/**
 * The account's time zone (docs/operations.md): set when the account is created (default UTC),
 * changed by the operator (audited), refused unless the runtime knows it; emails queued and the
 * invitee's page follow it.
 */
import { describe, expect, it } from 'vitest'
import { createAccount } from '../../src/accounts/create-account.ts'
import { setAccountTimeZone } from '../../src/accounts/set-account-time-zone.ts'
import { renderEmail } from '../../src/email/templates.ts'
import type { EmailPayload } from '../../src/email/outbox.ts'
import { openInvitationLink } from '../../src/invitations/open-invitation-link.ts'
import type { Actor } from '../../src/invitations/model.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  deps = t.deps
  seed = t.seed
})

const operator: Actor = { platform: 'cli', platformUserId: 'ops', email: null }
const newAccount = (timeZone?: string) =>
  createAccount(deps.db, deps.clock, { name: 'Zoned', adminEmail: 'zed@zoned.test', adminFirstName: 'Zed', adminLastName: 'Zone', defaultGroup: 'Members', timeZone })

describe('creating an account', () => {
  it('defaults to UTC and keeps a zone it is given', async () => {
    expect((await deps.db('accounts').where({ id: seed.account.id }).first('time_zone'))?.time_zone).toBe('UTC')
    const created = await newAccount('Asia/Kolkata')
    expect(created).toMatchObject({ ok: true, value: { timeZone: 'Asia/Kolkata' } })
  })

  it.each(['CEST', '+02:00', 'Europe/Berlinn', '', 'Europe/Berlin; drop table accounts', 'x'.repeat(5000)])('refuses %j and creates nothing', async (zone) => {
    const before = await deps.db('accounts').count<{ n: number }[]>({ n: '*' })
    const created = await newAccount(zone)
    expect(created).toMatchObject({ ok: false, code: 'account.time_zone_invalid' })
    if (!created.ok && created.code === 'account.time_zone_invalid') expect(created.input.length).toBeLessThanOrEqual(100)
    expect(await deps.db('accounts').count<{ n: number }[]>({ n: '*' })).toEqual(before)
  })
})

describe('changing it', () => {
  it('is audited with the previous zone; emails queued afterwards and the invitee page follow it', async () => {
    const { token } = await inviteUser(deps, seed, 'early@acme.test')
    const changed = await setAccountTimeZone(deps, { accountId: seed.account.id, actor: operator, timeZone: 'Europe/Berlin' })
    expect(changed).toEqual({ ok: true, value: { timeZone: 'Europe/Berlin', previous: 'UTC' } })
    expect(await deps.db('audit_log').where({ action: 'account.set_time_zone' }).first()).toMatchObject({
      account_id: seed.account.id,
      actor_platform: 'cli',
      result_code: 'account.time_zone_set',
      ok: true,
      detail: { previous: 'UTC', requested: 'Europe/Berlin' },
    })

    // The email queued before the change keeps the zone it was queued with.
    const early = await deps.db('email_outbox').where({ to_email: 'early@acme.test' }).first<{ payload: EmailPayload }>('payload')
    expect(early?.payload.timeZone).toBe('UTC')
    await inviteUser(deps, seed, 'late@acme.test')
    const late = await deps.db('email_outbox').where({ to_email: 'late@acme.test' }).first<{ payload: EmailPayload }>('payload')
    expect(late?.payload.timeZone).toBe('Europe/Berlin')
    expect(renderEmail('invitation', late!.payload, 'https://x.test/invitations/t').text).toContain('valid until 3 December 2026 at 11:00 Europe/Berlin.')

    // The page reads the zone when it is opened.
    expect(await openInvitationLink(deps, { token })).toMatchObject({ ok: true, value: { timeZone: 'Europe/Berlin' } })
  })

  it('refuses an unknown zone, audited, nothing changed', async () => {
    const refused = await setAccountTimeZone(deps, { accountId: seed.account.id, actor: operator, timeZone: 'Mars/Olympus_Mons' })
    expect(refused).toMatchObject({ ok: false, code: 'account.time_zone_invalid', input: 'Mars/Olympus_Mons' })
    expect((await deps.db('accounts').where({ id: seed.account.id }).first('time_zone'))?.time_zone).toBe('UTC')
    expect(await deps.db('audit_log').where({ action: 'account.set_time_zone' }).first()).toMatchObject({ result_code: 'account.time_zone_invalid', ok: false })
  })

  it.each(['not-a-uuid', '5b0c2a8e-33f1-4c8e-9d43-1f0e6b1a2c3d'])('an account id %s that names no account is refused without an error', async (accountId) => {
    expect(await setAccountTimeZone(deps, { accountId, actor: operator, timeZone: 'Europe/Berlin' })).toEqual({ ok: false, code: 'account.not_found' })
    expect(await deps.db('audit_log').where({ action: 'account.set_time_zone' })).toEqual([])
  })
})
