/**
 * Slack installations on the database (docs/security.md "Slack installations and their tokens"):
 * save, find, install again, the order of workspace and org-wide rows, uninstall and revocation
 * wiping the tokens, tokens sealed under another INVITE_SECRET, and token rotation once across
 * connections.
 */
import knexFactory, { type Knex } from 'knex'
import { describe, expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { readAudit } from '../../src/audit/audit-repository.ts'
import {
  disableSlackInstallation,
  findSlackInstallation,
  refreshSlackBotToken,
  saveSlackInstallation,
  type SlackBotTokens,
  type SlackInstallation,
} from '../../src/installations/slack-installations.ts'
import { captureLogger } from '../email/support/capture-logger.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, makeDeps, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { untilLockWaiter } from '../support/lock-waiter.ts'
import { slackInstallation } from '../support/slack-installation.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const HOUR = 3_600_000

/** A workspace install with tokens of its own (rotation on when `expiresInMs` is given). */
function workspace(teamId: string, over: Partial<SlackInstallation> & { expiresInMs?: number } = {}): SlackInstallation {
  const { expiresInMs, ...rest } = over
  return slackInstallation(teamId, `xoxb-${teamId}-111-secret`, {
    botScopes: ['commands', 'chat:write', 'users:read', 'users:read.email'],
    botRefreshToken: expiresInMs === undefined ? null : `xoxe-1-${teamId}-refresh`,
    botTokenExpiresAt: expiresInMs === undefined ? null : new Date(deps.clock.now().getTime() + expiresInMs),
    ...rest,
  })
}

/** An org-wide install of an Enterprise Grid organisation. */
function organisation(enterpriseId: string, over: Partial<SlackInstallation> = {}): SlackInstallation {
  return { ...workspace('T0UNUSED'), teamId: null, teamName: null, enterpriseId, enterpriseName: `Org ${enterpriseId}`, isEnterpriseInstall: true, botToken: `xoxb-${enterpriseId}-org-secret`, ...over }
}

async function activeToken(q: { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall?: boolean }): Promise<string | null> {
  const found = await findSlackInstallation(deps, q)
  return found?.status === 'active' ? found.installation.botToken : null
}

describe('saving and finding', () => {
  test('an installation reads back as saved, with its install time; the row holds no token in clear', async () => {
    const saved = workspace('T0ONE', { expiresInMs: 12 * HOUR })
    expect(await saveSlackInstallation(deps, saved)).toEqual({ reinstalled: false })
    expect(await findSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null })).toEqual({ status: 'active', installation: saved, installedAt: deps.clock.now() })
    const row = await db.knex('slack_installations').where({ installation_key: 'T0ONE' }).first()
    expect(row.status).toBe('active')
    expect(Buffer.isBuffer(row.tokens)).toBe(true)
    expect(JSON.stringify(row)).not.toContain('xox')
    expect((row.tokens as Buffer).includes(Buffer.from('xoxb'))).toBe(false)
  })

  test('installing again replaces the row (one per workspace) and says so; the audit log says who installed', async () => {
    expect((await connectChat(deps.db, { platform: 'slack', externalId: 'T0ONE', accountId: seed.account.id, channelId: null })).ok).toBe(true)
    await saveSlackInstallation(deps, workspace('T0ONE'))
    deps.clock.advance(DAY)
    expect(await saveSlackInstallation(deps, workspace('T0ONE', { botToken: 'xoxb-T0ONE-222-new', botScopes: ['commands'], teamName: 'Renamed' }))).toEqual({ reinstalled: true })
    const found = await findSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null })
    expect(found).toMatchObject({ status: 'active', installedAt: deps.clock.now(), installation: { botToken: 'xoxb-T0ONE-222-new', botScopes: ['commands'], teamName: 'Renamed' } })
    expect(await db.knex('slack_installations').count({ n: '*' }).first()).toEqual({ n: 1 })
    const audit = await readAudit(deps.db, seed.account.id, { limit: 10 })
    const installs = audit.filter((e) => e.action === 'slack.installed')
    expect(installs.map((e) => e.resultCode)).toEqual(['slack.reinstalled', 'slack.installed'])
    expect(installs[0]).toMatchObject({ actor: { platform: 'slack', platformUserId: 'U0INSTALLER' }, ok: true, detail: { installationKey: 'T0ONE', reinstalled: true } })
    expect(JSON.stringify(audit)).not.toContain('xox')
  })

  test('an install of an unlinked workspace is audited without an account', async () => {
    await saveSlackInstallation(deps, workspace('T0LONE'))
    const rows = await db.knex('audit_log').where({ action: 'slack.installed' }).select('account_id', 'result_code', 'detail')
    expect(rows).toEqual([{ account_id: null, result_code: 'slack.installed', detail: expect.objectContaining({ teamId: 'T0LONE' }) }])
  })

  test('never installed, or ids that are not Slack ids, find nothing and query nothing harmful', async () => {
    await saveSlackInstallation(deps, workspace('T0ONE'))
    expect(await findSlackInstallation(deps, { teamId: 'T0OTHER', enterpriseId: null })).toBeNull()
    for (const junk of ["T0ONE' OR 1=1 --", 't0one', '', 'U0ONE', null]) {
      expect(await findSlackInstallation(deps, { teamId: junk, enterpriseId: junk })).toBeNull()
    }
    expect(await findSlackInstallation(deps, { teamId: null, enterpriseId: null, isEnterpriseInstall: true })).toBeNull()
  })

  test('a malformed installation is refused with the field named, and nothing is stored', async () => {
    const bad: [Partial<SlackInstallation>, RegExp][] = [
      [{ teamId: 'not-a-team' }, /teamId/],
      [{ teamId: null }, /teamId/],
      [{ botToken: 'not a token' }, /botToken/],
      [{ botUserId: '' }, /botUserId/],
      [{ botTokenExpiresAt: new Date(Number.NaN) }, /botTokenExpiresAt/],
      [{ botScopes: ['chat:write', 'DROP TABLE'] }, /botScopes/],
    ]
    for (const [over, field] of bad) {
      const attempt = saveSlackInstallation(deps, { ...workspace('T0BAD'), ...over })
      await expect(attempt).rejects.toThrow(field)
      await expect(attempt).rejects.not.toThrow(/xoxb-T0BAD/)
    }
    await expect(saveSlackInstallation(deps, { ...organisation('E0ORG'), enterpriseId: null })).rejects.toThrow(/enterpriseId/)
    expect(await db.knex('slack_installations').count({ n: '*' }).first()).toEqual({ n: 0 })
    expect(await db.knex('audit_log').where({ action: 'slack.installed' }).count({ n: '*' }).first()).toEqual({ n: 0 })
  })

  test('the table refuses a row that is not honest', async () => {
    await saveSlackInstallation(deps, workspace('T0ONE'))
    const row = await db.knex('slack_installations').where({ installation_key: 'T0ONE' }).first()
    const insert = (over: Record<string, unknown>) => db.knex('slack_installations').insert({ ...row, installation_key: 'T0TWO', team_id: 'T0TWO', ...over })
    await expect(insert({ tokens: null })).rejects.toThrow(/tokens_iff_active/)
    await expect(insert({ status: 'uninstalled' })).rejects.toThrow(/check/)
    await expect(insert({ team_id: 'T0THREE' })).rejects.toThrow(/key_matches/)
    await expect(insert({ installation_key: 'x', team_id: 'x' })).rejects.toThrow(/check/)
    await expect(insert({ is_enterprise_install: true })).rejects.toThrow(/key_matches/)
  })
})

describe('workspace and org-wide installs', () => {
  test('a workspace request finds its own row first, else its organisation\'s org-wide row', async () => {
    await saveSlackInstallation(deps, organisation('E0ORG'))
    await saveSlackInstallation(deps, workspace('T0OWN', { enterpriseId: 'E0ORG' }))
    expect(await activeToken({ teamId: 'T0OWN', enterpriseId: 'E0ORG' })).toBe('xoxb-T0OWN-111-secret')
    // Another workspace of the organisation has no row of its own: the org-wide install serves it.
    expect(await activeToken({ teamId: 'T0SIBLING', enterpriseId: 'E0ORG' })).toBe('xoxb-E0ORG-org-secret')
    // isEnterpriseInstall looks at the org row only.
    expect(await activeToken({ teamId: 'T0OWN', enterpriseId: 'E0ORG', isEnterpriseInstall: true })).toBe('xoxb-E0ORG-org-secret')
    // A workspace outside any organisation finds nothing of the org's.
    expect(await findSlackInstallation(deps, { teamId: 'T0SIBLING', enterpriseId: null })).toBeNull()
    // Nor does another organisation.
    expect(await findSlackInstallation(deps, { teamId: 'T0SIBLING', enterpriseId: 'E0OTHER' })).toBeNull()
    const org = await findSlackInstallation(deps, { teamId: null, enterpriseId: 'E0ORG', isEnterpriseInstall: true })
    expect(org).toMatchObject({ status: 'active', installation: { teamId: null, enterpriseId: 'E0ORG', isEnterpriseInstall: true, enterpriseName: 'Org E0ORG' } })
  })

  test('an active row wins over a disabled one; when none is active, the workspace\'s own row says why', async () => {
    await saveSlackInstallation(deps, organisation('E0ORG'))
    await saveSlackInstallation(deps, workspace('T0OWN', { enterpriseId: 'E0ORG' }))
    expect(await disableSlackInstallation(deps, { teamId: 'T0OWN', enterpriseId: 'E0ORG' }, 'uninstalled')).toBe(true)
    // The workspace's own uninstall did not touch the organisation's install, which now serves it.
    expect(await activeToken({ teamId: 'T0OWN', enterpriseId: 'E0ORG' })).toBe('xoxb-E0ORG-org-secret')
    deps.clock.advance(HOUR)
    expect(await disableSlackInstallation(deps, { teamId: null, enterpriseId: 'E0ORG', isEnterpriseInstall: true }, 'revoked')).toBe(true)
    expect(await findSlackInstallation(deps, { teamId: 'T0OWN', enterpriseId: 'E0ORG' })).toEqual({ status: 'uninstalled', at: new Date(deps.clock.now().getTime() - HOUR), teamName: 'Team T0OWN' })
    expect(await findSlackInstallation(deps, { teamId: 'T0SIBLING', enterpriseId: 'E0ORG' })).toEqual({ status: 'revoked', at: deps.clock.now(), teamName: null })
  })
})

describe('uninstall and revocation', () => {
  test('wipe the tokens, keep the row, say when; audited once on the linked account; installing again works', async () => {
    expect((await connectChat(deps.db, { platform: 'slack', externalId: 'T0ONE', accountId: seed.account.id, channelId: null })).ok).toBe(true)
    await saveSlackInstallation(deps, workspace('T0ONE', { expiresInMs: 12 * HOUR }))
    deps.clock.advance(HOUR)
    expect(await disableSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null }, 'uninstalled')).toBe(true)
    const row = await db.knex('slack_installations').where({ installation_key: 'T0ONE' }).first()
    expect(row).toMatchObject({ status: 'uninstalled', tokens: null, bot_token_expires_at: null, disabled_at: deps.clock.now() })
    expect(await findSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null })).toEqual({ status: 'uninstalled', at: deps.clock.now(), teamName: 'Team T0ONE' })
    // A redelivered event (or tokens_revoked right after app_uninstalled) changes nothing more.
    expect(await disableSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null }, 'uninstalled')).toBe(false)
    expect(await disableSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null }, 'revoked')).toBe(false)
    expect(await disableSlackInstallation(deps, { teamId: 'T0NEVER', enterpriseId: null }, 'revoked')).toBe(false)
    expect(await disableSlackInstallation(deps, { teamId: 'junk', enterpriseId: null }, 'revoked')).toBe(false)
    const audit = (await readAudit(deps.db, seed.account.id, { limit: 10 })).filter((e) => e.action.startsWith('slack.'))
    expect(audit.map((e) => e.action)).toEqual(['slack.uninstalled', 'slack.installed'])
    expect(audit[0]).toMatchObject({ actor: { platform: 'system' }, resultCode: 'slack.uninstalled', ok: true, detail: { installationKey: 'T0ONE' } })

    await saveSlackInstallation(deps, workspace('T0ONE'))
    expect(await activeToken({ teamId: 'T0ONE', enterpriseId: null })).toBe('xoxb-T0ONE-111-secret')
    expect(await disableSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null }, 'revoked')).toBe(true)
    expect(await findSlackInstallation(deps, { teamId: 'T0ONE', enterpriseId: null })).toMatchObject({ status: 'revoked' })
    expect((await readAudit(deps.db, seed.account.id, { limit: 1 }))[0]).toMatchObject({ action: 'slack.tokens_revoked', resultCode: 'slack.tokens_revoked' })
  })

  test('an unlinked workspace\'s uninstall is audited without an account', async () => {
    await saveSlackInstallation(deps, workspace('T0LONE'))
    expect(await disableSlackInstallation(deps, { teamId: 'T0LONE', enterpriseId: null }, 'uninstalled')).toBe(true)
    expect(await db.knex('audit_log').where({ action: 'slack.uninstalled' }).select('account_id')).toEqual([{ account_id: null }])
  })
})

describe('tokens sealed under another INVITE_SECRET', () => {
  test('read as revoked (the workspace installs again), logged once at error level, never thrown', async () => {
    await saveSlackInstallation(deps, workspace('T0ONE', { expiresInMs: HOUR }))
    const logger = captureLogger()
    const rotated = makeDeps(db.knex, { logger, config: { inviteSecret: Buffer.alloc(32, 9) } })
    expect(await findSlackInstallation(rotated, { teamId: 'T0ONE', enterpriseId: null })).toEqual({ status: 'revoked', at: deps.clock.now(), teamName: 'Team T0ONE' })
    expect(await findSlackInstallation(rotated, { teamId: 'T0ONE', enterpriseId: null })).toMatchObject({ status: 'revoked' })
    expect(await refreshSlackBotToken(rotated, { teamId: 'T0ONE', enterpriseId: null, isEnterpriseInstall: false }, { refreshWithinMs: DAY, refresh: () => Promise.reject(new Error('must not be called')) })).toBeNull()
    const errors = logger.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ fields: { installationKey: 'T0ONE' }, msg: expect.stringMatching(/INVITE_SECRET/) })
    // The old secret still opens it: nothing was changed by the reads.
    expect(await activeToken({ teamId: 'T0ONE', enterpriseId: null })).toBe('xoxb-T0ONE-111-secret')
    // Installing again under the new secret works, and the workspace reads as active.
    await saveSlackInstallation(rotated, workspace('T0ONE', { botToken: 'xoxb-T0ONE-333-again' }))
    expect(await findSlackInstallation(rotated, { teamId: 'T0ONE', enterpriseId: null })).toMatchObject({ status: 'active', installation: { botToken: 'xoxb-T0ONE-333-again' } })
  })

  test('a sealed box moved onto another row does not open there', async () => {
    await saveSlackInstallation(deps, workspace('T0ONE'))
    await saveSlackInstallation(deps, workspace('T0TWO'))
    const one = await db.knex('slack_installations').where({ installation_key: 'T0ONE' }).first('tokens')
    await db.knex('slack_installations').where({ installation_key: 'T0TWO' }).update({ tokens: one.tokens })
    expect(await findSlackInstallation(deps, { teamId: 'T0TWO', enterpriseId: null })).toMatchObject({ status: 'revoked' })
    expect(await activeToken({ teamId: 'T0ONE', enterpriseId: null })).toBe('xoxb-T0ONE-111-secret')
  })
})

describe('token rotation', () => {
  const key = { teamId: 'T0ROT', enterpriseId: null, isEnterpriseInstall: false }
  const fresh = (n: number): SlackBotTokens => ({ botToken: `xoxe.xoxb-1-T0ROT-fresh-${n}`, botRefreshToken: `xoxe-1-T0ROT-refresh-${n}`, botTokenExpiresAt: new Date(deps.clock.now().getTime() + 12 * HOUR) })

  test('refreshes only within the window, stores what it got, and rotates the refresh token', async () => {
    await saveSlackInstallation(deps, workspace('T0ROT', { expiresInMs: 3 * HOUR }))
    const calls: string[] = []
    const refresh = (t: string) => (calls.push(t), Promise.resolve(fresh(calls.length)))
    // Not due yet: the current installation, untouched.
    expect(await refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh })).toMatchObject({ botToken: 'xoxb-T0ROT-111-secret' })
    expect(calls).toEqual([])
    deps.clock.advance(HOUR + 1)
    const refreshed = await refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh })
    expect(calls).toEqual(['xoxe-1-T0ROT-refresh'])
    expect(refreshed).toMatchObject({ teamId: 'T0ROT', botUserId: workspace('T0ROT').botUserId, ...fresh(1) })
    expect(await findSlackInstallation(deps, key)).toMatchObject({ status: 'active', installation: fresh(1) })
    // The next rotation uses the rotated refresh token.
    deps.clock.advance(11 * HOUR)
    await refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh })
    expect(calls).toEqual(['xoxe-1-T0ROT-refresh', 'xoxe-1-T0ROT-refresh-1'])
  })

  test('a refresh that throws, or answers nonsense, leaves the old token and says so to the caller', async () => {
    await saveSlackInstallation(deps, workspace('T0ROT', { expiresInMs: HOUR }))
    await expect(refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh: () => Promise.reject(new Error('oauth.v2.access: invalid_refresh_token')) })).rejects.toThrow(/invalid_refresh_token/)
    await expect(refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh: () => Promise.resolve({ botToken: '', botRefreshToken: null, botTokenExpiresAt: null }) })).rejects.toThrow(/not a bot token/)
    expect(await findSlackInstallation(deps, key)).toMatchObject({ status: 'active', installation: { botToken: 'xoxb-T0ROT-111-secret', botRefreshToken: 'xoxe-1-T0ROT-refresh' } })
  })

  test('no rotation without an expiry or a refresh token; nothing for an inactive or unknown installation', async () => {
    const refresh = () => Promise.reject(new Error('must not be called'))
    await saveSlackInstallation(deps, workspace('T0ROT'))
    expect(await refreshSlackBotToken(deps, key, { refreshWithinMs: DAY, refresh })).toMatchObject({ botToken: 'xoxb-T0ROT-111-secret', botTokenExpiresAt: null })
    await disableSlackInstallation(deps, key, 'revoked')
    expect(await refreshSlackBotToken(deps, key, { refreshWithinMs: DAY, refresh })).toBeNull()
    expect(await refreshSlackBotToken(deps, { ...key, teamId: 'T0NONE' }, { refreshWithinMs: DAY, refresh })).toBeNull()
    expect(await refreshSlackBotToken(deps, { ...key, teamId: 'bad id' }, { refreshWithinMs: DAY, refresh })).toBeNull()
  })

  test('two replicas rotating at once: one refresh, both get the fresh token', async () => {
    await saveSlackInstallation(deps, workspace('T0ROT', { expiresInMs: HOUR }))
    // A second connection pool, as another replica has.
    const other: Knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } })
    try {
      const replica = makeDeps(other, { now: deps.clock.now().toISOString() })
      let calls = 0
      let letFirstFinish!: () => void
      const firstMayFinish = new Promise<void>((resolve) => (letFirstFinish = resolve))
      let firstStarted!: () => void
      const firstIsRefreshing = new Promise<void>((resolve) => (firstStarted = resolve))
      let secondCalled!: () => void
      const refreshedTwice = new Promise<void>((resolve) => (secondCalled = resolve))
      const refresh = async () => {
        calls += 1
        if (calls === 1) firstStarted()
        else secondCalled()
        await firstMayFinish
        return fresh(calls)
      }
      const first = refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh })
      await firstIsRefreshing
      // The first holds the row's lock while it refreshes; the second starts now and must wait.
      const second = refreshSlackBotToken(replica, key, { refreshWithinMs: 2 * HOUR, refresh })
      // On Postgres, until the second waits for the lock (or, were there no lock, refreshes too);
      // on PGlite the second's transaction waits for the session the first holds.
      if (db.kind === 'postgres') {
        let second = false
        void refreshedTwice.then(() => (second = true))
        await Promise.race([untilLockWaiter(db.knex, () => second), refreshedTwice])
      }
      letFirstFinish()
      const [a, b] = await Promise.all([first, second])
      expect(calls).toBe(1)
      expect(a).toMatchObject(fresh(1))
      expect(b).toMatchObject(fresh(1))
      // And without any help, two at once on a token due again: still one refresh.
      deps.clock.advance(11 * HOUR)
      replica.clock.set(deps.clock.now())
      let later = 0
      const quick = () => ((later += 1), Promise.resolve(fresh(10 + later)))
      const both = await Promise.all([refreshSlackBotToken(deps, key, { refreshWithinMs: 2 * HOUR, refresh: quick }), refreshSlackBotToken(replica, key, { refreshWithinMs: 2 * HOUR, refresh: quick })])
      expect(later).toBe(1)
      expect(both[0]).toMatchObject(fresh(11))
      expect(both[1]).toMatchObject(fresh(11))
    } finally {
      await other.destroy()
    }
  })
})
