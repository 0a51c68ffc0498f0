/**
 * Teams turns take their turn (src/shared/work-queue.ts): a burst of messages through the real
 * route, more than may run at once, each gets its real answer; beyond the queue's bound the sender
 * is told we are busy; `idle()` (graceful shutdown) waits for the turns still running.
 */
import nock from 'nock'
import { afterEach, describe, expect, it } from 'vitest'
import { createTeamsRouter, TEAMS_BUSY, type TeamsRouterOptions } from '../../adapters/teams/router.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createWorkQueue } from '../../src/shared/work-queue.ts'
import type { TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { ADMIN_EMAIL, ALICE, CHANNEL_CONVERSATION, SERVICE_ORIGIN, TEAM_ID, TENANT, UNAUTHENTICATED, cardOf, cardText, channelText, fixture, mockReplies, post, useTeamsRouteTests, type Sent } from './support.ts'

let db: TestDatabase
let close: (() => Promise<void>) | null = null
useTeamsRouteTests({ onDatabase: (d) => (db = d) })
afterEach(async () => {
  await close?.()
  close = null
})

async function start(options: TeamsRouterOptions) {
  const deps = makeDeps(db.knex)
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: `Acme ${Math.random().toString(16).slice(2, 8)}` })
  const linked = await connectChat(db.knex, { platform: 'teams', externalId: TENANT, accountId: seed.account.id, channelId: null })
  if (!linked.ok) throw new Error('could not link the test tenant')
  const router = createTeamsRouter(deps, UNAUTHENTICATED, options)
  const served = await serveRouter(db.knex, router)
  close = served.close
  return { ...served, router }
}

/** Alice's member lookup, answered every time; `onCall` is awaited before answering. */
function members(onCall: () => Promise<void> = async () => {}): void {
  const body = fixture<Record<string, unknown>>('member.json')
  nock(SERVICE_ORIGIN)
    .persist()
    .get((uri) => decodeURIComponent(uri.split('?')[0] ?? '') === `/amer/v3/conversations/${TEAM_ID}/members/${ALICE.id}`)
    .reply(async () => {
      await onCall()
      return [200, body]
    })
}

describe('teams turns', () => {
  it('a burst larger than the concurrency: every message gets its real answer', async () => {
    const h = await start({ workConcurrency: 1 })
    members()
    const sent: Sent[] = []
    mockReplies(sent, CHANNEL_CONVERSATION, 12)
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(h.base, channelText('list'))))
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200))
    await h.router.idle()
    expect(sent).toHaveLength(12)
    for (const s of sent) expect(cardText(cardOf(s))).toContain(ADMIN_EMAIL)
  })

  it('beyond the bound the sender is told we are busy and nothing runs; idle waits for the turn still running', async () => {
    const h = await start({ workConcurrency: 1, workQueueLimit: 0 })
    let arrived!: () => void
    const lookupArrived = new Promise<void>((resolve) => (arrived = resolve))
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    members(async () => {
      arrived()
      await held
    })
    const sent: Sent[] = []
    mockReplies(sent, CHANNEL_CONVERSATION, 2)
    const first = post(h.base, channelText('list'))
    await lookupArrived
    expect(h.router.workDepth()).toEqual({ running: 1, waiting: 0 })
    const second = await post(h.base, channelText('list'))
    expect(second.status).toBe(200)
    expect(sent.map((s) => s.body.text)).toEqual([TEAMS_BUSY])

    let idle = false
    const drained = h.router.idle().then(() => (idle = true))
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(idle).toBe(false)
    release()
    expect((await first).status).toBe(200)
    await drained
    expect(sent).toHaveLength(2)
    expect(cardText(cardOf(sent[1]))).toContain(ADMIN_EMAIL)
    // Only the first message's delivery was recorded: the busy one was not run.
    const [row] = await db.knex('chat_deliveries').where({ platform: 'teams' }).count<{ n: string }[]>({ n: '*' })
    expect(Number(row?.n)).toBe(1)
  })

  it('on the queue shared with Slack: a slot taken by other work counts, and Teams keeps its own bound on what waits', async () => {
    const shared = createWorkQueue({ concurrency: 1, maxWaiting: Number.POSITIVE_INFINITY })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    // Slack's piece of work holds the one slot.
    shared.offer(() => held)
    const h = await start({ workQueue: shared, workQueueLimit: 0 })
    members()
    const sent: Sent[] = []
    mockReplies(sent, CHANNEL_CONVERSATION, 2)
    const busy = await post(h.base, channelText('list'))
    expect(busy.status).toBe(200)
    expect(sent.map((s) => s.body.text)).toEqual([TEAMS_BUSY])
    expect(h.router.workDepth()).toEqual({ running: 1, waiting: 0 })
    release()
    await h.router.idle()
    expect((await post(h.base, channelText('list'))).status).toBe(200)
    expect(sent).toHaveLength(2)
    expect(cardText(cardOf(sent[1]))).toContain(ADMIN_EMAIL)
  })
})
