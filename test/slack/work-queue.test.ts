/**
 * The work after the ack takes its turn (src/shared/work-queue.ts): a burst of signed commands
 * through the real route, more than may run at once, each gets its real answer without waiting
 * on the database pool; beyond the queue's bound the administrator is told we are busy; and
 * `idle()` (graceful shutdown) waits for what is still queued.
 */
import knexFactory, { type Knex } from 'knex'
import nock from 'nock'
import { afterEach, describe, expect, it } from 'vitest'
import { createSlackRouter, SLACK_BUSY, type SlackRouterOptions } from '../../adapters/slack/router.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import type { TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { ADMIN_EMAIL, ALICE, API_ORIGIN, API_URL, BOT_TOKEN, CHANNEL, HOOKS, SIGNING_SECRET, TEAM, fixture, formBody, payloadBody, postSigned, slashCommand, useSlackRouteTests } from './support.ts'

let db: TestDatabase
useSlackRouteTests({ onDatabase: (d) => (db = d) })

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close()
})

/** A knex on the test database with a pool of `poolMax`, and a record of the most connections ever used or asked for at once. */
function smallPool(poolMax: number): { knex: Knex; peak: () => number } {
  const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: poolMax }, acquireConnectionTimeout: 30_000 })
  let peak = 0
  const pool = (knex.client as { pool?: unknown }).pool as { on(e: string, f: () => void): void; numUsed(): number; numPendingAcquires(): number } | undefined
  const watch = (p: NonNullable<typeof pool>) => p.on('acquireRequest', () => (peak = Math.max(peak, p.numUsed() + p.numPendingAcquires())))
  if (pool) watch(pool)
  else throw new Error('knex created no pool')
  opened.push({ close: () => knex.destroy() })
  return { knex, peak: () => peak }
}

async function start(knex: Knex, options: SlackRouterOptions = {}) {
  const deps = makeDeps(knex)
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: `Acme ${Math.random().toString(16).slice(2, 8)}` })
  const linked = await connectChat(knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })
  if (!linked.ok) throw new Error('could not link the test workspace')
  const router = createSlackRouter(deps, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: API_URL }, { clientOptions: { retryConfig: { retries: 0 } }, ...options })
  const served = await serveRouter(knex, router)
  opened.push(served)
  return { ...served, router }
}

/** `users.info` for ALICE, answered for every call; `hold` (when given) is awaited before answering. */
function usersInfo(hold?: () => Promise<void>): void {
  const member = fixture<{ ok: true; user: Record<string, unknown> & { profile: Record<string, unknown> } }>('users-info-member.json')
  const body = { ok: true, user: { ...member.user, id: ALICE } }
  nock(API_ORIGIN)
    .persist()
    .post('/api/users.info')
    .reply(async () => {
      await hold?.()
      return [200, body]
    })
}

/** Every post to a response_url under `${HOOKS}/commands/burst/`, by the number in its path. */
function captureAnswers(): Map<number, { text: string }[]> {
  const answers = new Map<number, { text: string }[]>()
  nock(HOOKS)
    .persist()
    .post(/^\/(commands|actions)\/burst\/\d+$/)
    .reply(function (uri, body) {
      const n = Number(uri.split('/').at(-1))
      answers.set(n, [...(answers.get(n) ?? []), body as { text: string }])
      return [200, 'ok']
    })
  return answers
}

const command = (text: string, n: number) => formBody(slashCommand(text, { trigger_id: `13345224609.738474920.burst${n}`, response_url: `${HOOKS}/commands/burst/${n}` }))

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('slack work after the ack', () => {
  it('a burst larger than the concurrency: every command gets its real answer, and no more connections are asked for than the pool holds', async () => {
    const { knex, peak } = smallPool(3)
    const h = await start(knex)
    usersInfo()
    const answers = captureAnswers()
    const burst = 24
    const acks = await Promise.all(Array.from({ length: burst }, (_, n) => postSigned(h.base, command('list', n))))
    expect(acks.map((a) => a.status)).toEqual(Array(burst).fill(200))
    await h.router.idle()
    for (let n = 0; n < burst; n++) {
      expect(answers.get(n)?.length, `answers to command ${n}`).toBe(1)
      expect(answers.get(n)?.[0]?.text).toMatch(/^Users \(All users\): \d+, page 1 of 1/)
    }
    // At most as many pieces ran as the pool holds (3), so none waited for a connection that
    // another command held.
    expect(peak()).toBeLessThanOrEqual(3)
  })

  it('beyond the bound: a command is answered busy in its ack and a click through its response_url; both are not run; shutdown waits for the queued ones', async () => {
    const { knex } = smallPool(3)
    const h = await start(knex, { workConcurrency: 1, workQueueLimit: 2 })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    usersInfo(() => held)
    const answers = captureAnswers()
    // One runs (held at its users.info), two wait.
    for (let n = 0; n < 3; n++) expect((await postSigned(h.base, command('list', n))).status).toBe(200)
    expect(h.router.workDepth()).toEqual({ running: 1, waiting: 2 })
    const refused = await postSigned(h.base, command('list', 3))
    expect(refused.status).toBe(200)
    expect(JSON.parse(refused.text)).toMatchObject({ response_type: 'ephemeral', text: SLACK_BUSY })

    const click = structuredClone(fixture<{ response_url: string; actions: Record<string, unknown>[] }>('block-actions-button.json'))
    click.response_url = `${HOOKS}/actions/burst/4`
    expect((await postSigned(h.base, payloadBody(click))).status).toBe(200)
    // The busy answer is its own short post, not queued behind the held work.
    while (!answers.has(4)) await new Promise<void>((resolve) => nock.emitter.once('replied', () => resolve()))
    expect(answers.get(4)).toEqual([expect.objectContaining({ text: SLACK_BUSY, response_type: 'ephemeral', replace_original: false })])

    let idle = false
    const drained = h.router.idle().then(() => (idle = true))
    await settle()
    expect(idle).toBe(false)
    expect([...answers.keys()]).toEqual([4])
    release()
    await drained
    expect(h.router.workDepth()).toEqual({ running: 0, waiting: 0 })
    for (let n = 0; n < 3; n++) expect(answers.get(n)?.[0]?.text).toMatch(/^Users \(All users\): \d+, page 1 of 1/)
    expect(answers.has(3)).toBe(false)
    // The refused command was not run: its delivery key was never recorded, so nothing of it is in the database.
    const keys = await knex('chat_deliveries').where('key', 'like', 'command:%').pluck('key')
    expect(keys.sort()).toEqual([0, 1, 2].map((n) => `command:${TEAM}:13345224609.738474920.burst${n}`).sort())
  })
})
