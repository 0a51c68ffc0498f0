/**
 * Start-up and the CLI, each measured as a person meets them: a new process, wall time from spawn,
 * and its memory.
 *
 *  - `node -e 0` (the baseline) and `node bin/inviteops.js --help`: the median of BENCH_START_RUNS
 *    (≥ 10) runs each, interleaved so drift of a shared machine hits both alike; peak RSS from
 *    /usr/bin/time (`%M`, the process's own maximum resident set).
 *  - `serve` until `GET /readyz` answers 200: on a brand-new DATA_DIR (PGlite's first start,
 *    which creates its database), on an existing DATA_DIR (a restart), and with DATABASE_URL (a
 *    migrated database on the Postgres server): the median of BENCH_SERVE_RUNS (≥ 5) each, with
 *    the server's resident memory when ready (VmRSS, and VmHWM, its peak so far).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knexFactory from 'knex'
import { memoryMb, onEarlyEnd, runToEnd, sleep, start, waitForLine } from './processes.ts'
import { envInt, percentile } from './support.ts'

export interface StartupOptions {
  cliRuns: number
  serveRuns: number
  databaseUrl: string | null
}

export function startupOptionsFromEnv(databaseUrl: string | null): StartupOptions {
  return { cliRuns: envInt('BENCH_START_RUNS', 10, 10, 200), serveRuns: envInt('BENCH_SERVE_RUNS', 5, 5, 50), databaseUrl }
}

export interface Sample {
  wallMs: number
  /** Peak resident memory in MB (NaN when it could not be read). */
  peakMb: number
  /** Resident memory when ready, in MB (serve only). */
  rssMb: number
}

export interface Measured {
  what: string
  runs: number
  /** Medians. */
  wallMs: number
  peakMb: number
  rssMb: number
  /** Every run's wall time, for the spread. */
  walls: number[]
  problems: string[]
}

export interface StartupResult {
  nodeE0: Measured
  help: Measured
  firstStart: Measured
  restart: Measured
  databaseUrl: Measured | null
}

const median = (xs: number[]) => percentile([...xs].filter(Number.isFinite).sort((a, b) => a - b), 50)

function summary(what: string, samples: Sample[], problems: string[]): Measured {
  return {
    what,
    runs: samples.length,
    wallMs: median(samples.map((s) => s.wallMs)),
    peakMb: median(samples.map((s) => s.peakMb)),
    rssMb: median(samples.map((s) => s.rssMb)),
    walls: samples.map((s) => s.wallMs),
    problems,
  }
}

const TIME = '/usr/bin/time'

/** One short command: wall time from spawn to exit, peak RSS from /usr/bin/time when there is one. */
async function timeCommand(args: string[]): Promise<Sample | string> {
  const withTime = existsSync(TIME)
  const [cmd, argv] = withTime ? [TIME, ['-f', 'maxrss=%M', process.execPath, ...args]] : [process.execPath, args]
  const t0 = performance.now()
  const out = await runToEnd(cmd, argv, 30_000, { env: { PATH: process.env.PATH, HOME: process.env.HOME } })
  const wallMs = performance.now() - t0
  if (out.code !== 0) return `exit ${out.code}${out.timedOut ? ' (timed out)' : ''}: ${out.stderr.trim().slice(-300)}`
  const kb = Number(/maxrss=(\d+)/.exec(out.stderr)?.[1])
  return { wallMs, peakMb: kb / 1024, rssMb: Number.NaN }
}

/** Start `serve`, time it until /readyz is 200, read its memory, stop it. */
async function timeServe(env: NodeJS.ProcessEnv): Promise<Sample | string> {
  const t0 = performance.now()
  const server = start(process.execPath, ['bin/inviteops.js', 'serve'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', ...env } })
  try {
    const port = await waitForLine(server, /running on https?:\/\/[^:\s]+:(\d+)/, 60_000)
    const until = Date.now() + 30_000
    while ((await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > until) return 'not ready within 30 s of listening'
      await sleep(5)
    }
    const wallMs = performance.now() - t0
    const mem = memoryMb(server.pid)
    return { wallMs, peakMb: mem.hwm, rssMb: mem.rss }
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  } finally {
    await server.stop(15_000)
  }
}

async function repeat(what: string, runs: number, once: (i: number) => Promise<Sample | string>): Promise<Measured> {
  const samples: Sample[] = []
  const problems: string[] = []
  for (let i = 0; i < runs; i++) {
    const s = await once(i)
    if (typeof s === 'string') problems.push(s)
    else samples.push(s)
  }
  return summary(what, samples, problems)
}

export async function runStartup(opts: StartupOptions): Promise<StartupResult> {
  // Interleaved: node -e 0, --help, node -e 0, --help, …
  const e0: Sample[] = []
  const help: Sample[] = []
  const e0Problems: string[] = []
  const helpProblems: string[] = []
  process.stdout.write(`node -e 0 and inviteops --help, ${opts.cliRuns} runs each… `)
  await timeCommand(['-e', '0']) // the first spawn pays for the page cache
  await timeCommand(['bin/inviteops.js', '--help'])
  for (let i = 0; i < opts.cliRuns; i++) {
    const a = await timeCommand(['-e', '0'])
    if (typeof a === 'string') e0Problems.push(a)
    else e0.push(a)
    const b = await timeCommand(['bin/inviteops.js', '--help'])
    if (typeof b === 'string') helpProblems.push(b)
    else help.push(b)
  }
  console.log('done')

  const dirs: string[] = []
  const forgetDirs: (() => void)[] = []
  const newDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'inviteops-start-'))
    dirs.push(d)
    forgetDirs.push(onEarlyEnd(() => rm(d, { recursive: true, force: true })))
    return d
  }
  let dbName: string | null = null
  let forgetDrop = () => {}
  const admin = opts.databaseUrl ? knexFactory({ client: 'pg', connection: opts.databaseUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 10_000 }) : null
  try {
    process.stdout.write(`serve → /readyz on a new DATA_DIR (PGlite's first start), ${opts.serveRuns} runs… `)
    const firstStart = await repeat('first start (new DATA_DIR)', opts.serveRuns, async () => timeServe({ DATA_DIR: await newDir() }))
    console.log('done')
    process.stdout.write(`serve → /readyz on an existing DATA_DIR, ${opts.serveRuns} runs… `)
    const existing = await newDir()
    const prepared = await timeServe({ DATA_DIR: existing })
    const restart =
      typeof prepared === 'string'
        ? summary('restart (existing DATA_DIR)', [], [`preparing the data directory: ${prepared}`])
        : await repeat('restart (existing DATA_DIR)', opts.serveRuns, () => timeServe({ DATA_DIR: existing }))
    console.log('done')
    let databaseUrl: Measured | null = null
    if (admin && opts.databaseUrl) {
      process.stdout.write(`serve → /readyz with DATABASE_URL, ${opts.serveRuns} runs… `)
      dbName = `inviteops_bench_${randomBytes(5).toString('hex')}`
      await admin.raw(`CREATE DATABASE ${dbName}`)
      const created = dbName
      forgetDrop = onEarlyEnd(() => admin.raw(`DROP DATABASE IF EXISTS ${created} WITH (FORCE)`))
      const url = new URL(opts.databaseUrl)
      url.pathname = `/${dbName}`
      const env = { DATABASE_URL: url.toString(), DATA_DIR: await newDir() }
      // The first start migrates the new database: not what a restart costs, not counted.
      const migrated = await timeServe(env)
      databaseUrl =
        typeof migrated === 'string'
          ? summary('DATABASE_URL (migrated database)', [], [`migrating: ${migrated}`])
          : await repeat('DATABASE_URL (migrated database)', opts.serveRuns, () => timeServe(env))
      console.log('done')
    }
    return {
      nodeE0: summary('node -e 0', e0, e0Problems),
      help: summary('node bin/inviteops.js --help', help, helpProblems),
      firstStart,
      restart,
      databaseUrl,
    }
  } finally {
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), sleep(5000)])
    if (admin && dbName) await bounded(admin.raw(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`))
    forgetDrop()
    if (admin) await bounded(admin.destroy())
    for (const d of dirs) await rm(d, { recursive: true, force: true })
    for (const forget of forgetDirs) forget()
  }
}
