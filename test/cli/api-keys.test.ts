/**
 * `inviteops api-keys` (docs/api.md "Keys"): create prints the key once and the database keeps
 * only its SHA-256 and prefix, so a dump of every column of every table holds no usable key;
 * list shows keys without them; revoke by prefix or id stops the key at once; bad labels and
 * unknown keys are refused with a clear message and change nothing.
 */
import type { Knex } from 'knex'
import { expect, test } from 'vitest'
import { authenticateApiKey } from '../../src/api-keys/api-keys.ts'
import { runCli, useCliDatabase, type CliRun } from '../support/cli.ts'
import type { TestDatabase } from '../support/db.ts'
import { makeDeps } from '../support/factories.ts'

let db: TestDatabase
let env: NodeJS.ProcessEnv
useCliDatabase((t) => ({ db, env } = t), { dirPrefix: 'inviteops-api-keys-' })

const cli = (...argv: string[]): Promise<CliRun> => runCli(env, ...argv)

/** Every row of every table, each as the text of its row and as JSON. */
async function dumpAsText(knex: Knex): Promise<string> {
  const tables = await knex.raw<{ rows: { tablename: string }[] }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
  const parts: string[] = []
  for (const { tablename } of tables.rows) {
    const rows = await knex.raw<{ rows: { as_text: string; as_json: string }[] }>(`SELECT t::text AS as_text, to_jsonb(t)::text AS as_json FROM ${knex.client.wrapIdentifier(tablename)} t`)
    for (const r of rows.rows) parts.push(`${tablename}: ${r.as_text}`, r.as_json)
  }
  return parts.join('\n')
}

test('create prints the key once; list, revoke; a dump of the database holds no usable key', async () => {
  expect((await cli('accounts', 'create', '--name', 'Initech', '--admin', 'bill@initech.test', '--admin-name', 'Bill Lumbergh')).code).toBe(0)
  const created = await cli('api-keys', 'create', '--account', 'initech', '--name', 'crm', '--json')
  expect(created.code, created.err).toBe(0)
  const { key, prefix, id, label } = JSON.parse(created.out) as { key: string; prefix: string; id: string; label: string }
  expect(key).toMatch(/^iok_[A-Za-z0-9_-]{43}$/)
  expect(prefix).toBe(key.slice(0, 12))
  expect(label).toBe('crm')
  const human = await cli('api-keys', 'create', '--account', 'Initech', '--name', 'billing')
  expect(human.out).toMatch(/Key \(shown once[^)]*\): iok_[A-Za-z0-9_-]{43}/)
  const second = /iok_[A-Za-z0-9_-]{43}/.exec(human.out)![0]

  expect(await cli('api-keys', 'create', '--account', 'Initech', '--name', 'CRM')).toMatchObject({ code: 1, err: expect.stringContaining('already has an active key named "CRM"') })
  expect(await cli('api-keys', 'create', '--account', 'Initech', '--name', 'has space')).toMatchObject({ code: 1, err: expect.stringContaining('is not a label') })
  expect(await cli('api-keys', 'create', '--account', 'Nobody', '--name', 'x')).toMatchObject({ code: 1, err: expect.stringContaining('No account "Nobody"') })
  expect((await cli('api-keys', 'create', '--account', 'Initech')).code).toBe(2)
  expect(await db.knex('api_keys')).toHaveLength(2)

  const listed = await cli('api-keys', 'list', '--account', 'Initech')
  expect(listed.out).toContain(`${prefix}…  crm  active  (Initech)`)
  expect(listed.out).toContain('last used never')
  expect(listed.out).not.toContain(key)

  // Both keys work until revoked.
  const deps = makeDeps(db.knex)
  expect(await authenticateApiKey(deps, key)).toMatchObject({ apiKeyId: id, label: 'crm' })
  expect(await authenticateApiKey(deps, second)).toMatchObject({ label: 'billing' })

  // The dump: neither key in any form, while the prefixes (stored in clear) are found.
  const dump = await dumpAsText(db.knex)
  expect(dump).toContain(prefix)
  for (const k of [key, second]) {
    const secret = k.slice(12)
    for (const form of [k, secret, Buffer.from(k).toString('hex'), Buffer.from(k).toString('base64'), Buffer.from(secret, 'base64url').toString('hex')]) {
      expect(dump, `a key in the dump (${form.slice(0, 14)}…)`).not.toContain(form)
    }
  }

  expect(await cli('api-keys', 'revoke', prefix)).toMatchObject({ code: 0, out: expect.stringContaining('Revoked API key "crm"') })
  expect(await authenticateApiKey(deps, key)).toBeNull()
  expect(await cli('api-keys', 'revoke', id)).toMatchObject({ code: 1, err: expect.stringContaining('revoked already') })
  expect(await cli('api-keys', 'revoke', 'iok_nothing1')).toMatchObject({ code: 1, err: expect.stringContaining('No API key') })
  expect(await cli('api-keys', 'revoke', 'junk')).toMatchObject({ code: 1, err: expect.stringContaining('No API key') })
  expect((await cli('api-keys', 'list')).out).toMatch(/crm {2}REVOKED /)
  // The label is free again once its key is revoked.
  expect((await cli('api-keys', 'create', '--account', 'Initech', '--name', 'crm')).code).toBe(0)

  const audit = await db.knex('audit_log').whereIn('action', ['api_key.create', 'api_key.revoke']).orderBy('id')
  expect(audit.map((a: { action: string }) => a.action)).toEqual(['api_key.create', 'api_key.create', 'api_key.revoke', 'api_key.create'])
})
