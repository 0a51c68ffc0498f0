/**
 * The full stack through HTTP, each side in its own process (docs/performance.md, `npm run bench`):
 *
 *   autocannon (bench/load.mjs) ──signed slash commands──▶ `node bin/inviteops.js serve`
 *                                                          │  Postgres: a fresh database
 *                                                          ▼
 *                                  Slack stand-in (bench/slack-standin.mjs): users.info,
 *                                  chat.postMessage, response_url
 *
 * and, under the same autocannon settings in the same run, the baseline: a bare Bolt app that
 * only acks (bench/bare-bolt.mjs). Order: bare Bolt, help, list, regenerate, bare Bolt again (the
 * baseline is the mean of both, so drift shows as their spread).
 *
 * Every phase is checked: every request answered 200, and after the ack the work arrived at Slack
 * (a response_url post per help and list, a channel confirmation per regenerate) and, for
 * regenerate, exactly one replaced invitation, new link, queued email and audit entry each in the
 * database. A phase that did not do exactly its work is INCOMPLETE and judges no target.
 *
 * The server's CPU comes from /proc/<pid>/stat over the regenerate phase; then the server is
 * started again under `--cpu-prof` for one more regenerate batch, whose samples (only those taken
 * during that batch) give the functions that cost the most.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knexFactory, { type Knex } from 'knex'
import { connectChat } from '../src/accounts/chat-connections.ts'
import { createAccount } from '../src/accounts/create-account.ts'
import { topSelfTime, type ProfileEntry } from './profile.ts'
import { cpuSeconds, fetchJson, memoryMb, onEarlyEnd, runToEnd, sleep, start, waitForLine, type Started } from './processes.ts'
import { envInt } from './support.ts'

const SECRET = 'bench-signing-secret-0123456789abcdef'
const TEAM = 'T0BENCH'
const CHANNEL = 'C0BENCH'
/** Regenerates per administrator: the production hourly limit (ADMIN_SEND_LIMIT_PER_HOUR's default). */
const PER_ADMIN = 50
const DAY = 86_400_000
/** The first line of a list page (any other answer to `list` is a refusal or an error). */
const LIST_REPLY = /^Users \(/

export interface StackOptions {
  databaseUrl: string
  connections: number
  /** Requests per help / list / bare Bolt phase. */
  requests: number
  /** Measured regenerates. */
  regenerates: number
  /** Regenerates of the profiled run. */
  profiled: number
  warmup: number
  /** Longest any one phase may take (autocannon is stopped, the drain is given up). */
  phaseSeconds: number
  logLevel: string
}

export function stackOptionsFromEnv(databaseUrl: string): StackOptions {
  return {
    databaseUrl,
    connections: envInt('BENCH_CONNECTIONS', 8, 1, 256),
    requests: envInt('BENCH_REQUESTS', 3000, 100, 1_000_000),
    regenerates: envInt('BENCH_REGENERATES', 2000, 100, 1_000_000),
    profiled: envInt('BENCH_PROFILE_REGENERATES', 1000, 100, 1_000_000),
    warmup: envInt('BENCH_WARMUP', 300, 0, 100_000),
    phaseSeconds: envInt('BENCH_PHASE_SECONDS', 60, 5, 3600),
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  }
}

/** autocannon's figures for one phase (bench/load.mjs). */
export interface LoadFigures {
  requests: number
  seconds: number
  rps: number
  p50: number
  p99: number
  max: number
  ok2xx: number
  non2xx: number
  errors: number
  timeouts: number
  start: number
  finish: number
  highest: number
}

interface StandinCounts {
  usersInfo: number
  postMessage: number
  responseUrl: number
  otherApi: number
  firstAt: number | null
  lastAt: number | null
  texts: Record<string, number>
}

export interface Phase {
  name: string
  load: LoadFigures | null
  /** Work that reached Slack after the acks: what was expected and what came. */
  expected: number
  arrived: number
  /** Epoch ms: load start to the last piece of work reaching Slack. */
  doneSeconds: number
  /** Completed units of work per second (acks are not work). */
  workRate: number
  /** What went wrong, when something did (the phase is then incomplete). */
  problems: string[]
  replies: Record<string, number>
}

export interface StackResult {
  connections: number
  serverCommand: string
  postgresVersion: string
  bare: Phase[]
  help: Phase | null
  list: Phase | null
  regenerate: Phase | null
  /** CPU seconds the server used over the regenerate phase ÷ regenerates, in ms. */
  cpuMsPerRegenerate: number
  /** The server's resident memory in MB: when ready, and its peak after the load. */
  serverMemory: { readyRss: number; readyHwm: number; afterHwm: number }
  profile: { entries: ProfileEntry[]; samplesMs: number; regenerates: number; note: string } | null
  users: number
  problems: string[]
}

function freshDatabaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Account, administrators admin0…, the Slack workspace, and `total` users each with one expired invitation. */
async function seed(db: Knex, total: number): Promise<void> {
  const now = Date.now()
  const created = await createAccount(db, { now: () => new Date(now - 30 * DAY) }, { name: 'Bench', adminEmail: 'owner@bench.test', adminFirstName: 'Owner', adminLastName: 'Bench', defaultGroup: 'Members' })
  if (!created.ok) throw new Error(`seed: ${created.code}`)
  const accountId = created.value.accountId
  const connected = await connectChat(db, { platform: 'slack', externalId: TEAM, accountId, channelId: CHANNEL })
  if (!connected.ok) throw new Error(`seed: ${connected.code}`)
  const group = async (name: string) => {
    const row = await db('groups').where({ account_id: accountId, name }).first<{ id: string } | undefined>('id')
    if (!row) throw new Error(`seed: no ${name} group`)
    return row.id
  }
  const members = await group('Members')
  const administrators = await group('Administrators')
  const createdAt = new Date(now - 8 * DAY).toISOString()
  const admins = Math.floor(total / PER_ADMIN) + 2
  const adminId = `md5('bench-admin-' || a)::uuid`
  await db.raw(
    `INSERT INTO users (id, account_id, email, first_name, last_name, status, joined_at, created_at, updated_at)
     SELECT ${adminId}, ?, 'admin' || a || '@bench.test', 'Admin', 'Number' || a, 'active', ?, ?, ?
       FROM generate_series(0, ?::int - 1) a`,
    [accountId, createdAt, createdAt, createdAt, admins],
  )
  await db.raw(`INSERT INTO user_groups (user_id, group_id) SELECT ${adminId}, ? FROM generate_series(0, ?::int - 1) a`, [administrators, admins])
  const userId = `md5('bench-user-' || g)::uuid`
  await db.raw(
    `INSERT INTO users (id, account_id, email, first_name, last_name, status, created_at, updated_at)
     SELECT ${userId}, ?, 'regen' || g || '@bench.test', 'First' || g, 'Last' || g, 'invited', ?, ?
       FROM generate_series(0, ?::int - 1) g`,
    [accountId, createdAt, createdAt, total],
  )
  await db.raw(`INSERT INTO user_groups (user_id, group_id) SELECT ${userId}, ? FROM generate_series(0, ?::int - 1) g`, [members, total])
  // Expired a day ago: every regenerate replaces one.
  await db.raw(
    `INSERT INTO invitations (account_id, user_id, link_id, token_hash, state, created_at, expires_at,
                              invited_by_user_id, invited_by_email, sent_count, last_sent_at, delivery_status)
     SELECT ?, ${userId}, md5('bench-link-' || g), encode(sha256(convert_to('bench-token-' || g, 'UTF8')), 'hex'), 'pending',
            ?::timestamptz, ?::timestamptz + interval '7 days', ?, 'owner@bench.test', 1, ?::timestamptz, 'sent'
       FROM generate_series(0, ?::int - 1) g`,
    [accountId, createdAt, createdAt, created.value.adminUserId, createdAt, total],
  )
  await db.raw('ANALYZE')
}

/** What regenerates wrote, counted from the rows. */
/** Wait (up to `limitMs`) until the outbox holds no email waiting to be sent; returns how many still wait. */
async function emailsDrained(db: Knex, limitMs: number): Promise<number> {
  const until = Date.now() + limitMs
  for (;;) {
    const r = await db.raw<{ rows: { waiting: number }[] }>(`SELECT count(*)::int AS waiting FROM email_outbox WHERE status IN ('queued', 'sending')`)
    const waiting = Number(r.rows[0]?.waiting)
    if (waiting === 0 || Date.now() >= until) return waiting
    await sleep(100)
  }
}

async function regenerateWrites(db: Knex): Promise<{ replaced: number; emails: number; audited: number }> {
  const r = await db.raw<{ rows: { replaced: number; emails: number; audited: number }[] }>(
    `SELECT (SELECT count(*) FROM invitations WHERE state = 'replaced' AND replaced_by IS NOT NULL)::int AS replaced,
            (SELECT count(*) FROM email_outbox WHERE kind = 'new_invitation')::int AS emails,
            (SELECT count(*) FROM audit_log WHERE result_code = 'invitation.regenerated')::int AS audited`,
  )
  const row = r.rows[0]
  return { replaced: Number(row?.replaced), emails: Number(row?.emails), audited: Number(row?.audited) }
}

/** A pino JSON line as `msg: err.message` (bounded), or the line itself when it is not JSON. */
function describeLogLine(line: string): string {
  try {
    const o = JSON.parse(line) as { msg?: string; err?: { message?: string } | string; what?: string }
    const err = typeof o.err === 'string' ? o.err : o.err?.message
    return `${o.msg ?? '?'}${o.what ? ` (${o.what})` : ''}${err ? `: ${err}` : ''}`.slice(0, 300)
  } catch {
    return line.slice(0, 300)
  }
}

class Stack {
  standin!: Started
  standinUrl = ''
  bare!: Started
  bareUrl = ''
  server: Started | null = null
  serverUrl = ''
  /** Errors the server logged (pino level ≥ 50), shortened: a phase that caused any is incomplete. */
  serverErrors: string[] = []
  constructor(
    readonly opts: StackOptions,
    readonly dbUrl: string,
    readonly dataDir: string,
  ) {}

  async startStandin(): Promise<void> {
    this.standin = start(process.execPath, ['bench/slack-standin.mjs'], { env: { ...process.env, BENCH_TEAM: TEAM, BENCH_CHANNEL: CHANNEL } })
    this.standinUrl = `http://127.0.0.1:${await waitForLine(this.standin, /listening (\d+)/, 10_000)}`
  }

  async startBare(): Promise<void> {
    this.bare = start(process.execPath, ['bench/bare-bolt.mjs'], { env: { ...process.env, SLACK_SIGNING_SECRET: SECRET } })
    this.bareUrl = `http://127.0.0.1:${await waitForLine(this.bare, /listening (\d+)/, 20_000)}`
  }

  serverEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      PORT: '0',
      DATABASE_URL: this.dbUrl,
      DATA_DIR: this.dataDir,
      INVITE_SECRET: 'bench-invite-secret-0123456789abcdefghij',
      LOG_LEVEL: this.opts.logLevel,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: `${this.standinUrl}/api/`,
      ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
    }
    return env
  }

  async startServer(nodeArgs: string[] = []): Promise<void> {
    this.server = start(process.execPath, [...nodeArgs, 'bin/inviteops.js', 'serve'], { env: this.serverEnv() })
    let partial = ''
    this.server.child.stdout?.on('data', (c: Buffer) => {
      const lines = (partial + c.toString('utf8')).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) if (/"level":(5|6)0\b/.test(line)) this.serverErrors.push(describeLogLine(line))
    })
    const port = await waitForLine(this.server, /running on https?:\/\/[^:\s]+:(\d+)/, 60_000)
    this.serverUrl = `http://127.0.0.1:${port}`
    const until = Date.now() + 30_000
    while ((await fetch(`${this.serverUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > until) throw new Error(`server at ${this.serverUrl} not ready within 30 s`)
      await sleep(50)
    }
  }

  async stopServer(): Promise<void> {
    await this.server?.stop(15_000)
    this.server = null
  }

  async load(url: string, text: string, amount: number, first: number, perAdmin: number): Promise<LoadFigures | string> {
    const spec = {
      url,
      secret: SECRET,
      team: TEAM,
      channel: CHANNEL,
      responseUrl: `${this.standinUrl}/hooks/commands/${TEAM}/1/x`,
      text,
      first,
      perAdmin,
      connections: this.opts.connections,
      amount,
      maxSeconds: this.opts.phaseSeconds,
    }
    const out = await runToEnd(process.execPath, ['bench/load.mjs', JSON.stringify(spec)], (this.opts.phaseSeconds + 30) * 1000)
    const line = out.stdout.trim().split('\n').at(-1) ?? ''
    try {
      const parsed = JSON.parse(line) as LoadFigures & { error?: string }
      if (parsed.error) return `autocannon: ${parsed.error}`
      return parsed
    } catch {
      return `autocannon printed no figures (exit ${out.code}${out.timedOut ? ', timed out' : ''}): ${`${out.stderr}\n${out.stdout}`.trim().slice(-400)}`
    }
  }

  counts(): Promise<StandinCounts | null> {
    return fetchJson<StandinCounts>(`${this.standinUrl}/__bench/counts`)
  }

  async resetCounts(): Promise<void> {
    await fetchJson(`${this.standinUrl}/__bench/reset`, { method: 'POST' })
  }

  /** Wait until `arrived(counts)` reaches `expected` (the work after the acks), bounded. */
  async drain(arrived: (c: StandinCounts) => number, expected: number): Promise<StandinCounts | null> {
    const until = Date.now() + this.opts.phaseSeconds * 1000
    let last: StandinCounts | null = null
    let lastChange = Date.now()
    let lastValue = -1
    for (;;) {
      last = await this.counts()
      const value = last ? arrived(last) : -1
      if (value >= expected) return last
      if (value !== lastValue) {
        lastValue = value
        lastChange = Date.now()
      }
      // Nothing more for 15 s: the rest is not coming (failed work is not retried).
      if (Date.now() > until || Date.now() - lastChange > 15_000) return last
      await sleep(20)
    }
  }

  /** One measured phase against our server or the bare app. */
  async phase(name: string, url: string, text: string, amount: number, first: number, work: RegExp | null): Promise<Phase> {
    await this.resetCounts()
    const errorsBefore = this.serverErrors.length
    process.stdout.write(`${name}… `)
    // Regenerates rotate administrators (the hourly send limit); the rest ask as admin0.
    const figures = await this.load(url, text, amount, first, text.startsWith('regenerate') ? PER_ADMIN : 1e12)
    const problems: string[] = []
    if (typeof figures === 'string') return { name, load: null, expected: 0, arrived: 0, doneSeconds: Number.NaN, workRate: Number.NaN, problems: [figures], replies: {} }
    if (figures.requests !== amount) problems.push(`${figures.requests} of ${amount} requests sent`)
    if (figures.non2xx > 0 || figures.errors > 0 || figures.timeouts > 0) problems.push(`${figures.non2xx} non-2xx, ${figures.errors} errors, ${figures.timeouts} timeouts`)
    let arrived = 0
    let doneSeconds = figures.seconds
    let replies: Record<string, number> = {}
    if (work) {
      const counted = (c: StandinCounts) => Object.entries(c.texts).reduce((n, [text, k]) => n + (work.test(text) ? k : 0), 0)
      const counts = await this.drain(counted, figures.ok2xx)
      arrived = counts ? counted(counts) : 0
      replies = counts?.texts ?? {}
      if (arrived !== figures.ok2xx) problems.push(`${arrived} of ${figures.ok2xx} answers reached Slack after the acks`)
      if (counts?.lastAt) doneSeconds = Math.max(figures.seconds, (counts.lastAt - figures.start) / 1000)
    }
    const errors = this.serverErrors.slice(errorsBefore)
    if (errors.length > 0) problems.push(`the server logged ${errors.length} errors; the first: ${errors[0]}`)
    return { name, load: figures, expected: figures.ok2xx, arrived, doneSeconds, workRate: (work ? arrived : figures.ok2xx) / doneSeconds, problems, replies }
  }
}

export async function runStack(opts: StackOptions): Promise<StackResult> {
  const name = `inviteops_bench_${randomBytes(5).toString('hex')}`
  const admin = knexFactory({ client: 'pg', connection: opts.databaseUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 10_000 })
  const dbUrl = freshDatabaseUrl(opts.databaseUrl, name)
  const dataDir = await mkdtemp(join(tmpdir(), 'inviteops-bench-'))
  const stack = new Stack(opts, dbUrl, dataDir)
  const forgetDir = onEarlyEnd(() => rm(dataDir, { recursive: true, force: true }))
  let db: Knex | null = null
  let forgetDrop = () => {}
  const result: StackResult = {
    connections: opts.connections,
    serverCommand: 'node bin/inviteops.js serve',
    postgresVersion: '?',
    bare: [],
    help: null,
    list: null,
    regenerate: null,
    cpuMsPerRegenerate: Number.NaN,
    serverMemory: { readyRss: Number.NaN, readyHwm: Number.NaN, afterHwm: Number.NaN },
    profile: null,
    users: 0,
    problems: [],
  }
  try {
    await admin.raw(`CREATE DATABASE ${name}`)
    forgetDrop = onEarlyEnd(() => admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    db = knexFactory({ client: 'pg', connection: dbUrl, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 10_000 })
    const version = await db.raw<{ rows: { v: string }[] }>(`SELECT current_setting('server_version') AS v`)
    result.postgresVersion = version.rows[0]?.v ?? '?'

    await stack.startStandin()
    await stack.startBare()
    // The server migrates the fresh database as it starts; seeding follows.
    process.stdout.write('starting the server… ')
    await stack.startServer()
    const ready = memoryMb(stack.server!.pid)
    result.serverMemory.readyRss = ready.rss
    result.serverMemory.readyHwm = ready.hwm

    // Invitations: warm-up, measured, profiled, each range with room for the requests
    // autocannon builds but does not send (one per connection at most).
    const margin = 2 * opts.connections
    const ranges = { warm: 0, measured: opts.warmup + margin, profiled: opts.warmup + opts.regenerates + 2 * margin }
    const total = ranges.profiled + opts.profiled + margin
    process.stdout.write(`seeding ${total} users with an expired invitation… `)
    await seed(db, total)
    result.users = total + Math.floor(total / PER_ADMIN) + 3

    const server = () => stack.serverUrl
    // The answers that are the work of each command, told apart by their first line (notices
    // and errors are not counted).
    const responses = /^InviteOps: manage your account/
    const confirmations = /sent a new invitation to/
    const listed = LIST_REPLY
    // Warm both sides: JIT, connection pools, the identity cache.
    process.stdout.write('warming up… ')
    if (opts.warmup > 0) {
      await stack.load(stack.bareUrl, 'help', opts.warmup, 0, 1e12)
      await stack.phase('warm-up', server(), 'help', opts.warmup, 0, responses)
      await stack.phase('warm-up', server(), 'list', opts.warmup, 0, listed)
      await stack.phase('warm-up', server(), 'regenerate regen{n}@bench.test', opts.warmup, ranges.warm, confirmations)
    }
    result.bare.push(await stack.phase('bare Bolt (1st)', stack.bareUrl, 'help', opts.requests, 0, null))
    result.help = await stack.phase('/invite help', server(), 'help', opts.requests, 1_000_000, responses)
    result.list = await stack.phase('/invite list', server(), 'list', opts.requests, 2_000_000, listed)

    const before = await regenerateWrites(db)
    // The CPU window holds every regenerate's whole cost, its email included: it opens once the
    // emails of earlier phases are sent and closes once this phase's are, so a faster email worker
    // cannot move another phase's sends into (or this phase's out of) the figure.
    const backlog0 = await emailsDrained(db, 60_000)
    const cpu0 = cpuSeconds(stack.server!.pid)
    result.regenerate = await stack.phase('/invite regenerate', server(), 'regenerate regen{n}@bench.test', opts.regenerates, ranges.measured, confirmations)
    const backlog1 = await emailsDrained(db, 120_000)
    const cpu1 = cpuSeconds(stack.server!.pid)
    if (backlog0 > 0 || backlog1 > 0) result.regenerate.problems.push(`emails still queued at the CPU window's edges (${backlog0} before, ${backlog1} after)`)
    if (result.regenerate.load) {
      const done = result.regenerate.load.ok2xx
      result.cpuMsPerRegenerate = ((cpu1 - cpu0) * 1000) / done
      const after = await regenerateWrites(db)
      const d = { replaced: after.replaced - before.replaced, emails: after.emails - before.emails, audited: after.audited - before.audited }
      if (d.replaced !== done || d.emails !== done || d.audited !== done) {
        result.regenerate.problems.push(`expected ${done} of each write; ${d.replaced} invitations replaced, ${d.emails} emails queued, ${d.audited} audit entries`)
      }
    }
    result.bare.push(await stack.phase('bare Bolt (2nd)', stack.bareUrl, 'help', opts.requests, 0, null))
    result.serverMemory.afterHwm = memoryMb(stack.server!.pid).hwm
    console.log('done')

    // The profile: the same server, started again under --cpu-prof, one more regenerate batch.
    process.stdout.write('profiling regenerate… ')
    await stack.stopServer()
    const profDir = join(dataDir, 'cpu-profile')
    await stack.startServer(['--cpu-prof', `--cpu-prof-dir=${profDir}`])
    const usFrom = Number(process.hrtime.bigint() / 1000n)
    const profiled = await stack.phase('profiled regenerate', server(), 'regenerate regen{n}@bench.test', opts.profiled, ranges.profiled, confirmations)
    const usTo = Number(process.hrtime.bigint() / 1000n)
    await stack.stopServer()
    const files = (await readdir(profDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'))
    if (files.length === 0 || !profiled.load) {
      result.problems.push(`no CPU profile (${files.length} files; ${profiled.problems.join('; ')})`)
    } else {
      const profileText = await readFile(join(profDir, files[0]!), 'utf8')
      // BENCH_KEEP_PROFILE=<file>: keep the raw profile (for Chrome DevTools or a closer look).
      if (process.env.BENCH_KEEP_PROFILE) await writeFile(process.env.BENCH_KEEP_PROFILE, profileText)
      const profile = JSON.parse(profileText) as unknown
      const top = topSelfTime(profile, { fromUs: usFrom, toUs: usTo, root: process.cwd(), limit: 12 })
      result.profile = { entries: top.entries, samplesMs: top.totalMs, regenerates: profiled.load.ok2xx, note: [top.note, ...profiled.problems].filter(Boolean).join('; ') }
    }
    console.log('done')
  } catch (err) {
    result.problems.push(err instanceof Error ? err.message : String(err))
    console.log(`failed: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    await stack.stopServer().catch(() => undefined)
    await stack.bare?.stop().catch(() => undefined)
    await stack.standin?.stop().catch(() => undefined)
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), sleep(5000)])
    if (db) await bounded(db.destroy())
    await bounded(admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    forgetDrop()
    await bounded(admin.destroy())
    await rm(dataDir, { recursive: true, force: true })
    forgetDir()
  }
  return result
}

/** Whether the phase did exactly its work (no failed request, every answer arrived, every write made). */
export const complete = (p: Phase | null | undefined): p is Phase & { load: LoadFigures } => Boolean(p && p.load && p.problems.length === 0)

/** The baseline: the mean of the bare Bolt runs (both must be complete). */
export function bareBaseline(bare: Phase[]): { rps: number; p50: number; p99: number } | null {
  if (bare.length === 0 || !bare.every(complete)) return null
  const mean = (f: (l: LoadFigures) => number) => bare.reduce((s, p) => s + f(p.load!), 0) / bare.length
  return { rps: mean((l) => l.rps), p50: mean((l) => l.p50), p99: mean((l) => l.p99) }
}
