/**
 * The password rule on the registration page: at least 8 characters with a lower-case letter, an
 * upper-case letter, a digit and a special character, where a space does not count as special.
 * Through the real route (CSRF cookie and field as a browser sends them).
 */
import { describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/shared/password.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { csrfFrom, snapshot, useInviteeApp, type WebClient } from './support.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let web: WebClient

useInviteeApp((t) => ({ db, deps, seed, web } = t))

async function register(password: string): Promise<{ status: number; body: string; token: string }> {
  const { token } = await inviteUser(deps, seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Stone' })
  const form = await web.get(`/invitations/${token}/accept`)
  const { res, body } = await web.post(`/invitations/${token}/accept`, { csrf: csrfFrom(form.body), firstName: 'Bob', lastName: 'Stone', password, passwordConfirmation: password, termsAccepted: 'yes' })
  return { status: res.status, body, token }
}

describe('a space is not a special character', () => {
  it('the form says so before anyone types', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@acme.test')
    const form = await web.get(`/invitations/${token}/accept`)
    expect(form.body).toContain('a special character such as ! ? # or % (a space does not count).')
  })

  it('Aa1 aaaa is refused with the reason next to the password, and nothing changes', async () => {
    const { token } = await inviteUser(deps, seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Stone' })
    const form = await web.get(`/invitations/${token}/accept`)
    const before = await snapshot(db.knex)
    const { res, body } = await web.post(`/invitations/${token}/accept`, {
      csrf: csrfFrom(form.body),
      firstName: 'Bob',
      lastName: 'Stone',
      password: 'Aa1 aaaa',
      passwordConfirmation: 'Aa1 aaaa',
      termsAccepted: 'yes',
    })
    expect(res.status).toBe(422)
    expect(body).toContain('<div class="field-error" id="password-error"><p>Add a special character, such as ! ? # or % (a space does not count).</p></div>')
    expect(body).not.toContain('value="Aa1 aaaa"')
    expect(await snapshot(db.knex)).toBe(before)
    const user = await db.knex('users').where({ email: 'bob@acme.test' }).first<{ status: string; password_hash: string | null }>('status', 'password_hash')
    expect(user).toEqual({ status: 'invited', password_hash: null })
  })

  it('Aa1!aaaa registers (and so does a password with a space beside a special character)', async () => {
    const done = await register('Aa1!aaaa')
    expect(done.status).toBe(200)
    const user = await db.knex('users').where({ email: 'bob@acme.test' }).first<{ status: string; password_hash: string }>('status', 'password_hash')
    expect(user?.status).toBe('active')
    expect(await verifyPassword('Aa1!aaaa', user!.password_hash)).toBe(true)
  })

  it('a space beside a special character is fine', async () => {
    expect((await register('Aa1 aaa!')).status).toBe(200)
  })
})
