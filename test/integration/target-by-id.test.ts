/**
 * Buttons and forms name the user they act on by id (`targetUserId`): the use case looks the user
 * up once, in the account, inside its own transaction, and audits the action under the user's
 * email. An id of another account's user, an unknown id and a malformed one are refused
 * `user.not_found` and change nothing. Re-renders (`quiet`) check the administrator and write no
 * audit entry.
 */
import { describe, expect, it } from 'vitest'
import { runCommand, type RunCommand } from '../../src/commands/run-command.ts'
import type { Command } from '../../src/commands/types.ts'
import { DAY, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  deps = t.deps
  seed = t.seed
})

/** Every row a refused command must leave as it was. */
async function snapshot(): Promise<unknown> {
  const [users, invitations, groups, outbox] = await Promise.all([
    deps.db('users').orderBy('id').select('id', 'status', 'updated_at'),
    deps.db('invitations').orderBy('id').select('id', 'state', 'expires_at', 'sent_count'),
    deps.db('user_groups').orderBy(['user_id', 'group_id']).select('user_id', 'group_id'),
    deps.db('email_outbox').count<{ n: number }[]>({ n: '*' }),
  ])
  return { users, invitations, groups, outbox }
}

function run(command: Command, extra: Partial<RunCommand> = {}) {
  return runCommand(deps, { accountId: seed.account.id, actor: seed.adminActor, command, ...extra })
}

const auditCount = async () => Number((await deps.db('audit_log').count<{ n: number }[]>({ n: '*' }))[0]!.n)

describe('a user named by id', () => {
  it('resend, link, edit, show and remove act on that user; the command email is ignored', async () => {
    const { user } = await inviteUser(deps, seed, 'bob@acme.test')
    const target = { targetUserId: user.id }

    expect(await run({ name: 'resend', email: '' }, target)).toMatchObject({ kind: 'resent', user: { id: user.id, email: 'bob@acme.test' } })
    expect(await run({ name: 'link', email: '' }, target)).toMatchObject({ kind: 'link', user: { id: user.id } })
    expect(await run({ name: 'edit', email: '', groups: ['Engineering'] }, target)).toMatchObject({ kind: 'edited', user: { id: user.id, groups: ['Engineering'] } })
    // An email that names someone else loses to the id.
    expect(await run({ name: 'show', email: seed.admin.email }, target)).toMatchObject({ kind: 'show', user: { id: user.id, email: 'bob@acme.test' } })
    expect(await run({ name: 'remove', email: '' }, target)).toMatchObject({ kind: 'confirm_remove', user: { id: user.id } })
    expect(await run({ name: 'remove', email: '' }, { ...target, confirmed: true })).toMatchObject({ kind: 'removed', user: { id: user.id, status: 'removed' } })

    // Each is audited under the user's email, as if it had been typed.
    const actions = await deps.db('audit_log').where({ target_email: 'bob@acme.test' }).orderBy('id').pluck('action')
    // (The first two are inviteUser's.)
    expect(actions).toEqual(['invitation.add', 'invitation.copy_link', 'invitation.resend', 'invitation.copy_link', 'user.edit_groups', 'user.show', 'user.show', 'user.remove'])
  })

  it('regenerate acts on the expired invitation of that user', async () => {
    const { user } = await inviteUser(deps, seed, 'bob@acme.test')
    deps.clock.advance(8 * DAY)
    const outcome = await run({ name: 'regenerate', email: '' }, { targetUserId: user.id })
    expect(outcome).toMatchObject({ kind: 'regenerated', user: { id: user.id, status: 'invited' } })
    expect(await deps.db('invitations').where({ user_id: user.id }).orderBy('created_at').pluck('state')).toEqual(['replaced', 'pending'])
  })

  const refusals: { name: string; command: Command; confirmed?: boolean }[] = [
    { name: 'resend', command: { name: 'resend', email: '' } },
    { name: 'regenerate', command: { name: 'regenerate', email: '' } },
    { name: 'link', command: { name: 'link', email: '' } },
    { name: 'edit', command: { name: 'edit', email: '', groups: ['Engineering'] } },
    { name: 'show', command: { name: 'show', email: '' } },
    { name: 'remove (asking)', command: { name: 'remove', email: '' } },
    { name: 'remove (confirmed)', command: { name: 'remove', email: '' }, confirmed: true },
  ]

  describe.each(refusals)('$name', ({ command, confirmed }) => {
    it("another account's user is not found, and nothing changes", async () => {
      const other = await seedAccount(deps, { name: 'Globex' })
      const { user: stranger } = await inviteUser(deps, other, 'eve@globex.test')
      deps.clock.advance(8 * DAY)
      const before = await snapshot()
      const outcome = await run(command, { targetUserId: stranger.id, confirmed })
      expect(outcome).toMatchObject({ kind: 'refused', failure: { code: 'user.not_found', email: '', userId: stranger.id } })
      expect(await snapshot()).toEqual(before)
      // The refusal is audited in the administrator's account, naming no one's email.
      const entry = await deps.db('audit_log').where({ account_id: seed.account.id }).orderBy('id', 'desc').first()
      expect(entry).toMatchObject({ result_code: 'user.not_found', ok: false, target_email: null })
    })

    it.each(['not-a-uuid', "'; drop table users; --", '00000000-0000-0000-0000-00000000000g', '', ' '.repeat(5), 'x'.repeat(5000)])('a malformed id %#, or an unknown one, is refused without an error', async (id) => {
      await inviteUser(deps, seed, 'bob@acme.test')
      const before = await snapshot()
      for (const targetUserId of [id, '5b0c2a8e-33f1-4c8e-9d43-1f0e6b1a2c3d']) {
        const outcome = await run(command, { targetUserId, confirmed })
        expect(outcome).toMatchObject({ kind: 'refused', failure: { code: 'user.not_found', email: '' } })
        if (outcome.kind === 'refused' && outcome.failure.code === 'user.not_found') expect(outcome.failure.userId?.length).toBeLessThanOrEqual(100)
      }
      expect(await snapshot()).toEqual(before)
    })
  })

  it("a non-administrator's click by id is refused and audited without a lookup", async () => {
    const { user } = await inviteUser(deps, seed, 'bob@acme.test')
    const before = await snapshot()
    const outcome = await runCommand(deps, { accountId: seed.account.id, actor: seed.actorFor('mallory@acme.test'), command: { name: 'resend', email: '' }, targetUserId: user.id })
    expect(outcome).toMatchObject({ kind: 'refused', failure: { code: 'auth.not_admin' } })
    expect(await snapshot()).toEqual(before)
    const entry = await deps.db('audit_log').orderBy('id', 'desc').first()
    expect(entry).toMatchObject({ action: 'invitation.resend', result_code: 'auth.not_admin', target_email: null })
    expect(entry.detail).toMatchObject({ targetUserId: user.id })
  })
})

describe('quiet re-renders', () => {
  it('list and show write no audit entry; loud ones do', async () => {
    const { user } = await inviteUser(deps, seed, 'bob@acme.test')
    const before = await auditCount()
    expect(await run({ name: 'list', filter: 'all', page: 1 }, { quiet: true })).toMatchObject({ kind: 'list', total: 2 })
    expect(await run({ name: 'show', email: '' }, { quiet: true, targetUserId: user.id })).toMatchObject({ kind: 'show', user: { id: user.id } })
    expect(await run({ name: 'show', email: 'bob@acme.test' }, { quiet: true })).toMatchObject({ kind: 'show', user: { id: user.id } })
    expect(await auditCount()).toBe(before)

    await run({ name: 'list', filter: 'all', page: 1 })
    await run({ name: 'show', email: 'bob@acme.test' })
    expect(await auditCount()).toBe(before + 2)
  })

  it('still check the administrator', async () => {
    const before = await auditCount()
    const outcome = await runCommand(deps, { accountId: seed.account.id, actor: seed.actorFor('mallory@acme.test'), command: { name: 'list', filter: 'all', page: 1 }, quiet: true })
    expect(outcome).toMatchObject({ kind: 'refused', failure: { code: 'auth.not_admin' } })
    expect(await auditCount()).toBe(before)
  })

  it('do not silence an action', async () => {
    const { user } = await inviteUser(deps, seed, 'bob@acme.test')
    const before = await auditCount()
    await run({ name: 'resend', email: '' }, { quiet: true, targetUserId: user.id })
    expect(await auditCount()).toBe(before + 1)
  })
})
