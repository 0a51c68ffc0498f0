/**
 * Whatever a refused request carried is audited, even text Postgres cannot store as it is (NUL,
 * half of a surrogate pair): such characters are recorded as U+FFFD instead of failing the request
 * and losing its audit entry. Found by the generated-input suite (an edit-groups modal naming a
 * group "\udfff" made Slack time out).
 */
import { describe, expect, it } from 'vitest'
import { recordAudit } from '../../src/audit/audit-repository.ts'
import { runCommand } from '../../src/commands/run-command.ts'
import type { TestDatabase } from '../support/db.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  db = t.db
  deps = t.deps
  seed = t.seed
})

describe('text Postgres cannot store, in an audited request', () => {
  it.each([['a NUL', 'Eng\u0000ineering'], ['an unpaired surrogate', 'Eng\udfffineering']])('a group name with %s: refused as not found, and audited', async (_what, name) => {
    await inviteUser(deps, seed, 'bob@acme.test')
    const outcome = await runCommand(deps, { accountId: seed.account.id, actor: seed.adminActor, command: { name: 'edit', email: 'bob@acme.test', groups: [name] } })
    expect(outcome).toMatchObject({ kind: 'refused', failure: { code: 'group.not_found' } })
    const row = await db.knex('audit_log').where({ action: 'user.edit_groups', result_code: 'group.not_found' }).first<{ detail: { missing?: string[] } }>()
    expect(row?.detail.missing).toEqual(['Eng\ufffdineering'])
  })

  it('an actor id with a NUL is recorded', async () => {
    await recordAudit(db.knex, { accountId: seed.account.id, at: deps.clock.now(), actor: { platform: 'teams', platformUserId: '29:a\u0000b', email: null }, action: 'test', targetEmail: null, resultCode: 'auth.not_admin', ok: false })
    expect(await db.knex('audit_log').where({ actor_platform_id: '29:a\ufffdb' })).toHaveLength(1)
  })
})
