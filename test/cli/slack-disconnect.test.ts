/**
 * `inviteops slack disconnect`: the CLI in-process on a real database removes a workspace's link
 * to its account (audited), refuses when the link is to another account than the one named, and
 * changes nothing for a workspace that is not linked or a malformed team id.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { main } from '../../adapters/cli/main.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'

let db: TestDatabase
let dataDir: string
let env: NodeJS.ProcessEnv
let globexId: string

beforeAll(async () => {
  db = await createTestDatabase()
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-slack-disconnect-'))
  env = { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', INVITE_SECRET: 'slack-disconnect-test-secret-0123456789ab' }
  globexId = (JSON.parse((await cli('accounts', 'create', '--name', 'Globex', '--admin', 'hank@globex.test', '--json')).out) as { accountId: string }).accountId
  await cli('accounts', 'create', '--name', 'Initech', '--admin', 'bill@initech.test', '--json')
})

afterAll(async () => {
  await db.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, env)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const links = () => db.knex('chat_connections').where({ platform: 'slack' }).orderBy('external_id').select('external_id', 'account_id')
const disconnections = () => db.knex('audit_log').where({ action: 'chat.disconnected' }).select('account_id', 'ok', 'detail')

describe('inviteops slack disconnect', () => {
  test('named with another account: refused, the link kept; then without --account: removed, audited on the account it served; a second time: not linked', async () => {
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
    expect(await links()).toEqual([{ external_id: 'E0DISCGRID', account_id: globexId }])
    const audit = await disconnections()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ account_id: globexId, ok: true })
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
    expect(await links()).toEqual([{ external_id: 'T0KEEPME01', account_id: globexId }])
  })
})
