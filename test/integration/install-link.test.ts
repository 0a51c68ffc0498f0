/**
 * Linking a workspace to an account through an install link, without an operator
 * (docs/security.md "Slack installations and their tokens"): only an Active administrator of the
 * link's account links it; every refusal links nothing and is audited.
 */
import { describe, expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { linkedAccountId, linkedExternalIds } from '../../src/accounts/linked-account.ts'
import { readAudit } from '../../src/audit/audit-repository.ts'
import { signInstallLink } from '../../src/installations/install-link.ts'
import { linkInstalledWorkspace } from '../../src/installations/link-installed-workspace.ts'
import type { Actor } from '../../src/invitations/model.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const TEAM = 'T0CUSTOMER'

/** The installer as the Slack adapter hands them over: Slack's user id and the email users.info vouched for. */
const installer = (email: string | null): Actor => ({ platform: 'slack', platformUserId: 'U0INSTALLER', email })

function linkFor(accountId: string, days = 7): string {
  return signInstallLink(deps.config.inviteSecret, { accountId, expiresAt: new Date(deps.clock.now().getTime() + days * DAY) })
}

async function slackLinks(): Promise<{ external_id: string; account_id: string }[]> {
  return db.knex('chat_connections').where({ platform: 'slack' }).orderBy('external_id').select('external_id', 'account_id')
}

async function lastInstallAudit(accountId: string | null) {
  const rows = await db.knex('audit_log').where({ account_id: accountId }).whereLike('action', 'slack.install.%').orderBy('id', 'desc').limit(1)
  return rows[0] as { action: string; result_code: string; ok: boolean; actor_platform: string; actor_platform_id: string; actor_email: string | null; detail: Record<string, unknown> } | undefined
}

describe('an install through an install link', () => {
  test('by an Active administrator of the account: the workspace is linked, audited on the account', async () => {
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: 'Customer HQ', installer: installer(seed.admin.email) })
    expect(r).toEqual({ ok: true, code: 'slack.install.linked', accountId: seed.account.id, accountName: seed.account.name })
    expect(await linkedAccountId(deps, 'slack', TEAM)).toBe(seed.account.id)
    expect(await linkedExternalIds(deps, 'slack', seed.account.id)).toEqual([TEAM])
    expect(await lastInstallAudit(seed.account.id)).toMatchObject({
      action: 'slack.install.linked',
      result_code: 'slack.install.linked',
      ok: true,
      actor_platform: 'slack',
      actor_platform_id: 'U0INSTALLER',
      actor_email: seed.admin.email,
      detail: { externalId: TEAM, workspaceName: 'Customer HQ', link: 'valid' },
    })
  })

  test('the email is compared normalised (Slack may vouch for it in another case)', async () => {
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email.toUpperCase()) })
    expect(r).toMatchObject({ ok: true, code: 'slack.install.linked' })
  })

  test('by the same account again (a reinstall through a link): already linked, nothing changes', async () => {
    await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
    const again = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
    expect(again).toEqual({ ok: true, code: 'slack.install.already_linked', accountId: seed.account.id, accountName: seed.account.name })
    expect(await slackLinks()).toEqual([{ external_id: TEAM, account_id: seed.account.id }])
  })

  test('an org-wide install links the organisation by its enterprise id', async () => {
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: 'E0GRID', workspaceName: 'Grid Org', installer: installer(seed.admin.email) })
    expect(r).toMatchObject({ ok: true, code: 'slack.install.linked' })
    expect(await linkedAccountId(deps, 'slack', 'E0GRID')).toBe(seed.account.id)
  })
})

describe('refusals link nothing and are audited', () => {
  test.each([
    ['someone who is not a member', 'stranger@elsewhere.test'],
    ['an invited (not yet Active) member', 'invited@acme.test'],
    ['a member who is not an administrator', 'member@acme.test'],
    ['an installer whose email Slack did not vouch for', null],
    ['an email that is not one', 'not an email'],
  ])('not an Active administrator: %s', async (_label, email) => {
    await inviteUser(deps, seed, 'invited@acme.test')
    await db.knex('users').insert({ account_id: seed.account.id, email: 'member@acme.test', status: 'active', joined_at: new Date(), first_name: 'M', last_name: 'Ember', created_at: new Date(), updated_at: new Date() })
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: 'Customer HQ', installer: installer(email) })
    expect(r).toEqual({ ok: false, code: 'slack.install.not_admin', accountName: seed.account.name })
    expect(await slackLinks()).toEqual([])
    expect(await lastInstallAudit(seed.account.id)).toMatchObject({ action: 'slack.install.refused', result_code: 'slack.install.not_admin', ok: false, actor_email: email, detail: { externalId: TEAM } })
  })

  test('an administrator of another account is not an administrator of this one', async () => {
    const other = await seedAccount(deps, { name: 'Other Co' })
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(other.admin.email) })
    expect(r).toMatchObject({ ok: false, code: 'slack.install.not_admin' })
    expect(await slackLinks()).toEqual([])
  })

  test('an administrator who was removed since the link was made', async () => {
    const token = linkFor(seed.account.id)
    await db.knex('users').where({ id: seed.admin.userId }).update({ status: 'removed' })
    expect(await linkInstalledWorkspace(deps, { linkToken: token, externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })).toMatchObject({ ok: false, code: 'slack.install.not_admin' })
    expect(await slackLinks()).toEqual([])
  })

  test('an expired link: refused as expired, audited on the account it named', async () => {
    const token = linkFor(seed.account.id, 1)
    deps.clock.advance(DAY)
    const r = await linkInstalledWorkspace(deps, { linkToken: token, externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
    expect(r).toEqual({ ok: false, code: 'slack.install.link_expired', accountName: seed.account.name })
    expect(await slackLinks()).toEqual([])
    expect(await lastInstallAudit(seed.account.id)).toMatchObject({ result_code: 'slack.install.link_expired', ok: false, detail: { link: 'expired' } })
  })

  test('a tampered or malformed link: refused as invalid, audited without an account', async () => {
    const token = linkFor(seed.account.id)
    const parts = token.split('.')
    const otherAccount = (await seedAccount(deps, { name: 'Target Co' })).account.id
    // The account swapped for another: the signature no longer matches.
    const swapped = [parts[0], otherAccount.replace(/-/g, ''), ...parts.slice(2)].join('.')
    // One signature character changed, away from its end: the last character of base64url also
    // carries padding bits, so a change there can decode to the same bytes (for about 1 token in
    // 1,000, each token having a random nonce: it made this test fail once).
    const at = token.length - 10
    const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
    for (const bad of [swapped, flipped, 'garbage', '', 'v1.' + 'a'.repeat(500)]) {
      const r = await linkInstalledWorkspace(deps, { linkToken: bad, externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
      expect(r).toEqual({ ok: false, code: 'slack.install.link_invalid', accountName: null })
    }
    expect(await slackLinks()).toEqual([])
    const refused = await db.knex('audit_log').whereNull('account_id').where({ action: 'slack.install.refused' }).select('result_code')
    expect(refused).toHaveLength(5)
    expect(new Set(refused.map((x: { result_code: string }) => x.result_code))).toEqual(new Set(['slack.install.link_invalid']))
  })

  test('a link signed under another INVITE_SECRET is invalid here', async () => {
    const foreign = signInstallLink(Buffer.alloc(32, 9), { accountId: seed.account.id, expiresAt: new Date(deps.clock.now().getTime() + DAY) })
    expect(await linkInstalledWorkspace(deps, { linkToken: foreign, externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })).toMatchObject({ ok: false, code: 'slack.install.link_invalid' })
  })

  test('no link: an unlinked workspace is told to ask for one; a linked one stays linked', async () => {
    const r = await linkInstalledWorkspace(deps, { linkToken: null, externalId: TEAM, workspaceName: 'Customer HQ', installer: installer(seed.admin.email) })
    expect(r).toEqual({ ok: false, code: 'slack.install.no_link', accountName: null })
    expect(await slackLinks()).toEqual([])
    expect(await lastInstallAudit(null)).toMatchObject({ action: 'slack.install.refused', result_code: 'slack.install.no_link', detail: { link: 'none' } })

    expect((await connectChat(deps.db, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: null })).ok).toBe(true)
    const again = await linkInstalledWorkspace(deps, { linkToken: null, externalId: TEAM, workspaceName: null, installer: installer('anyone@else.test') })
    expect(again).toEqual({ ok: true, code: 'slack.install.already_linked', accountId: seed.account.id, accountName: seed.account.name })
  })

  test('a workspace linked to another account is not moved, even by an administrator of both', async () => {
    const other = await seedAccount(deps, { name: 'Other Co', adminEmail: seed.admin.email })
    expect((await connectChat(deps.db, { platform: 'slack', externalId: TEAM, accountId: other.account.id, channelId: null })).ok).toBe(true)
    const r = await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
    expect(r).toEqual({ ok: false, code: 'slack.install.linked_elsewhere', accountName: seed.account.name })
    expect(await slackLinks()).toEqual([{ external_id: TEAM, account_id: other.account.id }])
    expect(await lastInstallAudit(seed.account.id)).toMatchObject({ result_code: 'slack.install.linked_elsewhere', detail: { linkedTo: other.account.id } })
  })

  test('the link\'s account was deleted since', async () => {
    const gone = await seedAccount(deps, { name: 'Gone Co' })
    const token = linkFor(gone.account.id)
    await db.knex('accounts').where({ id: gone.account.id }).delete()
    expect(await linkInstalledWorkspace(deps, { linkToken: token, externalId: TEAM, workspaceName: null, installer: installer(gone.admin.email) })).toEqual({ ok: false, code: 'account.not_found', accountName: null })
    expect(await slackLinks()).toEqual([])
  })

  test('a workspace id that is not Slack\'s is a caller bug: thrown, nothing written', async () => {
    await expect(linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: "T1'; --", workspaceName: null, installer: installer(seed.admin.email) })).rejects.toThrow(/Slack team or enterprise id/)
    expect(await slackLinks()).toEqual([])
    expect(await db.knex('audit_log').whereLike('action', 'slack.%').count({ n: '*' }).first()).toEqual({ n: 0 })
  })

  test('two administrators of two accounts installing the same workspace at once: one link', async () => {
    const other = await seedAccount(deps, { name: 'Other Co' })
    const results = await Promise.all([
      linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) }),
      linkInstalledWorkspace(deps, { linkToken: linkFor(other.account.id), externalId: TEAM, workspaceName: null, installer: installer(other.admin.email) }),
    ])
    expect(results.map((r) => r.code).sort()).toEqual(['slack.install.linked', 'slack.install.linked_elsewhere'])
    const links = await slackLinks()
    expect(links).toHaveLength(1)
    const winner = results.find((r) => r.ok)
    expect(links[0]!.account_id).toBe(winner?.ok ? winner.accountId : null)
  })
})

test('readAudit shows the link on the account', async () => {
  await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: TEAM, workspaceName: null, installer: installer(seed.admin.email) })
  const [entry] = await readAudit(deps.db, seed.account.id, { limit: 1 })
  expect(entry).toMatchObject({ action: 'slack.install.linked', ok: true })
})

test('the workspaces linked to an account, in the order they were linked; a destination keeps the workspace it names', async () => {
  for (const team of ['T0SECOND', 'T0FIRST']) {
    expect(await linkInstalledWorkspace(deps, { linkToken: linkFor(seed.account.id), externalId: team, workspaceName: null, installer: installer(seed.admin.email) })).toMatchObject({ ok: true })
    deps.clock.advance(1000)
  }
  expect((await connectChat(deps.db, { platform: 'test-chat', externalId: 'W0ELSEWHERE', accountId: seed.account.id, channelId: null })).ok).toBe(true)
  const other = await seedAccount(deps, { name: 'Other Co' })
  expect((await connectChat(deps.db, { platform: 'slack', externalId: 'T0OTHER', accountId: other.account.id, channelId: 'C0OTHER', reference: { teamId: 'T0OTHER' } })).ok).toBe(true)
  const linked = await linkedExternalIds(deps, 'slack', seed.account.id)
  expect(new Set(linked)).toEqual(new Set(['T0SECOND', 'T0FIRST']))
  expect(await linkedExternalIds(deps, 'slack', other.account.id)).toEqual(['T0OTHER'])
  expect(await linkedExternalIds(deps, 'slack', 'not-a-uuid')).toEqual([])
  expect(await db.knex('notice_destinations').where({ account_id: other.account.id }).select('platform', 'conversation_id', 'reference')).toEqual([{ platform: 'slack', conversation_id: 'C0OTHER', reference: { teamId: 'T0OTHER' } }])
})
