/**
 * The operator's CLI refuses names that are not one line of plain text (accounts, their first
 * administrator, groups, and `add --name` through `run`), naming the flag and creating nothing.
 */
import { beforeAll, describe, expect, test } from 'vitest'
import { runCli, useCliDatabase, type CliRun } from '../support/cli.ts'
import type { TestDatabase } from '../support/db.ts'

let db: TestDatabase
let env: NodeJS.ProcessEnv
useCliDatabase((t) => ({ db, env } = t), { dirPrefix: 'inviteops-cli-names-' })

const cli = (...argv: string[]): Promise<CliRun> => runCli(env, ...argv)

/** Every row an operator command could add. */
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['accounts', 'groups', 'users', 'user_groups']) {
    const [row] = await db.knex(table).count<{ n: string }[]>({ n: '*' })
    out[table] = Number(row?.n ?? 0)
  }
  return out
}

describe('accounts create', () => {
  test.each([
    [['--name', 'Acme\n*URGENT*', '--admin', 'a1@acme.test'], '--name: the account name must be on one line (no line breaks)'],
    [['--name', 'Acme\u0007', '--admin', 'a2@acme.test'], '--name: the account name contains control characters'],
    [['--name', 'Acme \u202eevil', '--admin', 'a3@acme.test'], '--name: the account name contains invisible characters that change the reading direction'],
    [['--name', 'A'.repeat(201), '--admin', 'a4@acme.test'], '--name: the account name is too long (at most 200 characters)'],
    [['--name', 'Acme', '--admin', 'a5@acme.test', '--admin-name', 'Eve Smith\n*URGENT* https://evil.example'], '--admin-name must be on one line (no line breaks)'],
    [['--name', 'Acme', '--admin', 'a6@acme.test', '--admin-name', 'Eve \u0000Smith'], '--admin-name contains control characters'],
    [['--name', 'Acme', '--admin', 'a7@acme.test', '--admin-name', `Eve ${'s'.repeat(101)}`], '--admin-name: the last name is too long (at most 100 characters)'],
  ])('%j is refused: %s; nothing is created', async (args, message) => {
    const before = await counts()
    const r = await cli('accounts', 'create', ...args)
    expect(r.code).toBe(1)
    expect(r.err).toContain(message)
    expect(r.err).toContain('Nothing was created.')
    expect(await counts()).toEqual(before)
  })

  test('a name with & < > * is text, and is accepted (trimmed)', async () => {
    const r = await cli('accounts', 'create', '--name', '  Tom & Jerry <Ltd> *x* ', '--admin', 'tom@acme.test', '--admin-name', 'Tom  Cat', '--json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ name: 'Tom & Jerry <Ltd> *x*' })
    expect(await db.knex('users').where({ email: 'tom@acme.test' }).first<{ first_name: string; last_name: string }>('first_name', 'last_name')).toEqual({ first_name: 'Tom', last_name: 'Cat' })
  })
})

describe('groups create', () => {
  beforeAll(async () => {
    expect((await cli('accounts', 'create', '--name', 'Globex', '--admin', 'hank@globex.test')).code).toBe(0)
  })
  test.each([
    ['Sales\nTeam', '--name: the group name must be on one line (no line breaks)'],
    ['Sales\u2028Team', '--name: the group name must be on one line (no line breaks)'],
    ['Sales\u001b[31m', '--name: the group name contains control characters'],
    ['Sales\u2066x', '--name: the group name contains invisible characters that change the reading direction'],
    ['G'.repeat(101), '--name: the group name is too long (at most 100 characters)'],
  ])('%j is refused: %s; nothing is created', async (name, message) => {
    const before = await counts()
    const r = await cli('groups', 'create', '--account', 'Globex', '--name', name)
    expect(r.code).toBe(1)
    expect(r.err).toContain(message)
    expect(await counts()).toEqual(before)
  })
})

describe('run add --name', () => {
  test('a name with a line break is refused with the reason; nothing is created', async () => {
    await cli('accounts', 'create', '--name', 'Initrode', '--admin', 'bill@initrode.test')
    const before = await counts()
    const r = await cli('run', '--account', 'Initrode', '--as', 'bill@initrode.test', '--', 'add', 'eve@initrode.test', '--name', 'Eve Smith\n*URGENT*')
    expect(r.code).toBe(1)
    expect(r.err).toContain('--name must be on one line (no line breaks)')
    expect(await counts()).toEqual(before)
  })
})

describe('listings', () => {
  test('names stored before the rule (a line break, an escape sequence) are printed on one line, inert', async () => {
    expect((await cli('accounts', 'create', '--name', 'Listed', '--admin', 'lister@acme.test', '--admin-name', 'Lee Lister')).code).toBe(0)
    const account = await db.knex('accounts').where({ name: 'Listed' }).first('id')
    await db.knex('accounts').where({ id: account.id }).update({ name: 'Listed\n\u001b[31mFAKE' })
    await db.knex('users').where({ email: 'lister@acme.test' }).update({ last_name: 'Lister\n\u001b]8;;https://evil.example\u0007click' })
    await db.knex('groups').where({ account_id: account.id, name: 'Members' }).update({ name: 'Members\r\nroot' })
    for (const args of [['users', 'list', '--account', account.id], ['accounts', 'list'], ['groups', 'list', '--account', account.id]]) {
      const r = await cli(...args)
      expect(r.code, args.join(' ')).toBe(0)
      // eslint-disable-next-line no-control-regex -- asserting that no control character reaches the terminal
      expect(r.out, args.join(' ')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/)
      for (const line of r.out.split('\n')) expect(line, args.join(' ')).not.toMatch(/^(FAKE|root|click)/)
    }
  })
})
