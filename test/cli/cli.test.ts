import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { joinArgs, main } from '../../adapters/cli/main.ts'
import { loadEnvironment } from '../../adapters/server/environment.ts'
import { startServer } from '../../adapters/server/start.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { recordPublicBaseUrl } from '../../src/server/instance-settings.ts'
import { runCli, useCliDatabase, type CliRun } from '../support/cli.ts'
import type { TestDatabase } from '../support/db.ts'
import { testConfig } from '../support/factories.ts'

let db: TestDatabase
let env: NodeJS.ProcessEnv
useCliDatabase((t) => ({ db, env } = t), { dirPrefix: 'inviteops-cli-' })

/** Run the CLI in-process, capturing what it prints. */
const cli = (...argv: string[]): Promise<CliRun> => runCli(env, ...argv)
const cliWith = runCli

describe('inviteops', () => {
  test('an operator sets an account up and an administrator runs the whole grammar', async () => {
    const created = await cli('accounts', 'create', '--name', 'Globex', '--admin', 'Hank@Globex.test', '--admin-name', 'Hank Scorpio', '--json')
    expect(created.code).toBe(0)
    const account = JSON.parse(created.out) as { accountId: string }
    expect((await cli('groups', 'create', '--account', 'globex', '--name', 'Engineering')).code).toBe(0)
    expect((await cli('slack', 'connect', '--team', 'T0GLOBEX1', '--account', account.accountId, '--channel', 'C0NOTICES')).out).toContain('Linked Slack workspace T0GLOBEX1')

    const run = (...text: string[]) => cli('run', '--account', 'Globex', '--as', 'hank@globex.test', '--', ...text)
    const added = await run('add', 'bob@globex.test', '--name', 'Bob Smith', '--group', 'Engineering')
    expect(added).toMatchObject({ code: 0, out: expect.stringContaining('Invited bob@globex.test (Engineering)') })
    expect((await run('add <mailto:bob@globex.test|bob@globex.test> --name "Bob Smith"')).err).toContain('already invited')
    const link = await run('link', 'bob@globex.test')
    expect(link.out).toMatch(/http:\/\/localhost:3000\/invitations\/[A-Za-z0-9_-]{43}/)
    expect((await run('regenerate', 'bob@globex.test')).err).toMatch(/still valid until .*use resend/)
    expect((await run('resend', 'bob@globex.test')).code).toBe(0)
    expect((await run('edit', 'bob@globex.test', '--group', 'Members', '--group', 'Engineering')).out).toContain('Engineering, Members')
    expect((await run('show', 'bob@globex.test')).out).toMatch(/status: {2}Invited · expires in 7 days[\s\S]*actions: resend, link, edit, remove/)
    expect((await run('groups')).out).toContain('Administrators (administrators) — 1 member')
    const asked = await run('remove', 'bob@globex.test')
    expect(asked).toMatchObject({ code: 1, err: expect.stringContaining('--yes') })
    expect((await cli('run', '--account', 'Globex', '--as', 'hank@globex.test', '--yes', '--', 'remove', 'bob@globex.test')).out).toContain('Removed bob@globex.test')
    expect((await run('audit')).out).toMatch(/user\.remove bob@globex\.test {2}→ user\.removed/)

    const list = await cli('users', 'list', '--account', 'Globex', '--json')
    expect(JSON.parse(list.out)).toMatchObject([{ email: 'bob@globex.test', status: 'removed' }, { email: 'hank@globex.test', status: 'active' }])
    const jsonRun = await cli('run', '--account', 'Globex', '--as', 'hank@globex.test', '--json', '--', 'list', 'removed')
    expect(JSON.parse(jsonRun.out)).toMatchObject({ kind: 'list', total: 1 })
  })

  test('a non-administrator is refused and nothing changes', async () => {
    await cli('accounts', 'create', '--name', 'Initech', '--admin', 'bill@initech.test')
    const r = await cli('run', '--account', 'Initech', '--as', 'milton@initech.test', '--', 'add', 'x@initech.test', '--name', 'X Y')
    expect(r).toMatchObject({ code: 1, err: 'Only an Active administrator of this account can do that.' })
    expect(await db.knex('users').where({ email: 'x@initech.test' })).toEqual([])
  })

  test.each(([
    [['frobnicate'], 2, /Unknown command "frobnicate"/],
    [['users', 'lst'], 2, /inviteops users list --account/],
    [['accounts', 'create', '--name', 'X'], 2, /--admin is required\nUsage: inviteops accounts create/],
    [['accounts', 'create', '--name', 'X', '--admin', 'not-an-email'], 1, /not a valid email address/],
    [['accounts', 'create', '--nmae', 'X'], 2, /Unknown option '--nmae'/],
    [['accounts', 'create', '--name', 'Tz', '--admin', 'a@tz.test', '--timezone', 'CEST'], 1, /^--timezone: "CEST" is not a time zone this server knows\. Use an IANA name such as Europe\/Berlin.*Nothing was created\.$/],
    [['accounts', 'create', '--name', 'Tz', '--admin', 'a@tz.test', '--timezone', '+02:00'], 1, /"\+02:00" is not a time zone/],
    [['accounts', 'create', '--name', 'Tz', '--admin', 'a@tz.test', '--timezone', 'US/Eastern'], 1, /^--timezone: "US\/Eastern" is not how time zones are named here: use America\/New_York\. Nothing was created\.$/],
    [['accounts', 'set-timezone', 'Globex'], 2, /give the account and the time zone\nUsage: inviteops accounts set-timezone/],
    [['accounts', 'set-timezone', 'Nope', 'UTC'], 1, /No account "Nope"/],
    [['slack', 'connect', '--team', 'nope', '--account', 'Globex'], 2, /a Slack team id looks like T0123ABCD/],
    [['teams', 'connect', '--tenant', 'x', '--account', 'Globex'], 2, /tenant id is a GUID/],
    [['users', 'list', '--account', 'Nope'], 1, /No account "Nope"/],
    [['users', 'list', '--account', 'Globex', '--status', 'sleeping'], 2, /--status/],
    [['run', '--account', 'Globex', '--as', 'hank@globex.test'], 2, /command text is missing/],
    [['run', '--account', 'Globex', '--as', 'hank@globex.test', '--', 'regenerate', 'a@x.com,b@x.com'], 1, /single address\.\nUsage: \/invite regenerate/],
    [['run', '--account', 'Globex', '--as', 'hank@globex.test', '--', 'x'.repeat(10_000)], 1, /too long/],
    [['run', '--account', 'Globex', '--as', 'hank@globex.test', '--', 'notices', 'here'], 1, /`notices` works only from a chat conversation[^\n]*\.\nUsage: \/invite notices \[here\|off\]/],
  ] as [string[], number, RegExp][]).map(([argv, code, message]) => [(argv as string[]).join(' ').slice(0, 80), argv, code, message] as const))('%s: prints its usage or reason and exits %i', async (_label, argv, code, message) => {
    const before = await db.knex('audit_log').count<{ n: number }[]>({ n: '*' })
    const r = await cli(...argv)
    expect(r.code).toBe(code)
    expect(r.err).toMatch(message)
    expect(r.err).not.toMatch(/at .*\.ts:\d+/) // never a stack trace
    expect(await db.knex('audit_log').count<{ n: number }[]>({ n: '*' })).toEqual(before)
  })

  test("an account's time zone: set when created (default UTC), changed later, audited; a wrong one is refused", async () => {
    const created = await cli('accounts', 'create', '--name', 'Hooli', '--admin', 'gavin@hooli.test', '--timezone', 'Europe/Berlin')
    expect(created).toMatchObject({ code: 0, out: expect.stringContaining('time zone Europe/Berlin') })
    expect(JSON.parse((await cli('accounts', 'list', '--json')).out)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'Hooli', timeZone: 'Europe/Berlin' }), expect.objectContaining({ name: 'Globex', timeZone: 'UTC' })]),
    )
    expect((await cli('accounts', 'list')).out).toMatch(/ {2}Hooli {2}\(Europe\/Berlin\)$/m)

    const changed = await cli('accounts', 'set-timezone', 'hooli', 'America/Los_Angeles')
    expect(changed).toMatchObject({ code: 0, out: expect.stringContaining('now shows dates in America/Los_Angeles (was Europe/Berlin)') })
    const refused = await cli('accounts', 'set-timezone', 'Hooli', 'Pacific/Nowhere')
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/"Pacific\/Nowhere" is not a time zone.*Nothing was changed\.$/) })
    const account = await db.knex('accounts').where({ name: 'Hooli' }).first<{ id: string; time_zone: string }>('id', 'time_zone')
    expect(account?.time_zone).toBe('America/Los_Angeles')
    const audit = await db.knex('audit_log').where({ account_id: account!.id, action: 'account.set_time_zone' }).orderBy('id').select('actor_platform', 'result_code', 'ok', 'detail')
    expect(audit).toMatchObject([
      { actor_platform: 'cli', result_code: 'account.time_zone_set', ok: true, detail: { previous: 'Europe/Berlin', requested: 'America/Los_Angeles' } },
      { actor_platform: 'cli', result_code: 'account.time_zone_invalid', ok: false, detail: { previous: 'America/Los_Angeles', requested: 'Pacific/Nowhere' } },
    ])
    // Emails queued from now on carry the account's zone.
    expect((await cli('run', '--account', 'Hooli', '--as', 'gavin@hooli.test', '--', 'add', 'richard@hooli.test', '--name', 'Richard Hendricks')).code).toBe(0)
    const queued = await db.knex('email_outbox').where({ to_email: 'richard@hooli.test' }).first<{ payload: { timeZone?: string } }>('payload')
    expect(queued?.payload.timeZone).toBe('America/Los_Angeles')
  })

  test('configuration problems are reported together, before anything runs', async () => {
    const out: string[] = []
    const code = await main(['users', 'list', '--account', 'x'], { out: (t) => out.push(t), err: (t) => out.push(t) }, { PORT: 'abc', INVITE_TTL: 'soon', EMAIL_TRANSPORT: 'ses', NODE_ENV: 'production' })
    expect(code).toBe(1)
    const text = out.join('\n')
    for (const v of ['PORT', 'INVITE_TTL', 'INVITE_SECRET', 'PUBLIC_BASE_URL', 'EMAIL_FROM']) expect(text).toContain(v)
  })

  test('joinArgs keeps the grammar\'s quoting of what the shell split', () => {
    expect(joinArgs(['add', 'a@b.c', '--name', 'Ada Lovelace'])).toBe('add a@b.c --name "Ada Lovelace"')
    expect(joinArgs(['add a@b.c --name "Ada Lovelace"'])).toBe('add a@b.c --name "Ada Lovelace"')
  })
})

describe('the base of the links `run … link` prints', () => {
  const TOKEN = '[A-Za-z0-9_-]{43}'
  const link = (extra: NodeJS.ProcessEnv, ...flags: string[]) => cliWith({ ...env, ...extra }, 'run', '--account', 'Umbrella', '--as', 'ada@umbrella.test', ...flags, '--', 'link', 'carol@umbrella.test')

  beforeAll(async () => {
    expect((await cli('accounts', 'create', '--name', 'Umbrella', '--admin', 'ada@umbrella.test')).code).toBe(0)
    expect((await cli('run', '--account', 'Umbrella', '--as', 'ada@umbrella.test', '--', 'add', 'carol@umbrella.test', '--name', 'Carol Danvers')).code).toBe(0)
  })
  afterEach(async () => {
    await db.knex('instance_settings').delete()
  })

  test('no server ever recorded its base: the link comes with a note that its base is a guess', async () => {
    const r = await link({ PORT: '4999' })
    expect(r.code).toBe(0)
    expect(r.out).toMatch(new RegExp(`^http://localhost:4999/invitations/${TOKEN}\n`))
    expect(r.err).toBe('Note: http://localhost:4999 in this link is a guess: no server has recorded its address in this database yet. Set PUBLIC_BASE_URL, or start the server (npm start) and ask again.')
    const json = await link({ PORT: '4999' }, '--json')
    expect(JSON.parse(json.out)).toMatchObject({ kind: 'link', url: expect.stringMatching(/^http:\/\/localhost:4999\/invitations\//) })
    expect(json.err).toContain('is a guess')
    // Only a printed link gets the note.
    expect((await cliWith({ ...env, PORT: '4999' }, 'run', '--account', 'Umbrella', '--as', 'ada@umbrella.test', '--', 'show', 'carol@umbrella.test')).err).toBe('')
  })

  test('a server started with its own PORT and PUBLIC_BASE_URL: the CLI prints that base, not its own default', async () => {
    const loaded = loadEnvironment({ ...env, PORT: '0', PUBLIC_BASE_URL: 'https://invite.umbrella.test/' })
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
    const server = await startServer(loaded.env, silentLogger)
    try {
      const running = await link({ PORT: '4999' })
      expect(running).toMatchObject({ code: 0, err: '' })
      expect(running.out).toMatch(new RegExp(`^https://invite\\.umbrella\\.test/invitations/${TOKEN}\n`))
      const json = await link({}, '--json')
      expect(JSON.parse(json.out)).toMatchObject({ url: expect.stringMatching(/^https:\/\/invite\.umbrella\.test\/invitations\//) })
    } finally {
      await server.close()
    }
    // The last server's base still holds once it stopped: it is what its emails will carry.
    expect((await link({})).out).toMatch(/^https:\/\/invite\.umbrella\.test\/invitations\//)
  })

  test("PUBLIC_BASE_URL in the CLI's own environment wins, with a note when the server's differs", async () => {
    await recordPublicBaseUrl({ db: db.knex, clock: systemClock, logger: silentLogger, config: testConfig({ publicBaseUrl: 'https://server.umbrella.test' }) })
    const differs = await link({ PUBLIC_BASE_URL: 'https://cli.umbrella.test/' })
    expect(differs.out).toMatch(/^https:\/\/cli\.umbrella\.test\/invitations\//)
    expect(differs.err).toBe("Note: this link uses PUBLIC_BASE_URL from your environment (https://cli.umbrella.test); the server's emails use https://server.umbrella.test.")
    const same = await link({ PUBLIC_BASE_URL: 'https://server.umbrella.test' })
    expect(same).toMatchObject({ code: 0, err: '' })
    expect(same.out).toMatch(/^https:\/\/server\.umbrella\.test\/invitations\//)
  })
})
