/**
 * Names on the invitee's pages: registration refuses a name that is not one line of plain text
 * (naming the field, changing nothing), and a name stored before that rule is escaped as HTML.
 */
import { describe, expect, it } from 'vitest'
import type { TestDatabase } from '../support/db.ts'
import { HOSTILE_LAST, inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { csrfFrom, snapshot, useInviteeApp, type WebClient } from './support.ts'

const PASSWORD = 'Correct-Horse7'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
let web: WebClient

useInviteeApp((t) => ({ db, deps, seed, web } = t))

describe('registration refuses a name that is not one line of text', () => {
  it.each([
    ['lastName', HOSTILE_LAST, 'Enter your last name on one line.'],
    ['lastName', 'Smith\u2028Jones', 'Enter your last name on one line.'],
    ['firstName', 'Eve\rSmith', 'Enter your first name on one line.'],
    ['firstName', 'Eve\u0000', 'Remove the invisible control characters from your first name.'],
    ['lastName', 'Smith\u001b[2J', 'Remove the invisible control characters from your last name.'],
    ['lastName', 'Smith\u202eevil', 'Remove the invisible control characters from your last name.'],
  ])('%s %j: "%s", nothing changes', async (field, value, message) => {
    const { token } = await inviteUser(deps, seed, 'eve@acme.test', { firstName: 'Eve', lastName: 'Smith' })
    const form = await web.get(`/invitations/${token}/accept`)
    const before = await snapshot(db.knex)
    const { res, body } = await web.post(`/invitations/${token}/accept`, {
      csrf: csrfFrom(form.body),
      firstName: 'Eve',
      lastName: 'Smith',
      [field]: value,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
      termsAccepted: 'yes',
    })
    expect(res.status).toBe(422)
    expect(body).toContain(`<div class="field-error" id="${field}-error"><p>${message}</p></div>`)
    expect(await snapshot(db.knex)).toBe(before)
  })
})

describe('a name stored before the rule is escaped on the pages', () => {
  it('the welcome page and the form show it as text', async () => {
    const { token } = await inviteUser(deps, seed, 'eve@acme.test', { firstName: 'Eve', lastName: 'Smith' })
    await db.knex('users').where({ email: 'eve@acme.test' }).update({ last_name: HOSTILE_LAST })
    // The inviter's name too (the welcome page says who invited them).
    await db.knex('users').where({ email: seed.admin.email }).update({ first_name: '<b>Alice</b>', last_name: '<script>x</script>' })
    const welcome = await web.get(`/invitations/${token}`)
    expect(welcome.res.status).toBe(200)
    expect(welcome.body).toContain('&lt;b&gt;Alice&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;')
    expect(welcome.body).not.toContain('<b>Alice')
    expect(welcome.body).not.toContain('<script>')
    const form = await web.get(`/invitations/${token}/accept`)
    expect(form.body).toContain('value="Smith\n*URGENT* click https://evil.example/x &lt;https://evil.example|here&gt; &amp;amp; _x_ ~y~ &#96;z&#96;"')
    expect(form.body).not.toContain('<https://evil.example')
  })
})
