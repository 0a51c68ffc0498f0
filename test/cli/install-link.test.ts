/**
 * `inviteops slack install-link`: the CLI in-process on a real database, and the link it prints
 * opened on the real `/slack/install` route with the same INVITE_SECRET; `slack connect
 * --channel` and `slack disconnect`, which link and unlink a workspace by hand.
 */
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { readInstallLink } from '../../src/installations/install-link.ts'
import { runCli, useCliDatabase, type CliRun } from '../support/cli.ts'
import type { TestDatabase } from '../support/db.ts'
import { DAY, makeDeps } from '../support/factories.ts'
import { openInstallPage, serveInstallRouter } from '../slack/oauth-support.ts'

const INVITE_SECRET = 'install-link-test-secret-0123456789abcdef'

let db: TestDatabase
let env: NodeJS.ProcessEnv
let accountId: string
useCliDatabase((t) => ({ db, env } = t), { dirPrefix: 'inviteops-install-link-', env: { INVITE_SECRET } })

beforeAll(async () => {
  const created = await cli('accounts', 'create', '--name', 'Globex', '--admin', 'hank@globex.test', '--json')
  accountId = (JSON.parse(created.out) as { accountId: string }).accountId
  nock.disableNetConnect()
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1'))
})

afterAll(async () => {
  nock.enableNetConnect()
})

const cli = (...argv: string[]): Promise<CliRun> => runCli(env, ...argv)
const cliWith = runCli

describe('inviteops slack install-link', () => {
  test('prints a link to /slack/install, valid 7 days by default, that the route accepts and that names the account', async () => {
    const before = Date.now()
    const r = await cli('slack', 'install-link', '--account', 'globex')
    const after = Date.now()
    expect(r.code).toBe(0)
    const [link, validity, who] = r.out.split('\n')
    // No server recorded its address in this database: the CLI's own default, with a note saying so.
    expect(link).toMatch(/^http:\/\/localhost:3000\/slack\/install\?link=[A-Za-z0-9._-]+$/)
    expect(r.err).toContain('is a guess')
    const token = new URL(link!).searchParams.get('link')!
    const checked = readInstallLink(Buffer.from(INVITE_SECRET), token, new Date(after))
    if (!checked.ok) throw new Error(`the printed link does not verify: ${checked.reason}`)
    expect(checked.accountId).toBe(accountId)
    expect(checked.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY)
    expect(checked.expiresAt.getTime()).toBeLessThanOrEqual(after + 7 * DAY + 1000)
    expect(validity).toMatch(/^Valid until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(7 days\), for any number of workspaces\.$/)
    expect(who).toContain('Send it to an Active administrator of Globex')
    expect(who).toContain('signed in to the Slack workspace to install InviteOps into')

    const deps = makeDeps(db.knex, { now: new Date(after).toISOString(), config: { inviteSecret: Buffer.from(INVITE_SECRET) } })
    const server = await serveInstallRouter(deps)
    try {
      const page = await openInstallPage(server.base, token)
      expect(page.status).toBe(200)
      expect(page.html).toContain('to the account <strong>Globex</strong>')
      expect(page.authorizeUrl).not.toBeNull()
    } finally {
      await server.close()
    }
  })

  test('--days 1 and --days 30 are accepted; the link carries that many days', async () => {
    for (const days of [1, 30]) {
      const before = Date.now()
      const r = await cli('slack', 'install-link', '--account', accountId, '--days', String(days))
      expect(r.code).toBe(0)
      expect(r.out.split('\n')[1]).toContain(`(${days} day${days === 1 ? '' : 's'})`)
      const checked = readInstallLink(Buffer.from(INVITE_SECRET), new URL(r.out.split('\n')[0]!).searchParams.get('link'), new Date())
      if (!checked.ok) throw new Error(checked.reason)
      expect(checked.expiresAt.getTime()).toBeGreaterThanOrEqual(before + days * DAY)
    }
  })

  test('with PUBLIC_BASE_URL set, the link uses it', async () => {
    const r = await cliWith({ ...env, PUBLIC_BASE_URL: 'https://invites.example.com' }, 'slack', 'install-link', '--account', 'Globex')
    expect(r.code).toBe(0)
    expect(r.out.split('\n')[0]).toMatch(/^https:\/\/invites\.example\.com\/slack\/install\?link=/)
  })

  test('an environment in one-workspace mode is told the link needs a server in distribution mode', async () => {
    const r = await cliWith({ ...env, SLACK_BOT_TOKEN: 'xoxb-one-workspace', SLACK_SIGNING_SECRET: 'signing-secret' }, 'slack', 'install-link', '--account', 'Globex')
    expect(r.code).toBe(0)
    expect(r.err).toContain('the link works only on a server in distribution mode')
  })

  test.each([
    [['--days', '0'], 2, /--days: at least 1 day/],
    [['--days', '31'], 2, /--days: at most 30 days/],
    [['--days', '1.5'], 2, /--days: give a whole number of days from 1 to 30/],
    [['--days', 'seven'], 2, /--days: give a whole number of days from 1 to 30/],
    [['--days=-3'], 2, /--days: give a whole number of days from 1 to 30/],
    [['--days', '-3'], 2, /Option '--days' argument is ambiguous/],
    [['--days', ''], 2, /--days: give a whole number of days from 1 to 30/],
    [['--days', '1e1'], 2, /--days: give a whole number of days from 1 to 30/],
    [['--account', 'Nope'], 1, /^No account "Nope"\. List them with: inviteops accounts list$/],
    [[], 2, /--account is required\nUsage: inviteops slack install-link --account <id\|name> \[--days <1-30, default 7>\]/],
    [['--acount', 'Globex'], 2, /Unknown option '--acount'/],
  ] as [string[], number, RegExp][])('%j: refused with its reason, exit %i, no link printed', async (args, code, message) => {
    const full = args.includes('--account') || args.includes('--acount') || args.length === 0 ? args : ['--account', 'Globex', ...args]
    const r = await cli('slack', 'install-link', ...full)
    expect(r.code).toBe(code)
    expect(r.err).toMatch(message)
    expect(r.out).toBe('')
  })

  test('--help prints the usage and what the link does, and runs nothing', async () => {
    const r = await cli('slack', 'install-link', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^Usage: inviteops slack install-link --account <id\|name> \[--days <1-30, default 7>\]\n\n/)
    expect(r.out).toContain('Active administrator')
    expect(r.out).toContain('distribution mode')
    expect((await cli('help')).out).toContain('inviteops slack install-link')
  })
})

describe('inviteops slack connect --channel', () => {
  test("the channel's notice destination names its workspace, so notices are posted with that workspace's token", async () => {
    const r = await cli('slack', 'connect', '--team', 'T0GLOBEX9', '--account', 'Globex', '--channel', 'C0NOTICES9')
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining('Linked Slack workspace T0GLOBEX9 to Globex, notices in C0NOTICES9') })
    const row = await db.knex('notice_destinations').where({ account_id: accountId, platform: 'slack' }).first<{ conversation_id: string; reference: unknown }>('conversation_id', 'reference')
    expect(row).toEqual({ conversation_id: 'C0NOTICES9', reference: { teamId: 'T0GLOBEX9' } })
  })
})

const DISCONNECT_TEAMS = ['T0DISCONN1', 'E0DISCGRID', 'T0KEEPME01']
const links = () => db.knex('chat_connections').where({ platform: 'slack' }).whereIn('external_id', DISCONNECT_TEAMS).orderBy('external_id').select('external_id', 'account_id')
const disconnections = () => db.knex('audit_log').where({ action: 'chat.disconnected' }).select('account_id', 'ok', 'detail')

describe('inviteops slack disconnect', () => {
  test('named with another account: refused, the link kept; then without --account: removed, audited on the account it served; a second time: not linked', async () => {
    expect((await cli('accounts', 'create', '--name', 'Initech', '--admin', 'bill@initech.test')).code).toBe(0)
    expect((await cli('slack', 'connect', '--team', 'T0DISCONN1', '--account', 'Globex')).code).toBe(0)
    expect((await cli('slack', 'connect', '--team', 'E0DISCGRID', '--account', 'Globex')).code).toBe(0)

    const wrong = await cli('slack', 'disconnect', '--team', 'T0DISCONN1', '--account', 'Initech')
    expect(wrong.code).toBe(1)
    expect(wrong.err).toContain('linked to another account')
    expect(wrong.err).toContain('nothing was changed')
    expect(await links()).toHaveLength(2)
    expect(await disconnections()).toEqual([])

    const done = await cli('slack', 'disconnect', '--team', 'T0DISCONN1')
    expect(done.code).toBe(0)
    expect(done.out).toContain('Unlinked Slack workspace T0DISCONN1')
    expect(await links()).toEqual([{ external_id: 'E0DISCGRID', account_id: accountId }])
    const audit = await disconnections()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ account_id: accountId, ok: true })
    expect(JSON.stringify(audit[0]?.detail)).toContain('T0DISCONN1')

    const again = await cli('slack', 'disconnect', '--team', 'T0DISCONN1')
    expect(again.code).toBe(1)
    expect(again.err).toContain('is not linked to any account')

    // An organisation's link (E…), with the right account named.
    expect((await cli('slack', 'disconnect', '--team', 'E0DISCGRID', '--account', 'globex')).code).toBe(0)
    expect(await links()).toEqual([])
  })

  test('a malformed team id or no --team: a usage error, nothing changed', async () => {
    await cli('slack', 'connect', '--team', 'T0KEEPME01', '--account', 'Globex')
    for (const argv of [['--team', 'not-a-team'], ['--team', "T0'; DROP TABLE"], []]) {
      const r = await cli('slack', 'disconnect', ...argv)
      expect(r.code, argv.join(' ')).toBe(2)
    }
    expect(await links()).toEqual([{ external_id: 'T0KEEPME01', account_id: accountId }])
  })
})
