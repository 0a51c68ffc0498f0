/**
 * A dump of the database holds no usable Slack token (docs/security.md "Slack installations and
 * their tokens"): after installations with known bot and refresh tokens, a rotation, an uninstall
 * and a workspace linked to an account, every column of every table is read as text (and, on
 * PGlite with a data directory, every byte of its files), and none of the tokens appears, in
 * clear, in hex (how bytea prints) or in base64. Canaries stored in clear are found the same way,
 * so the search would see a token if one were there.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import { disableSlackInstallation, refreshSlackBotToken, saveSlackInstallation } from '../../src/installations/slack-installations.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount } from '../support/factories.ts'
import { slackInstallation } from '../support/slack-installation.ts'

const HOUR = 3_600_000

/** Tokens shaped like Slack's, long enough that no accident of the ciphertext could spell one. */
const TOKENS = {
  first: 'xoxb-1111111111-2222222222-FirstWorkspaceBotTokenAbc',
  firstRefresh: 'xoxe-1-My0xLTExMTExMTExMTEtRmlyc3RSZWZyZXNoVG9rZW4',
  rotated: 'xoxe.xoxb-1-MTExMTExMTExMS0yMjIyMjIyMjIyLVJvdGF0ZWQ',
  rotatedRefresh: 'xoxe-1-My0xLTExMTExMTExMTEtUm90YXRlZFJlZnJlc2g',
  second: 'xoxb-3333333333-4444444444-SecondWorkspaceBotTokenJk',
  org: 'xoxb-5555555555-6666666666-OrgWideBotTokenLmnopqrst',
  uninstalled: 'xoxb-7777777777-8888888888-UninstalledWorkspaceTok',
}
const CANARY_NAME = 'Canary Workspace Name 9f3c1a'
const CANARY_AUDIT = 'canary-audit-detail-5d2e7b'

/** Each token in every form a dump could show it: clear, hex of its bytes (bytea), base64. */
function forms(token: string): string[] {
  const bytes = Buffer.from(token, 'utf8')
  return [token, bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]
}

const installation = slackInstallation

/** Installations of every kind, through the use cases, as a deployment would have them. */
async function populate(knex: Knex): Promise<void> {
  const deps = makeDeps(knex)
  const seed = await seedAccount(deps)
  expect((await connectChat(knex, { platform: 'slack', externalId: 'T0FIRST', accountId: seed.account.id, channelId: 'C0NOTICES', reference: { teamId: 'T0FIRST' } })).ok).toBe(true)
  await saveSlackInstallation(deps, installation('T0FIRST', TOKENS.first, { botRefreshToken: TOKENS.firstRefresh, botTokenExpiresAt: new Date(deps.clock.now().getTime() + HOUR) }))
  const rotated = await refreshSlackBotToken(
    deps,
    { teamId: 'T0FIRST', enterpriseId: null, isEnterpriseInstall: false },
    { refreshWithinMs: 2 * HOUR, refresh: () => Promise.resolve({ botToken: TOKENS.rotated, botRefreshToken: TOKENS.rotatedRefresh, botTokenExpiresAt: new Date(deps.clock.now().getTime() + 12 * HOUR) }) },
  )
  expect(rotated?.botToken).toBe(TOKENS.rotated)
  await saveSlackInstallation(deps, installation('T0SECOND', TOKENS.second, { teamName: CANARY_NAME }))
  await saveSlackInstallation(deps, { ...installation('T0UNUSED', TOKENS.org), teamId: null, teamName: null, enterpriseId: 'E0ORG', enterpriseName: 'Org', isEnterpriseInstall: true })
  await saveSlackInstallation(deps, installation('T0GONE', TOKENS.uninstalled))
  expect(await disableSlackInstallation(deps, { teamId: 'T0GONE', enterpriseId: null }, 'uninstalled')).toBe(true)
  await knex('audit_log').insert({ account_id: seed.account.id, at: new Date(), actor_platform: 'system', actor_platform_id: 'test', action: 'test.canary', result_code: 'test.canary', ok: true, detail: JSON.stringify({ canary: CANARY_AUDIT }) })
}

/** Every row of every table of the schema, each as the text of its row (all columns) and as JSON. */
async function dumpAsText(knex: Knex): Promise<string> {
  const tables = await knex.raw<{ rows: { tablename: string }[] }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
  expect(tables.rows.map((t) => t.tablename)).toContain('slack_installations')
  const parts: string[] = []
  for (const { tablename } of tables.rows) {
    const rows = await knex.raw<{ rows: { as_text: string; as_json: string }[] }>(`SELECT t::text AS as_text, to_jsonb(t)::text AS as_json FROM ${knex.client.wrapIdentifier(tablename)} t`)
    for (const r of rows.rows) parts.push(`${tablename}: ${r.as_text}`, r.as_json)
  }
  return parts.join('\n')
}

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

test('every column of every table, read as text, holds none of the tokens', async () => {
  await populate(db.knex)
  const dump = await dumpAsText(db.knex)
  // The search sees what is stored in clear, and the sealed tokens' bytes in hex.
  expect(dump).toContain(CANARY_NAME)
  expect(dump).toContain(CANARY_AUDIT)
  const sealed = await db.knex('slack_installations').whereNotNull('tokens').select<{ tokens: Buffer }[]>('tokens')
  expect(sealed).toHaveLength(3)
  for (const { tokens } of sealed) expect(dump).toContain(tokens.toString('hex'))
  for (const token of Object.values(TOKENS)) for (const form of forms(token)) expect(dump, `a token in a dump (${form.slice(0, 12)}…)`).not.toContain(form)
  expect(dump).not.toMatch(/xox[a-z]-/)
})

test('the files of an embedded database (PGlite data directory) hold none of the tokens', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'inviteops-dump-'))
  try {
    const embedded = await openDatabase({ dataDir, embeddedMode: 'exclusive', logger: silentLogger })
    try {
      await migrateLatest(embedded.knex)
      await populate(embedded.knex)
      // Write everything out to the table files as well as the WAL.
      await embedded.knex.raw('CHECKPOINT')
    } finally {
      await embedded.close()
    }
    const files = await allFiles(dataDir)
    expect(files.length).toBeGreaterThan(10)
    const contents = await Promise.all(files.map((f) => readFile(f)))
    const bytes = Buffer.concat(contents)
    expect(bytes.includes(Buffer.from(CANARY_NAME))).toBe(true)
    expect(bytes.includes(Buffer.from(CANARY_AUDIT))).toBe(true)
    for (const token of Object.values(TOKENS)) for (const form of forms(token)) expect(bytes.includes(Buffer.from(form)), `a token on disk (${form.slice(0, 12)}…)`).toBe(false)
    expect(bytes.includes(Buffer.from('xoxb-'))).toBe(false)
    expect(bytes.includes(Buffer.from('xoxe-'))).toBe(false)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await allFiles(path)))
    else if (e.isFile()) out.push(path)
  }
  return out
}
