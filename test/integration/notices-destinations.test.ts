/**
 * Where notices go (src/notices/notice-destinations.ts): set, cleared and shown by
 * administrators only, every attempt audited, malformed input refused without a change; and
 * `inviteops slack connect --channel` writing the Slack destination as the operator.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { main } from '../../adapters/cli/main.ts'
import { fanOutEvents } from '../../src/notices/notice-deliveries.ts'
import { clearNoticeDestination, findNoticeTarget, MAX_REFERENCE_BYTES, setNoticeDestination, showNoticeDestinations } from '../../src/notices/notice-destinations.ts'
import type { TestDatabase } from '../support/db.ts'
import { seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let db: TestDatabase
let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ db, deps, seed } = t))

const TEAMS_CHANNEL = '19:0123456789abcdef0123456789abcdef@thread.tacv2'
const REFERENCE = { serviceUrl: 'https://smba.trafficmanager.net/emea/', conversation: { id: TEAMS_CHANNEL, isGroup: true, conversationType: 'channel', tenantId: 'tenant-1' }, bot: { id: '28:bot' } }

const outsider = { platform: 'slack' as const, platformUserId: 'U0OUTSIDER', email: 'someone@elsewhere.test' }

async function audit(): Promise<{ action: string; result_code: string; ok: boolean; actor_platform: string; detail: Record<string, unknown> }[]> {
  return db.knex('audit_log').where('action', 'like', 'notices.%').orderBy('id').select('action', 'result_code', 'ok', 'actor_platform', 'detail')
}

async function destinations(): Promise<unknown[]> {
  return db.knex('notice_destinations').orderBy(['account_id', 'platform']).select('platform', 'conversation_id', 'conversation_name', 'reference', 'set_by')
}

async function bounce(email: string): Promise<void> {
  await db.knex('account_events').insert({ account_id: seed.account.id, type: 'email.bounced', payload: JSON.stringify({ email, detail: null, suppressed: false }), created_at: deps.clock.now() })
}

describe('setNoticeDestination', () => {
  test('an administrator sets one destination per platform; setting again replaces it and says what it was', async () => {
    const first = await setNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack', conversationId: 'C0FIRST', conversationName: 'ops' })
    expect(first).toEqual({ ok: true, value: { previous: null, destination: { platform: 'slack', conversationId: 'C0FIRST', conversationName: 'ops', setBy: seed.admin.email, updatedAt: deps.clock.now() } } })
    const teams = await setNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'teams', conversationId: TEAMS_CHANNEL, conversationName: 'General', reference: REFERENCE })
    expect(teams.ok).toBe(true)
    deps.clock.advance(1000)
    const second = await setNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack', conversationId: 'C0SECOND' })
    expect(second.ok && second.value.previous).toMatchObject({ conversationId: 'C0FIRST', conversationName: 'ops' })
    expect(await destinations()).toEqual([
      { platform: 'slack', conversation_id: 'C0SECOND', conversation_name: null, reference: null, set_by: seed.admin.email },
      { platform: 'teams', conversation_id: TEAMS_CHANNEL, conversation_name: 'General', reference: REFERENCE, set_by: seed.admin.email },
    ])
    // the job gets the reference as stored, to post unprompted
    expect((await findNoticeTarget(db.knex, seed.account.id, 'teams'))?.destination).toEqual({ accountId: seed.account.id, platform: 'teams', conversationId: TEAMS_CHANNEL, reference: REFERENCE })
    expect(await audit()).toEqual([
      { action: 'notices.destination.set', result_code: 'notices.destination_set', ok: true, actor_platform: 'cli', detail: { platform: 'slack', conversationId: 'C0FIRST', conversationName: 'ops', previous: null } },
      { action: 'notices.destination.set', result_code: 'notices.destination_set', ok: true, actor_platform: 'cli', detail: { platform: 'teams', conversationId: TEAMS_CHANNEL, conversationName: 'General', previous: null } },
      { action: 'notices.destination.set', result_code: 'notices.destination_set', ok: true, actor_platform: 'cli', detail: { platform: 'slack', conversationId: 'C0SECOND', conversationName: null, previous: 'C0FIRST' } },
    ])
  })

  test('someone who is not an administrator changes nothing, and the attempt is audited', async () => {
    const r = await setNoticeDestination(deps, { accountId: seed.account.id, actor: outsider, platform: 'slack', conversationId: 'C0MINE' })
    expect(r).toEqual({ ok: false, code: 'auth.not_admin' })
    expect(await destinations()).toEqual([])
    expect(await audit()).toEqual([{ action: 'notices.destination.set', result_code: 'auth.not_admin', ok: false, actor_platform: 'slack', detail: expect.not.objectContaining({ conversationId: expect.anything() }) }])
    // an account that does not exist (or an id that is not one) is refused the same way
    expect(await setNoticeDestination(deps, { accountId: 'not-a-uuid', actor: seed.adminActor, platform: 'slack', conversationId: 'C0X' })).toMatchObject({ ok: false, code: 'account.not_found' })
  })

  test('malformed input is refused, audited, and changes nothing', async () => {
    const base = { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack', conversationId: 'C0OK' }
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const cases: [Partial<Parameters<typeof setNoticeDestination>[1]>, string][] = [
      [{ conversationId: 'C'.repeat(201) }, 'conversationId'],
      [{ conversationId: '' }, 'conversationId'],
      [{ conversationId: '   ' }, 'conversationId'],
      [{ conversationId: 'C0\nX' }, 'conversationId'],
      [{ conversationId: 'C0\u0000X' }, 'conversationId'],
      [{ platform: 'Slack' }, 'platform'],
      [{ platform: '' }, 'platform'],
      [{ reference: { blob: 'x'.repeat(MAX_REFERENCE_BYTES) } }, 'reference'],
      [{ reference: 'a string' }, 'reference'],
      [{ reference: 42 }, 'reference'],
      [{ reference: circular }, 'reference'],
      // Objects in JavaScript that are none once stored as JSON.
      [{ reference: [{ serviceUrl: 'https://smba.trafficmanager.net/amer/' }] }, 'reference'],
      [{ reference: new Date('2026-11-30T00:00:00Z') }, 'reference'],
      [{ reference: { toJSON: () => 'a string' } }, 'reference'],
      [{ reference: { toJSON: () => null } }, 'reference'],
      [{ conversationId: 42 as unknown as string }, 'conversationId'],
    ]
    for (const [i, [over, field]] of cases.entries()) {
      const r = await setNoticeDestination(deps, { ...base, ...over })
      expect(r, `case ${i}`).toMatchObject({ ok: false, code: 'notices.destination_invalid', field })
    }
    expect(await destinations()).toEqual([])
    const entries = await audit()
    expect(entries).toHaveLength(cases.length)
    expect(entries.every((e) => !e.ok && e.result_code === 'notices.destination_invalid')).toBe(true)
    // the limits themselves are allowed; a name with control characters is stored cleaned
    const edge = await setNoticeDestination(deps, { ...base, conversationId: 'C'.repeat(200), conversationName: 'ops\u0007\nteam', reference: { blob: 'x'.repeat(MAX_REFERENCE_BYTES - 20) } })
    expect(edge.ok && edge.value.destination).toMatchObject({ conversationId: 'C'.repeat(200), conversationName: 'ops  team' })
  })
})

describe('the size of a conversation reference', () => {
  /** A reference of exactly `bytes` bytes of compact JSON, made of many short entries: Postgres prints its jsonb with a space after every `:` and `,`. */
  function referenceOf(bytes: number): Record<string, string> {
    const ref: Record<string, string> = {}
    for (let i = 0; JSON.stringify(ref).length < bytes - 40; i++) ref[`k${i}`] = ''
    ref.pad = ''
    ref.pad = 'x'.repeat(bytes - JSON.stringify(ref).length)
    expect(Buffer.byteLength(JSON.stringify(ref))).toBe(bytes)
    return ref
  }

  test('is measured alike by the app and the table: the limit stores, one byte more is refused and audited', async () => {
    const input = { accountId: seed.account.id, actor: seed.adminActor, platform: 'teams', conversationId: TEAMS_CHANNEL }
    const atLimit = referenceOf(MAX_REFERENCE_BYTES)
    const stored = await setNoticeDestination(deps, { ...input, reference: atLimit })
    expect(stored.ok).toBe(true)
    // the table's own measure of it is larger than the app's, and still inside its CHECK
    const printed = (await db.knex('notice_destinations').first(db.knex.raw('octet_length(reference::text) AS n'))) as { n: number | string }
    expect(Number(printed.n)).toBeGreaterThan(MAX_REFERENCE_BYTES)
    expect((await findNoticeTarget(db.knex, seed.account.id, 'teams'))?.destination?.reference).toEqual(atLimit)

    const over = await setNoticeDestination(deps, { ...input, reference: referenceOf(MAX_REFERENCE_BYTES + 1) })
    expect(over).toMatchObject({ ok: false, code: 'notices.destination_invalid', field: 'reference' })
    // what jsonb cannot store as measured (NUL, a lone surrogate, a number it would print longer) is refused too
    for (const reference of [{ id: 'a\u0000b' }, { id: '\ud800' }, { n: 1e300 }, { n: 0.1 }]) {
      expect(await setNoticeDestination(deps, { ...input, reference }), JSON.stringify(reference)).toMatchObject({ ok: false, code: 'notices.destination_invalid', field: 'reference' })
    }
    expect((await findNoticeTarget(db.knex, seed.account.id, 'teams'))?.destination?.reference).toEqual(atLimit)
    expect((await audit()).map((e) => [e.action, e.result_code])).toEqual([
      ['notices.destination.set', 'notices.destination_set'],
      ...Array.from({ length: 5 }, () => ['notices.destination.set', 'notices.destination_invalid']),
    ])
  })
})

describe('clearNoticeDestination and showNoticeDestinations', () => {
  test('off stops new notices on that platform only; show lists what is left; both audited', async () => {
    await setNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack', conversationId: 'C0OPS' })
    await setNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'teams', conversationId: TEAMS_CHANNEL, reference: REFERENCE })
    const cleared = await clearNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack' })
    expect(cleared.ok && cleared.value.previous).toMatchObject({ platform: 'slack', conversationId: 'C0OPS' })
    expect(await clearNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'slack' })).toEqual({ ok: true, value: { previous: null } })
    await bounce('after-off@x.test')
    expect(await fanOutEvents(deps)).toEqual({ events: 1, deliveries: 1 })
    expect(await db.knex('notice_deliveries').select('platform')).toEqual([{ platform: 'teams' }])

    const shown = await showNoticeDestinations(deps, { accountId: seed.account.id, actor: seed.adminActor })
    expect(shown.ok && shown.value.destinations.map((d) => [d.platform, d.conversationId])).toEqual([['teams', TEAMS_CHANNEL]])
    expect(await showNoticeDestinations(deps, { accountId: seed.account.id, actor: outsider })).toEqual({ ok: false, code: 'auth.not_admin' })
    expect(await clearNoticeDestination(deps, { accountId: seed.account.id, actor: outsider, platform: 'teams' })).toEqual({ ok: false, code: 'auth.not_admin' })
    expect(await clearNoticeDestination(deps, { accountId: seed.account.id, actor: seed.adminActor, platform: 'no such!' })).toMatchObject({ ok: false, code: 'notices.destination_invalid', field: 'platform' })
    expect((await audit()).map((e) => [e.action, e.result_code])).toEqual([
      ['notices.destination.set', 'notices.destination_set'],
      ['notices.destination.set', 'notices.destination_set'],
      ['notices.destination.clear', 'notices.destination_cleared'],
      ['notices.destination.clear', 'notices.destination_cleared'],
      ['notices.destination.show', 'notices.destinations_shown'],
      ['notices.destination.show', 'auth.not_admin'],
      ['notices.destination.clear', 'auth.not_admin'],
      ['notices.destination.clear', 'notices.destination_invalid'],
    ])
    expect(await destinations()).toHaveLength(1)
  })

  test("one account's destinations are its own", async () => {
    const other = await seedAccount(deps, { name: 'Other', adminEmail: 'boss@other.test' })
    await setNoticeDestination(deps, { accountId: other.account.id, actor: other.adminActor, platform: 'slack', conversationId: 'C0OTHER' })
    // our administrator cannot clear or see the other account's
    expect(await clearNoticeDestination(deps, { accountId: other.account.id, actor: seed.adminActor, platform: 'slack' })).toEqual({ ok: false, code: 'auth.not_admin' })
    const mine = await showNoticeDestinations(deps, { accountId: seed.account.id, actor: seed.adminActor })
    expect(mine.ok && mine.value.destinations).toEqual([])
    expect(await destinations()).toHaveLength(1)
  })
})

describe('inviteops slack connect --channel', () => {
  let dataDir: string
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'inviteops-notices-'))
  })
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })

  test('makes the channel the Slack destination, audited as the operator; without --channel nothing changes', async () => {
    const out: string[] = []
    const err: string[] = []
    const cli = (...argv: string[]) => main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent' })
    expect(await cli('slack', 'connect', '--team', 'T0CLI', '--account', seed.account.id, '--channel', 'C0CLI')).toBe(0)
    expect(out.join('\n')).toContain('notices in C0CLI')
    expect(await destinations()).toEqual([{ platform: 'slack', conversation_id: 'C0CLI', conversation_name: null, reference: { teamId: 'T0CLI' }, set_by: expect.stringMatching(/^cli:/) }])
    expect(await audit()).toEqual([
      { action: 'notices.destination.set', result_code: 'notices.destination_set', ok: true, actor_platform: 'cli', detail: expect.objectContaining({ platform: 'slack', conversationId: 'C0CLI', previous: null }) },
    ])
    expect(await cli('slack', 'connect', '--team', 'T0CLI', '--account', seed.account.id)).toBe(0)
    expect(await destinations()).toHaveLength(1)
    expect(await audit()).toHaveLength(1)
    expect(err).toEqual([])
  })
})
