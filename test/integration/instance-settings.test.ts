import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import { fixedClock } from '../../src/ports/clock.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { readPublicBaseUrl, recordPublicBaseUrl } from '../../src/server/instance-settings.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { testConfig } from '../support/factories.ts'

/** The public base URL `serve` records for the CLI, in the database every process shares. */
let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())
beforeEach(async () => {
  await db.knex('instance_settings').delete()
})

const clock = fixedClock('2026-11-27T09:00:00Z')

function recorder(publicBaseUrl: string) {
  const logged: { obj: object | string; msg: string | undefined }[] = []
  const logger = { ...silentLogger, info: (obj: object | string, msg?: string) => void logged.push({ obj, msg }) }
  return { logged, record: () => recordPublicBaseUrl({ db: db.knex, clock, logger, config: testConfig({ publicBaseUrl }) }) }
}

test('nothing recorded: null; each start records its base, the last one wins, a change is logged', async () => {
  expect(await readPublicBaseUrl(db.knex)).toBeNull()
  const first = recorder('http://localhost:4000')
  await first.record()
  expect(await readPublicBaseUrl(db.knex)).toEqual({ url: 'http://localhost:4000', recordedAt: new Date('2026-11-27T09:00:00Z') })
  expect(first.logged).toEqual([])

  await first.record() // the same base again: nothing to say
  expect(first.logged).toEqual([])

  clock.advance(60_000)
  const second = recorder('https://invite.acme.test')
  await second.record()
  expect(await readPublicBaseUrl(db.knex)).toEqual({ url: 'https://invite.acme.test', recordedAt: new Date('2026-11-27T09:01:00Z') })
  expect(second.logged).toEqual([{ obj: { publicBaseUrl: 'https://invite.acme.test', previousPublicBaseUrl: 'http://localhost:4000' }, msg: expect.stringContaining('PUBLIC_BASE_URL changed') }])
  expect(await db.knex('instance_settings').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }])
})

test('a value that is not an http(s) URL (written by hand) reads as nothing recorded', async () => {
  await db.knex('instance_settings').insert({ key: 'public_base_url', value: 'javascript:alert(1)', updated_at: new Date() })
  expect(await readPublicBaseUrl(db.knex)).toBeNull()
  await db.knex('instance_settings').update({ value: 'https://invite.acme.test/' })
  expect(await readPublicBaseUrl(db.knex)).toMatchObject({ url: 'https://invite.acme.test' })
})

test('a database a server of an older version migrated (no table yet) reads as nothing recorded', async () => {
  const old = await createTestDatabase({ migrate: false })
  try {
    expect(await readPublicBaseUrl(old.knex)).toBeNull()
  } finally {
    await old.close()
  }
})
