import { describe, expect, test } from 'vitest'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { openInvitationLink } from '../../src/invitations/open-invitation-link.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { resendInvitation } from '../../src/invitations/resend-invitation.ts'
import type { DisplayStatus } from '../../src/invitations/model.ts'
import { editUserGroups } from '../../src/users/edit-user-groups.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { listUsers } from '../../src/users/list-users.ts'
import { showUser } from '../../src/users/show-user.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const REGISTRATION = { firstName: 'Bob', lastName: 'Invitee', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true }

/** Put `email` into a given Joined status through the real use cases. */
async function userIn(status: DisplayStatus, email = `${status}@x.test`): Promise<{ email: string; token: string }> {
  const { token } = await inviteUser(deps, seed, email)
  const cmd = { accountId: seed.account.id, actor: seed.adminActor, email }
  switch (status) {
    case 'invited':
      break
    case 'expired':
      deps.clock.advance(7 * DAY)
      break
    case 'active':
      expect((await acceptInvitation(deps, { token, ...REGISTRATION })).ok).toBe(true)
      break
    case 'declined':
      expect((await declineInvitation(deps, { token })).ok).toBe(true)
      break
    case 'removed':
      expect((await removeUser(deps, cmd)).ok).toBe(true)
      break
  }
  return { email, token }
}

const statuses: DisplayStatus[] = ['invited', 'expired', 'active', 'declined', 'removed']

/** The lifecycle table of docs/lifecycle.md: what each action does from each status. */
const expected: Record<string, Record<DisplayStatus, string>> = {
  add: { invited: 'user.already_invited', expired: 'invitation.expired', active: 'user.already_active', declined: 'ok', removed: 'ok' },
  resend: { invited: 'ok', expired: 'invitation.expired', active: 'user.already_active', declined: 'user.declined', removed: 'user.removed' },
  regenerate: { invited: 'invitation.still_valid', expired: 'ok', active: 'user.already_active', declined: 'user.declined', removed: 'user.removed' },
  link: { invited: 'ok', expired: 'invitation.expired', active: 'user.already_active', declined: 'user.declined', removed: 'user.removed' },
  edit: { invited: 'ok', expired: 'ok', active: 'ok', declined: 'ok', removed: 'user.removed' },
  remove: { invited: 'ok', expired: 'ok', active: 'ok', declined: 'ok', removed: 'user.removed' },
  accept: { invited: 'ok', expired: 'link.expired', active: 'link.accepted', declined: 'link.declined', removed: 'link.revoked' },
  decline: { invited: 'ok', expired: 'link.expired', active: 'link.accepted', declined: 'link.declined', removed: 'link.revoked' },
}

describe.each(Object.keys(expected))('%s', (action) => {
  test.each(statuses)('from %s', async (status) => {
    const { email, token } = await userIn(status)
    const cmd = { accountId: seed.account.id, actor: seed.adminActor, email }
    const before = await db.knex('users').where({ email }).first()
    const outboxBefore = await db.knex('email_outbox').count<{ n: number }[]>({ n: '*' })
    const auditBefore = await db.knex('audit_log').max<{ id: number }[]>({ id: 'id' })
    const result =
      action === 'add'
        ? await addInvitation(deps, { ...cmd, firstName: null, lastName: null, groups: [] })
        : action === 'resend'
          ? await resendInvitation(deps, cmd)
          : action === 'regenerate'
            ? await regenerateInvitation(deps, cmd)
            : action === 'link'
              ? await copyInvitationLink(deps, cmd)
              : action === 'edit'
                ? await editUserGroups(deps, { ...cmd, groups: ['Engineering'] })
                : action === 'remove'
                  ? await removeUser(deps, cmd)
                  : action === 'accept'
                    ? await acceptInvitation(deps, { token, ...REGISTRATION })
                    : await declineInvitation(deps, { token })
    expect(result.ok ? 'ok' : result.code).toBe(expected[action]![status])
    // Every administrator attempt, allowed or refused, is audited with the identity behind it.
    const audited = await db.knex('audit_log').where('id', '>', auditBefore[0]?.id ?? 0)
    if (action !== 'accept' && action !== 'decline') {
      expect(audited).toMatchObject([{ actor_platform: 'cli', actor_platform_id: `test:${seed.admin.email}`, actor_email: seed.admin.email, target_email: email, ok: result.ok }])
      if (!result.ok) expect(audited[0].result_code).toBe(result.code)
    } else if (result.ok) {
      expect(audited).toMatchObject([{ actor_platform: 'web', actor_email: email, action: `invitation.${action}` }])
    }
    if (!result.ok) {
      // A refusal changes nothing and sends nothing.
      expect(await db.knex('users').where({ email }).first()).toEqual(before)
      expect(await db.knex('email_outbox').count<{ n: number }[]>({ n: '*' })).toEqual(outboxBefore)
    }
  })
})

describe('refusals name the right action', () => {
  test('resend on an expired invitation says when it expired (use regenerate)', async () => {
    const { email } = await userIn('expired')
    const r = await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r).toMatchObject({ ok: false, code: 'invitation.expired', expiredAt: new Date('2026-12-03T10:00:00Z') })
  })
  test('regenerate on a valid invitation says until when it is valid (use resend)', async () => {
    const { email } = await userIn('invited')
    const r = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r).toMatchObject({ ok: false, code: 'invitation.still_valid', expiresAt: new Date('2026-12-03T10:00:00Z') })
  })
})

describe('resend and regenerate', () => {
  test('resend keeps the link and resets expiry to the full validity from now', async () => {
    const { email, token } = await userIn('invited')
    deps.clock.advance(5 * DAY)
    const r = await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.user.invitation?.expiresAt).toEqual(new Date(deps.clock.now().getTime() + 7 * DAY))
    expect(r.value.user.invitation?.sentCount).toBe(2)
    const link = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(link.ok && link.value.url.endsWith(token)).toBe(true)
    deps.clock.advance(6 * DAY) // 11 days after the first email: still valid thanks to the resend
    expect((await openInvitationLink(deps, { token })).ok).toBe(true)
  })

  test('a stale resend button names who resent, however many refused clicks were audited since', async () => {
    const { email } = await userIn('invited')
    const shown = await deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where({ 'u.email': email, 'i.state': 'pending' }).first<{ id: string; expires_at: Date }>('i.id', 'i.expires_at')
    const click = { accountId: seed.account.id, actor: seed.adminActor, email, invitationId: shown!.id, seenExpiresAt: shown!.expires_at }
    deps.clock.advance(DAY)
    expect((await resendInvitation(deps, click)).ok).toBe(true)
    // Each later click on the same button is refused, and audited as a refused `invitation.resend`.
    for (let i = 0; i < 25; i++) {
      deps.clock.advance(1000)
      const r = await resendInvitation(deps, click)
      expect(r.ok ? null : r).toMatchObject({ code: 'invitation.already_resent', by: seed.adminActor.email })
    }
    const refused = await deps.db('audit_log').where({ action: 'invitation.resend', target_email: email, ok: false }).count<{ n: string }[]>({ n: '*' })
    expect(Number(refused[0]?.n)).toBe(25)
  })

  test('regenerate issues a new link; the old one says replaced', async () => {
    const { email, token } = await userIn('expired')
    const r = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r.ok).toBe(true)
    const link = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(link.ok).toBe(true)
    if (!link.ok) return
    const newToken = link.value.url.split('/invitations/')[1]!
    expect(newToken).not.toBe(token)
    expect(await openInvitationLink(deps, { token })).toEqual({ ok: false, code: 'link.replaced' })
    expect((await openInvitationLink(deps, { token: newToken })).ok).toBe(true)
    const rows = await db.knex('invitations').orderBy('created_at')
    expect(rows.map((i) => i.state)).toEqual(['replaced', 'pending'])
    expect(rows[0].replaced_by).toBe(rows[1].id)
  })

  test('a second click on the same expired notice is told it was already replaced, by whom', async () => {
    const { email } = await userIn('expired')
    const old = await db.knex('invitations').where({ state: 'pending' }).first()
    const other = await seedOtherAdmin()
    const first = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email, invitationId: old.id })
    expect(first.ok).toBe(true)
    const second = await regenerateInvitation(deps, { accountId: seed.account.id, actor: other, email, invitationId: old.id })
    expect(second).toMatchObject({ ok: false, code: 'invitation.already_replaced', by: seed.admin.email })
  })
})

/** A second Active administrator, through the real lifecycle. */
async function seedOtherAdmin() {
  const email = 'carol@x.test'
  const { token } = await inviteUser(deps, seed, email, { groups: ['Administrators'] })
  expect((await acceptInvitation(deps, { token, ...REGISTRATION })).ok).toBe(true)
  return seed.actorFor(email)
}

describe('remove', () => {
  test('refuses yourself', async () => {
    const r = await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: seed.admin.email })
    expect(r).toMatchObject({ ok: false, code: 'user.cannot_remove_self' })
  })
  test('refuses the last administrator, and editing them out of administration', async () => {
    const carol = await seedOtherAdmin()
    expect((await removeUser(deps, { accountId: seed.account.id, actor: carol, email: seed.admin.email })).ok).toBe(true)
    // Alice is gone; Carol is the last administrator. Nobody else may act, and Carol may not demote herself.
    const r = await editUserGroups(deps, { accountId: seed.account.id, actor: carol, email: 'carol@x.test', groups: ['Members'] })
    expect(r).toMatchObject({ ok: false, code: 'user.last_admin' })
  })
  test('kills the pending link, queues a removal email, and allows a later invitation', async () => {
    const { email, token } = await userIn('invited')
    const r = await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r.ok && r.value.user.status).toBe('removed')
    expect(await openInvitationLink(deps, { token })).toEqual({ ok: false, code: 'link.revoked' })
    expect(await db.knex('email_outbox').where({ to_email: email }).pluck('kind')).toEqual(['invitation', 'removal'])
    const again = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email, firstName: null, lastName: null, groups: [] })
    expect(again.ok && again.value.user.status).toBe('invited')
  })
})

describe('add', () => {
  test('needs a name for someone new, a known group, and creates nothing when refused', async () => {
    const cmd = { accountId: seed.account.id, actor: seed.adminActor, email: 'new@x.test' }
    expect(await addInvitation(deps, { ...cmd, firstName: null, lastName: null, groups: [] })).toMatchObject({ ok: false, code: 'user.name_required' })
    expect(await addInvitation(deps, { ...cmd, firstName: 'N', lastName: 'U', groups: ['Nope'] })).toMatchObject({
      ok: false,
      code: 'group.not_found',
      missing: ['Nope'],
      available: ['Administrators', 'Engineering', 'Members'],
    })
    expect(await db.knex('users').where({ email: 'new@x.test' })).toEqual([])
  })
  test('uses the default group, matches group names case-insensitively', async () => {
    const cmd = { accountId: seed.account.id, actor: seed.adminActor, firstName: 'N', lastName: 'U' }
    const a = await addInvitation(deps, { ...cmd, email: 'a@x.test', groups: [] })
    const b = await addInvitation(deps, { ...cmd, email: 'b@x.test', groups: ['engineering', 'MEMBERS'] })
    expect(a.ok && a.value.user.groups).toEqual(['Members'])
    expect(b.ok && b.value.user.groups).toEqual(['Engineering', 'Members'])
  })
})

describe('who may act', () => {
  test.each([
    ['someone unknown', 'mallory@x.test'],
    ['an Invited (not Active) administrator', 'pending-admin@x.test'],
    ['no email at all', null],
  ])('%s is refused, audited, and nothing changes', async (_label, email) => {
    if (email === 'pending-admin@x.test') await inviteUser(deps, seed, email, { groups: ['Administrators'] })
    const before = await db.knex('users').count<{ n: number }[]>({ n: '*' })
    const actor = { platform: 'slack' as const, platformUserId: 'U999', email }
    const r = await addInvitation(deps, { accountId: seed.account.id, actor, email: 'victim@x.test', firstName: 'V', lastName: 'T', groups: [] })
    expect(r).toMatchObject({ ok: false, code: 'auth.not_admin' })
    expect(await db.knex('users').count<{ n: number }[]>({ n: '*' })).toEqual(before)
    const audit = await db.knex('audit_log').where({ actor_platform_id: 'U999' })
    expect(audit).toMatchObject([{ action: 'invitation.add', result_code: 'auth.not_admin', ok: false, actor_platform: 'slack', actor_email: email, target_email: 'victim@x.test' }])
  })

  test('an administrator of account A can never read or touch account B', async () => {
    const other = await seedAccount(deps)
    await inviteUser(deps, other, 'b-user@x.test')
    const asAdminOfA = seed.adminActor
    expect(await listUsers(deps, { accountId: other.account.id, actor: asAdminOfA, filter: 'all', page: 1 })).toMatchObject({ ok: false, code: 'auth.not_admin' })
    expect(await showUser(deps, { accountId: other.account.id, actor: asAdminOfA, email: 'b-user@x.test' })).toMatchObject({ ok: false, code: 'auth.not_admin' })
    // and from their own account, B's user does not exist
    expect(await showUser(deps, { accountId: seed.account.id, actor: asAdminOfA, email: 'b-user@x.test' })).toMatchObject({ ok: false, code: 'user.not_found' })
  })
  test('an unknown or malformed account id is refused, not an error', async () => {
    for (const accountId of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid', "'; DROP TABLE users; --"]) {
      const r = await listUsers(deps, { accountId, actor: seed.adminActor, filter: 'all', page: 1 })
      expect(r).toMatchObject({ ok: false, code: 'account.not_found' })
    }
  })
})

describe('list and show', () => {
  test('the Users page filters by the Joined status and pages', async () => {
    // `expired` moves the clock on by the validity: create it first so the others stay as made.
    for (const s of ['expired', 'invited', 'active', 'declined', 'removed'] as const) await userIn(s)
    const all = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: 'all', page: 1, pageSize: 3 })
    expect(all.ok && [all.value.total, all.value.pageCount, all.value.users.length]).toEqual([6, 2, 3])
    for (const s of statuses) {
      const r = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: s, page: 1 })
      expect(r.ok && r.value.users.map((u) => u.email)).toEqual(s === 'active' ? [seed.admin.email, 'active@x.test'].sort() : [`${s}@x.test`])
    }
    const past = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: 'all', page: 99, pageSize: 3 })
    expect(past.ok && past.value.page).toBe(2)
  })
  test('show gives details, the actions that apply and the history', async () => {
    const { email } = await userIn('expired')
    await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    const r = await showUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.user).toMatchObject({ status: 'expired', actions: ['regenerate', 'edit', 'remove'], invitation: { delivery: { status: 'queued' } } })
    expect(r.value.history.map((h) => h.resultCode)).toEqual(['invitation.expired', 'invitation.link_copied', 'invitation.added'])
  })
})
