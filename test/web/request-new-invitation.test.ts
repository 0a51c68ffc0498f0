import { describe, expect, it } from 'vitest'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { NEW_INVITATION_REQUEST_INTERVAL_MS, requestNewInvitation } from '../../src/invitations/request-new-invitation.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

/** The core use case behind the expired page's "Request a new invitation" button. */
let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount

useSeededDatabase((t) => ({ db, deps, seed } = t))

describe('requestNewInvitation', () => {
  it('records one request, one event and one audit entry for an expired link; no email, no new link', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@x.test')
    deps.clock.advance(7 * DAY)
    const result = await requestNewInvitation(deps, { token })
    expect(result).toEqual({ ok: true, value: { requestedAt: deps.clock.now() } })
    expect(await db.knex('invitation_requests').where({ account_id: seed.account.id })).toHaveLength(1)
    const [event] = await db.knex('account_events').where({ type: 'invitation.new_requested' })
    expect(event).toMatchObject({ account_id: seed.account.id, payload: { email: 'bob@x.test', firstName: 'Bob' } })
    expect(JSON.stringify(event)).not.toContain(token)
    const audit = await db.knex('audit_log').where({ action: 'invitation.new_requested' })
    expect(audit).toMatchObject([{ ok: true, actor_platform: 'web', actor_email: 'bob@x.test', target_email: 'bob@x.test' }])
    expect(await db.knex('email_outbox')).toHaveLength(1) // the original invitation only
    expect(await db.knex('invitations').where({ state: 'pending' })).toHaveLength(1)
  })

  it('a double click (concurrent requests) records exactly one', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@x.test')
    deps.clock.advance(7 * DAY)
    const results = await Promise.all(Array.from({ length: 8 }, () => requestNewInvitation(deps, { token })))
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok && r.code === 'request.too_soon')).toHaveLength(7)
    expect(await db.knex('invitation_requests')).toHaveLength(1)
    expect(await db.knex('account_events').where({ type: 'invitation.new_requested' })).toHaveLength(1)
  })

  it('is limited to one per interval per link, counted from stored rows', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@x.test')
    deps.clock.advance(7 * DAY)
    const first = await requestNewInvitation(deps, { token })
    expect(first.ok).toBe(true)
    deps.clock.advance(NEW_INVITATION_REQUEST_INTERVAL_MS - 1)
    const early = await requestNewInvitation(deps, { token })
    expect(early).toMatchObject({ ok: false, code: 'request.too_soon', retryAt: new Date(Date.parse('2026-12-03T10:00:00Z') + NEW_INVITATION_REQUEST_INTERVAL_MS) })
    deps.clock.advance(1)
    expect((await requestNewInvitation(deps, { token })).ok).toBe(true)
  })

  it('refuses links that are not expired, saying which state they are in', async () => {
    const valid = await inviteUser(deps, seed, 'valid@x.test')
    expect(await requestNewInvitation(deps, { token: valid.token })).toMatchObject({ ok: false, code: 'request.link_still_valid' })
    const declined = await inviteUser(deps, seed, 'declined@x.test')
    expect((await declineInvitation(deps, { token: declined.token })).ok).toBe(true)
    expect(await requestNewInvitation(deps, { token: declined.token })).toMatchObject({ ok: false, code: 'link.declined' })
    const auditBefore = await db.knex('audit_log').count<{ n: string }[]>({ n: '*' })
    for (const bad of ['A'.repeat(43), 'short', '', 'x'.repeat(5_000), `${valid.token}x`]) {
      expect(await requestNewInvitation(deps, { token: bad })).toEqual({ ok: false, code: 'link.invalid' })
    }
    // Unknown tokens belong to no account: not audited (a guess must not grow the log).
    expect(await db.knex('audit_log').count<{ n: string }[]>({ n: '*' })).toEqual(auditBefore)
    expect(await db.knex('invitation_requests')).toHaveLength(0)
  })
})
