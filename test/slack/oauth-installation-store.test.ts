/**
 * The InstallationStore @slack/oauth writes through (installation-store.ts), on a real database:
 * @slack/oauth's installations map to the core's and back without losing what InviteOps uses,
 * unusable ones are refused with nothing stored, and uninstalled ones are not handed out.
 */
import type { Installation } from '@slack/oauth'
import { describe, expect, it } from 'vitest'
import { createSlackInstallationStore, SlackInstallationNotFoundError, toSlackInstallation, UnusableInstallationError } from '../../adapters/slack/installation-store.ts'
import { findSlackInstallation } from '../../src/installations/slack-installations.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import type { TestDeps } from '../support/factories.ts'

let deps: TestDeps
useSeededDatabase((t) => (deps = t.deps))

const rows = async () => Number((await deps.db('slack_installations').count<{ n: string }[]>({ n: '*' }))[0]?.n ?? 0)

/** What @slack/oauth's handleCallback builds from a v2 answer with a bot token. */
function workspaceInstall(overrides: Partial<Installation<'v2', false>> = {}): Installation<'v2', false> {
  return {
    team: { id: 'T0STORE001', name: 'Store Team' },
    enterprise: { id: 'E0STOREGRID', name: 'Store Grid' },
    user: { id: 'U0INSTALLER', token: 'xoxp-installer-user-token', scopes: ['identify'] },
    bot: { token: 'xoxe.xoxb-1-store-bot', refreshToken: 'xoxe-1-store-refresh', expiresAt: 1_795_000_000, scopes: ['commands', 'chat:write', 'users:read', 'users:read.email'], id: 'B0STOREBOT', userId: 'U0STOREBOT' },
    appId: 'A0INVITEOPS',
    tokenType: 'bot',
    isEnterpriseInstall: false,
    authVersion: 'v2',
    metadata: 'v1.some-link',
    ...overrides,
  }
}

describe('storeInstallation and fetchInstallation', () => {
  it('a workspace install round-trips: tokens, expiry, ids, scopes, installer, names; the installer\'s user token is not kept', async () => {
    const store = createSlackInstallationStore(deps)
    await store.storeInstallation(workspaceInstall())
    const fetched = await store.fetchInstallation({ teamId: 'T0STORE001', enterpriseId: 'E0STOREGRID', isEnterpriseInstall: false })
    expect(fetched).toEqual({
      team: { id: 'T0STORE001', name: 'Store Team' },
      enterprise: { id: 'E0STOREGRID', name: 'Store Grid' },
      user: { id: 'U0INSTALLER', token: undefined, scopes: undefined },
      bot: { token: 'xoxe.xoxb-1-store-bot', refreshToken: 'xoxe-1-store-refresh', expiresAt: 1_795_000_000, scopes: ['commands', 'chat:write', 'users:read', 'users:read.email'], id: 'B0STOREBOT', userId: 'U0STOREBOT' },
      appId: 'A0INVITEOPS',
      tokenType: 'bot',
      isEnterpriseInstall: false,
      authVersion: 'v2',
    })
    const found = await findSlackInstallation(deps, { teamId: 'T0STORE001', enterpriseId: null })
    expect(found).toMatchObject({ status: 'active', installation: { botTokenExpiresAt: new Date(1_795_000_000 * 1000), installerUserId: 'U0INSTALLER' } })
    const dump = JSON.stringify(await deps.db('slack_installations').select())
    expect(dump).not.toContain('xoxp-installer-user-token')
  })

  it('an org-wide install is stored for the organisation, without a team', async () => {
    const store = createSlackInstallationStore(deps)
    await store.storeInstallation({ ...workspaceInstall(), team: undefined, isEnterpriseInstall: true } as unknown as Installation)
    const fetched = await store.fetchInstallation({ teamId: undefined, enterpriseId: 'E0STOREGRID', isEnterpriseInstall: true })
    expect(fetched).toMatchObject({ team: undefined, enterprise: { id: 'E0STOREGRID', name: 'Store Grid' }, isEnterpriseInstall: true, bot: { token: 'xoxe.xoxb-1-store-bot' } })
    // A workspace of that organisation is answered with the organisation's installation.
    const fromWorkspace = await store.fetchInstallation({ teamId: 'T0MEMBER01', enterpriseId: 'E0STOREGRID', isEnterpriseInstall: false })
    expect(fromWorkspace.bot?.token).toBe('xoxe.xoxb-1-store-bot')
  })

  it('without token rotation: no refresh token, no expiry', async () => {
    const store = createSlackInstallationStore(deps)
    await store.storeInstallation(workspaceInstall({ bot: { token: 'xoxb-plain-bot', scopes: ['commands'], id: 'B0STOREBOT', userId: 'U0STOREBOT' } }))
    const fetched = await store.fetchInstallation({ teamId: 'T0STORE001', enterpriseId: undefined, isEnterpriseInstall: false })
    expect(fetched.bot).toEqual({ token: 'xoxb-plain-bot', scopes: ['commands'], id: 'B0STOREBOT', userId: 'U0STOREBOT' })
  })

  it.each([
    ['no bot (user scopes only)', { bot: undefined }, /no bot token/],
    ['an empty bot token', { bot: { token: '', scopes: [], id: 'B0X', userId: 'U0X' } }, /no bot token/],
    ['no bot user id', { bot: { token: 'xoxb-x', scopes: [], id: 'B0X', userId: '' } }, /no bot user id/],
    ['no team on a workspace install', { team: { id: '' } }, /without a team id/],
  ] as [string, Partial<Installation<'v2', false>>, RegExp][])('%s: refused with a clear error, nothing stored', async (_label, overrides, message) => {
    const store = createSlackInstallationStore(deps)
    const attempt = store.storeInstallation(workspaceInstall(overrides))
    await expect(attempt).rejects.toBeInstanceOf(UnusableInstallationError)
    await expect(attempt).rejects.toThrow(message)
    expect(await rows()).toBe(0)
  })

  it('an org-wide install without an enterprise id is refused', () => {
    expect(toSlackInstallation({ ...workspaceInstall(), enterprise: undefined, isEnterpriseInstall: true } as unknown as Installation)).toEqual({ ok: false, reason: 'an org-wide installation without an enterprise id' })
  })
})

describe('fetchInstallation of a workspace without an active installation, and deleteInstallation', () => {
  it('never installed: a not-found error saying so', async () => {
    const store = createSlackInstallationStore(deps)
    const attempt = store.fetchInstallation({ teamId: 'T0NEVER001', enterpriseId: undefined, isEnterpriseInstall: false })
    await expect(attempt).rejects.toBeInstanceOf(SlackInstallationNotFoundError)
    await expect(attempt).rejects.toMatchObject({ status: 'never_installed' })
  })

  it('deleteInstallation disables it: the tokens are gone, fetch says uninstalled', async () => {
    const store = createSlackInstallationStore(deps)
    await store.storeInstallation(workspaceInstall())
    await store.deleteInstallation!({ teamId: 'T0STORE001', enterpriseId: undefined, isEnterpriseInstall: false })
    await expect(store.fetchInstallation({ teamId: 'T0STORE001', enterpriseId: undefined, isEnterpriseInstall: false })).rejects.toMatchObject({ status: 'uninstalled' })
    const [row] = await deps.db('slack_installations').select('status', 'tokens')
    expect(row).toEqual({ status: 'uninstalled', tokens: null })
  })
})
