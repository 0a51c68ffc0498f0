/**
 * Group names are matched case-insensitively, so one group can be named twice in one command
 * ("Engineering" and "engineering"): the user gets it once, and nothing fails. Found by the
 * generated-input suite (an edit-groups modal submitted with both spellings timed out in Slack).
 */
import { describe, expect, it } from 'vitest'
import { runCommand, runCommandText } from '../../src/commands/run-command.ts'
import { inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  deps = t.deps
  seed = t.seed
})

describe('a group named twice in one command', () => {
  it('edit: the user is in it once', async () => {
    await inviteUser(deps, seed, 'bob@acme.test')
    const outcome = await runCommand(deps, { accountId: seed.account.id, actor: seed.adminActor, command: { name: 'edit', email: 'bob@acme.test', groups: ['engineering', 'Engineering', 'MEMBERS', 'Members'] } })
    expect(outcome).toMatchObject({ kind: 'edited', user: { groups: ['Engineering', 'Members'] } })
    // …and the audit entry names each group once too.
    const entry = await deps.db('audit_log').where({ action: 'user.edit_groups', target_email: 'bob@acme.test' }).orderBy('id', 'desc').first('detail')
    expect(JSON.stringify(entry?.detail)).not.toMatch(/engineering.*engineering/i)
  })

  it('add: the new user is in it once', async () => {
    const outcome = await runCommandText(deps, { accountId: seed.account.id, actor: seed.adminActor, text: 'add carol@acme.test --name "Carol Case" --group Engineering --group engineering' })
    expect(outcome).toMatchObject({ kind: 'added', user: { email: 'carol@acme.test', groups: ['Engineering'] } })
  })
})
