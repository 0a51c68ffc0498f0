/**
 * Benchmark: signed `/invite regenerate <email>` slash commands through the whole HTTP stack
 * (createHttpApp → our gate → Bolt → ack; then, after the ack, users.info → core transaction →
 * outbox → chat.postMessage), against Postgres (DATABASE_URL) or embedded PGlite, beside a bare
 * Bolt app that only acknowledges, measured in the same run (docs/performance.md).
 *
 * Loopback only: Slack's Web API and response_url are a local fake server in a worker thread. Bounded: a fixed
 * number of requests and a time limit; it stops by itself. Never a timing threshold in a test:
 * targets are printed, not asserted.
 *
 * Knobs (env): BENCH_REQUESTS (default 1000), BENCH_CONCURRENCY (default 8), BENCH_WARMUP
 * (default 100), BENCH_MAX_SECONDS (default 120), DATABASE_URL (a server; a fresh database is
 * created on it and dropped afterwards).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Worker } from 'node:worker_threads'
import { App, ExpressReceiver, LogLevel } from '@slack/bolt'
import express from 'express'
import { connectChat } from '../src/accounts/chat-connections.ts'
import { addInvitation } from '../src/invitations/add-invitation.ts'
import { silentLogger, type Logger } from '../src/ports/logger.ts'
import { createHttpApp } from '../src/server/http.ts'
import { createSlackRouter } from '../adapters/slack/router.ts'
import { createTestDatabase } from '../test/support/db.ts'
import { DAY, makeDeps, seedAccount } from '../test/support/factories.ts'
import { envInt, fmt, percentile } from './support.ts'

const SECRET = 'bench-signing-secret-0123456789abcdef'
const TEAM = 'T0BENCH'
const CHANNEL = 'C0BENCH'
const ADMIN_SLACK_ID = 'U0BENCHADMIN'
const ADMIN_EMAIL = 'admin@bench.test'

export interface BenchOptions {
  requests: number
  concurrency: number
  warmup: number
  maxSeconds: number
}

interface Stats {
  count: number
  p50: number
  p99: number
  max: number
  rps: number
  errors: number
}

export function benchOptionsFromEnv(): BenchOptions {
  return {
    requests: envInt('BENCH_REQUESTS', 1000, 10, 100_000),
    concurrency: envInt('BENCH_CONCURRENCY', 8, 1, 256),
    warmup: envInt('BENCH_WARMUP', 100, 0, 10_000),
    maxSeconds: envInt('BENCH_MAX_SECONDS', 120, 5, 3600),
  }
}

function stats(latencies: number[], seconds: number, errors: number): Stats {
  const sorted = [...latencies].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, rps: sorted.length / seconds, errors }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}


/**
 * Slack, played locally in a worker thread (real Slack is another machine: its work must not
 * take our event loop's time): users.info, chat.postMessage, response_url. Reports each
 * confirmation (the email it names and when, in epoch ms) to the main thread. Plain JS.
 */
const FAKE_SLACK = `
const { parentPort, workerData } = require('node:worker_threads')
const { createServer } = require('node:http')
const { team, channel, adminId, adminEmail } = workerData
const usersInfo = JSON.stringify({ ok: true, user: { id: adminId, team_id: team, name: 'admin', deleted: false, is_bot: false, is_restricted: false, is_ultra_restricted: false, is_email_confirmed: true, profile: { email: adminEmail, display_name: 'admin' } } })
const posted = JSON.stringify({ ok: true, channel, ts: '1.1' })
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/api/users.info') return res.end(usersInfo)
    if (req.url === '/api/chat.postMessage') {
      const text = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('text') || ''
      const email = /new invitation to (\\S+?),/.exec(text)?.[1]
      if (email) parentPort.postMessage({ email, at: performance.timeOrigin + performance.now() })
      return res.end(posted)
    }
    // response_url (errors would land here: counted by the caller through the DB check)
    res.end(JSON.stringify({ ok: true }))
  })
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
parentPort.on('message', () => {
  server.closeAllConnections()
  server.close(() => parentPort.postMessage({ closed: true }))
})
`

interface FakeSlack {
  url: string
  close(): Promise<void>
}

function startFakeSlack(onConfirmed: (email: string, at: number) => void): Promise<FakeSlack> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(FAKE_SLACK, { eval: true, workerData: { team: TEAM, channel: CHANNEL, adminId: ADMIN_SLACK_ID, adminEmail: ADMIN_EMAIL } })
    worker.once('error', reject)
    worker.on('message', (m: { port?: number; email?: string; at?: number }) => {
      if (m.port !== undefined) {
        resolve({
          url: `http://127.0.0.1:${m.port}`,
          close: async () => {
            worker.postMessage('close')
            await Promise.race([new Promise((r) => worker.once('message', r)), new Promise((r) => setTimeout(r, 2000).unref())])
            await worker.terminate()
          },
        })
      } else if (m.email !== undefined && m.at !== undefined) {
        onConfirmed(m.email, m.at)
      }
    })
  })
}

/**
 * The load generator runs in a worker thread, so signing and fetch do not share the servers'
 * event loop (on a 2-core machine that would halve what is measured). Plain JS: the worker
 * needs no TypeScript loader.
 */
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHmac } = require('node:crypto')
const { url, bodies, concurrency, deadline, secret, awaitDone } = workerData
const now = () => performance.timeOrigin + performance.now()
// End-to-end mode: a slot sends its next request only when the main thread reports that the
// previous one's confirmation reached Slack, so 'concurrency' full regenerates are in flight.
const waiting = new Map()
parentPort.on('message', (i) => {
  const resolve = waiting.get(i)
  if (resolve) {
    waiting.delete(i)
    resolve()
  } else {
    waiting.set(i, null)
  }
})
const done = (i) => new Promise((resolve) => {
  if (waiting.has(i)) {
    waiting.delete(i)
    resolve()
  } else {
    waiting.set(i, resolve)
  }
})
const latencies = []
const sentAt = []
let errors = 0
let next = 0
async function worker() {
  while (next < bodies.length && Date.now() < deadline) {
    const i = next++
    const body = bodies[i]
    const ts = String(Math.floor(Date.now() / 1000))
    const signature = 'v0=' + createHmac('sha256', secret).update('v0:' + ts + ':' + body).digest('hex')
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature }
    const t0 = now()
    sentAt[i] = t0
    try {
      const res = await fetch(url + '/slack/events', { method: 'POST', headers, body })
      await res.arrayBuffer()
      if (res.status !== 200) errors++
    } catch {
      errors++
    }
    if (awaitDone) await Promise.race([done(i), new Promise((r) => setTimeout(r, 10000))])
    latencies.push(now() - t0)
  }
}
const start = now()
Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
  parentPort.postMessage({ latencies, sentAt, errors, seconds: (now() - start) / 1000 })
})
`

interface LoadResult {
  latencies: number[]
  /** Epoch milliseconds (sub-ms) each request was sent, by index. */
  sentAt: number[]
  seconds: number
  errors: number
}

/**
 * A closed loop of `concurrency` requests in flight, in a worker thread; stops at the deadline.
 * With `untilDone`, a request counts as finished when its confirmation reached Slack (the
 * caller calls the returned `done(i)`), not when it was acknowledged.
 */
function load(url: string, bodies: string[], concurrency: number, deadline: number, untilDone?: (done: (i: number) => void) => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOADER, { eval: true, workerData: { url, bodies, concurrency, deadline, secret: SECRET, awaitDone: Boolean(untilDone) } })
    untilDone?.((i) => worker.postMessage(i))
    worker.once('message', (result: LoadResult) => {
      resolve(result)
      void worker.terminate()
    })
    worker.once('error', reject)
  })
}


function commandBody(text: string, n: number, responseUrl: string): string {
  return new URLSearchParams({
    token: 'bench',
    team_id: TEAM,
    team_domain: 'bench',
    channel_id: CHANNEL,
    channel_name: 'admins',
    user_id: ADMIN_SLACK_ID,
    user_name: 'admin',
    command: '/invite',
    text,
    api_app_id: 'A0BENCH',
    response_url: responseUrl,
    trigger_id: `bench.${n}.${Math.random().toString(36).slice(2)}`,
  }).toString()
}

/** The bare Bolt app: same receiver, one listener that only acknowledges. */
function bareBolt(): Server {
  const receiver = new ExpressReceiver({ signingSecret: SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR })
  const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bench' }), logLevel: LogLevel.ERROR, ignoreSelf: false })
  app.command('/invite', async ({ ack }) => {
    await ack()
  })
  const server = express()
  server.use(receiver.router)
  return createServer(server)
}


/** A logger that only keeps errors: work after the ack that failed must show in the figures. */
function errorCollector(): { logger: Logger; errors: string[] } {
  const errors: string[] = []
  const logger: Logger = {
    info: () => {},
    warn: () => {},
    debug: () => {},
    error: (obj, msg) => {
      errors.push(`${msg ?? ''} ${JSON.stringify(obj).slice(0, 300)}`)
    },
    child: () => logger,
  }
  return { logger, errors }
}

export async function runSlackRegenerateBench(opts: BenchOptions): Promise<void> {
  const deadline = Date.now() + opts.maxSeconds * 1000
  const failureLog = errorCollector()
  const db = await createTestDatabase()
  // Epoch ms at which each email's confirmation reached (fake) Slack.
  const confirmedAt = new Map<string, number>()
  let onConfirmed: ((email: string) => void) | null = null
  const slack = await startFakeSlack((email, at) => {
    confirmedAt.set(email, at)
    onConfirmed?.(email)
  })
  const fake = slack.url
  let ours: Server | null = null
  let bare: Server | null = null
  try {
    const deps = makeDeps(db.knex, { logger: failureLog.logger, config: { limits: { adminSendsPerHour: 1_000_000_000, recipientSendsPerDay: 1_000_000_000 } } })
    const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
    await connectChat(db.knex, { platform: 'slack', externalId: TEAM, accountId: seed.account.id, channelId: CHANNEL })

    const total = opts.warmup + 2 * opts.requests
    process.stdout.write(`seeding ${total} invitations on ${db.kind === 'postgres' ? 'Postgres' : 'PGlite'}… `)
    const seedStart = performance.now()
    const emails = Array.from({ length: total }, (_, i) => `bench${i}@bench.test`)
    for (let i = 0; i < emails.length; i += 8) {
      await Promise.all(
        emails.slice(i, i + 8).map(async (email) => {
          const r = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email, firstName: 'Bench', lastName: 'User', groups: [] })
          if (!r.ok) throw new Error(`seed ${email}: ${r.code}`)
        }),
      )
    }
    console.log(`${((performance.now() - seedStart) / 1000).toFixed(1)} s`)
    deps.clock.advance(8 * DAY) // every invitation has expired: each command regenerates one

    // Waiting for the work after the ack is bounded too: a stuck database must not hang the run.
    const settle = () => Promise.race([router.idle(), new Promise<void>((resolve) => setTimeout(resolve, Math.max(1000, deadline - Date.now())).unref())])
    const router = createSlackRouter(deps, { signingSecret: SECRET, botToken: 'xoxb-bench', apiUrl: `${fake}/api/` }, { clientOptions: { retryConfig: { retries: 0 } } })
    const { app } = createHttpApp({ db: db.knex, logger: silentLogger, mounts: [{ path: '/', router }] })
    ours = createServer(app)
    bare = bareBolt()
    const oursUrl = await listen(ours)
    const bareUrl = await listen(bare)
    const responseUrl = `${fake}/hooks/commands/${TEAM}/1/x`

    const bareBodies = (n: number, offset: number) => Array.from({ length: n }, (_, i) => commandBody(`regenerate ${emails[offset + i]}`, offset + i, responseUrl))
    const phase = (name: string) => process.stdout.write(`${name}… `)
    // Warm both (JIT, connection pools, identity cache), then measure bare, ours, bare again.
    phase('warming up')
    await load(bareUrl, bareBodies(Math.min(opts.warmup, 200), 0), opts.concurrency, deadline)
    const warm = bareBodies(opts.warmup, 0)
    await load(oursUrl, warm, opts.concurrency, deadline)
    await settle()

    phase('measuring acks')
    const measured = bareBodies(opts.requests, opts.warmup)
    const bare1 = await load(bareUrl, measured, opts.concurrency, deadline)
    const oursRun = await load(oursUrl, measured, opts.concurrency, deadline)
    const drainStart = performance.now()
    await settle()
    const drainSeconds = (performance.now() - drainStart) / 1000
    const completions: number[] = []
    oursRun.sentAt.forEach((t0, i) => {
      const done = confirmedAt.get(emails[opts.warmup + i]!)
      if (done !== undefined) completions.push(done - t0)
    })
    const bare2 = await load(bareUrl, measured, opts.concurrency, deadline)

    // End to end at a sustainable rate: each slot waits for its confirmation before the next.
    phase('measuring end to end')
    const e2eOffset = opts.warmup + opts.requests
    const e2eBodies = bareBodies(opts.requests, e2eOffset)
    const e2e = await load(oursUrl, e2eBodies, opts.concurrency, deadline, (done) => {
      onConfirmed = (email) => {
        const n = Number(/^bench(\d+)@/.exec(email)?.[1])
        if (n >= e2eOffset) done(n - e2eOffset)
      }
    })
    onConfirmed = null
    await settle()
    const e2eStats = stats(e2e.latencies, e2e.seconds, e2e.errors)
    console.log('done')

    const bareStats = stats([...bare1.latencies, ...bare2.latencies], bare1.seconds + bare2.seconds, bare1.errors + bare2.errors)
    const ackStats = stats(oursRun.latencies, oursRun.seconds, oursRun.errors)
    const doneStats = stats(completions, oursRun.seconds + drainSeconds, 0)
    const [regenerated] = await db.knex('invitations').where({ state: 'replaced' }).count<{ n: number }[]>({ n: '*' })
    const [emailsQueued] = await db.knex('email_outbox').where({ kind: 'new_invitation' }).count<{ n: number }[]>({ n: '*' })

    console.log(`\n/invite regenerate through the HTTP stack · ${db.kind === 'postgres' ? 'Postgres' : 'PGlite (embedded)'} · ${opts.requests} requests · concurrency ${opts.concurrency}`)
    console.log(`${''.padEnd(40)}  p50 ms   p99 ms   max ms    req/s  errors`)
    const line = (name: string, s: Stats) => console.log(`${name.padEnd(40)} ${fmt(s.p50).padStart(7)}  ${fmt(s.p99).padStart(7)}  ${fmt(s.max).padStart(7)}  ${fmt(s.rps, 0).padStart(7)}  ${String(s.errors).padStart(6)}`)
    line('bare Bolt, ack only', bareStats)
    line('InviteOps, acknowledgement', ackStats)
    line('InviteOps, ack → confirmation (backlog)', doneStats)
    line('InviteOps, full regenerate, sustained', e2eStats)
    console.log(`\nratios (InviteOps / bare Bolt): p50 ${fmt(ackStats.p50 / bareStats.p50, 2)}×, p99 ${fmt(ackStats.p99 / bareStats.p99, 2)}×, req/s ${fmt(ackStats.rps / bareStats.rps, 2)}×`)
    console.log(`work after the ack: ${completions.length} confirmations timed; ${Number(regenerated?.n)} links replaced, ${Number(emailsQueued?.n)} new-invitation emails queued (expected ${opts.warmup + oursRun.latencies.length + e2e.latencies.length} each)`)
    if (failureLog.errors.length > 0) console.log(`FAILURES after the ack: ${failureLog.errors.length}; first: ${failureLog.errors[0]}`)
    console.log('(backlog: acks outpace the work, so that line measures queueing; "sustained" keeps `concurrency` full regenerates in flight)')
    const incomplete = failureLog.errors.length > 0 || bareStats.count === 0 || ackStats.count === 0 || e2eStats.count === 0
    if (incomplete) {
      console.log('INCOMPLETE RUN: work failed or a phase sent nothing; the figures above are not comparable and no target is judged.')
    } else {
      console.log(`targets (docs/performance.md, informative): ack p99 < 50 ms: ${ackStats.p99 < 50 ? 'met' : 'NOT met'}; full regenerate p99 < 50 ms (sustained): ${e2eStats.p99 < 50 ? 'met' : 'NOT met'}; ack req/s ≥ 0.5× bare: ${ackStats.rps >= 0.5 * bareStats.rps ? 'met' : 'NOT met'}`)
    }
    if (Date.now() >= deadline) console.log(`(stopped at the ${opts.maxSeconds} s limit: figures cover the requests sent)`)
  } finally {
    if (ours) await close(ours)
    if (bare) await close(bare)
    await slack.close()
    // Bounded, like everything else here: a wedged database must not keep the run alive.
    await Promise.race([db.close(), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())])
  }
}
