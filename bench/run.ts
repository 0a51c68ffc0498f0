/**
 * `npm run bench`: every benchmark, then docs/benchmarks.md written from the run (the machine, a
 * goals table with every target met or MISSED, the figures). Never part of `npm test`: targets are
 * measured by benchmarks, not by timed tests (docs/performance.md).
 *
 *   npm run bench                               everything; writes docs/benchmarks.md
 *   npm run bench -- startup stack              only those sections; prints the report, writes nothing
 *
 * Sections: startup (node -e 0, --help, serve to /readyz), stack (the full stack through HTTP,
 * each side in its own process, with the CPU profile), regenerate-pgbench (the transaction beside
 * pgbench), expiry-sweep. The Postgres server is DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test
 * when unset; each section works on databases of its own, created and dropped.
 *
 * Bounded: a watchdog ends the run after BENCH_MAX_MINUTES (default 15), and every process the run
 * started is killed by its pid when it ends, however it ends. Knobs: see docs/performance.md.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, totalmem } from 'node:os'
import knexFactory from 'knex'
import { endEarly, killAll, runToEnd } from './processes.ts'
import { markdown, type Machine, type RunResults } from './report.ts'
import { parsePgbench, parseSweep, runChild } from './secondary.ts'
import { runStack, stackOptionsFromEnv } from './stack.ts'
import { runStartup, startupOptionsFromEnv } from './startup.ts'
import { envInt } from './support.ts'

const SECTIONS = ['startup', 'stack', 'regenerate-pgbench', 'expiry-sweep'] as const
type Section = (typeof SECTIONS)[number]

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(SECTIONS as readonly string[]).includes(name))
if (unknown.length > 0) {
  console.error(`unknown section: ${unknown.join(', ')} (have: ${SECTIONS.join(', ')})`)
  process.exit(2)
}
const selected = new Set<Section>(wanted.length === 0 ? SECTIONS : (wanted as Section[]))
const full = selected.size === SECTIONS.length

const maxMinutes = envInt('BENCH_MAX_MINUTES', 15, 1, 240)
setTimeout(() => {
  console.error(`\nbenchmark still running after ${maxMinutes} min: stopping (every process it started is killed, its databases dropped)`)
  void endEarly(5000).finally(() => process.exit(1))
}, maxMinutes * 60_000).unref()

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const began = performance.now()

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch {
    return '?'
  }
}

/** The Postgres server's version, or why not (a section needing it then says it was skipped). */
async function postgresVersion(): Promise<string | null> {
  const k = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5000 })
  try {
    const r = await k.raw<{ rows: { v: string }[] }>('SELECT version() AS v')
    return r.rows[0]?.v ?? '?'
  } catch {
    return null
  } finally {
    await k.destroy().catch(() => undefined)
  }
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    return `${pretty ?? process.platform}, Linux ${release()}`
  } catch {
    return `${process.platform} ${release()}`
  }
}

function pgliteVersion(): string {
  try {
    return (JSON.parse(readFileSync('node_modules/@electric-sql/pglite/package.json', 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

/**
 * `bin/inviteops.js` runs the compiled build in dist/ when the repository has one: build it first,
 * so the run measures the sources as they are and not a stale build.
 */
async function build(): Promise<string> {
  const usesDist = existsSync('bin/inviteops.js') && readFileSync('bin/inviteops.js', 'utf8').includes('dist/')
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {}
  if (!usesDist) return 'through tsx: TypeScript is compiled as it loads'
  if (!scripts.build || process.env.BENCH_BUILD === '0') return 'from the compiled build in dist/, as it was (not rebuilt by this run)'
  process.stdout.write('npm run build… ')
  const out = await runToEnd('npm', ['run', 'build', '--silent'], 300_000, { env: process.env })
  if (out.code !== 0) {
    results.failures.push(`npm run build failed (exit ${out.code}${out.timedOut ? ', timed out' : ''}): ${out.stderr.trim().slice(-300)}; the run measured the build in dist/ as it was`)
    console.log('failed')
    return 'from the compiled build in dist/, which could not be rebuilt (see the failures)'
  }
  console.log('done')
  return 'from the compiled build in dist/, rebuilt by this run'
}

const pg = await postgresVersion()
const machine: Machine = {
  cpu: cpus()[0]?.model ?? '?',
  cores: cpus().length,
  memoryGb: totalmem() / 2 ** 30,
  os: osName(),
  node: process.version,
  postgres: pg ? `${pg.split(' on ')[0]} (${databaseUrl.replace(/\/\/[^@/]*@/, '//')})` : `not reachable at ${databaseUrl.replace(/\/\/[^@/]*@/, '//')}`,
  pglite: pgliteVersion(),
  date: new Date().toISOString(),
  commit: `${git(['rev-parse', '--short=12', 'HEAD'])} (${git(['log', '-1', '--format=%s']).slice(0, 100)})`,
  dirty: git(['status', '--porcelain']).split('\n').filter(Boolean).length,
  loadBefore: loadavg(),
  loadAfter: [],
  serverRuns: '',
}
console.log(`benchmarks on ${machine.cpu} × ${machine.cores}, Node ${machine.node}, ${machine.postgres}`)

const results: RunResults = { machine, startup: null, stack: null, pgbench: null, sweep: null, failures: [], seconds: 0 }
machine.serverRuns = await build()
const section = async <T>(name: Section, run: () => Promise<T>): Promise<T | null> => {
  if (!selected.has(name)) return null
  console.log(`\n=== ${name} ===`)
  try {
    return await run()
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    results.failures.push(`${name}: ${why}`)
    console.log(`${name} failed: ${why}`)
    return null
  }
}
const needsPostgres = () => {
  if (!pg) throw new Error(`no Postgres server at ${databaseUrl}: set DATABASE_URL`)
}

results.startup = await section('startup', () => runStartup(startupOptionsFromEnv(pg ? databaseUrl : null)))
results.stack = await section('stack', async () => {
  needsPostgres()
  return runStack(stackOptionsFromEnv(databaseUrl))
})
results.pgbench = await section('regenerate-pgbench', async () => {
  needsPostgres()
  const run = await runChild('regenerate-pgbench', { DATABASE_URL: databaseUrl }, envInt('BENCH_CHILD_SECONDS', 300, 30, 3600) * 1000)
  console.log(run.output)
  return { run, figures: parsePgbench(run) }
})
results.sweep = await section('expiry-sweep', async () => {
  needsPostgres()
  const run = await runChild('expiry-sweep', { DATABASE_URL: databaseUrl }, envInt('BENCH_CHILD_SECONDS', 300, 30, 3600) * 1000)
  console.log(run.output)
  return { run, figures: parseSweep(run) }
})

machine.loadAfter = loadavg()
results.seconds = (performance.now() - began) / 1000
const doc = markdown(results)
if (full) {
  await writeFile('docs/benchmarks.md', doc)
  console.log(`\n${doc}\nwritten to docs/benchmarks.md (${Math.round(results.seconds)} s)`)
} else {
  console.log(`\n${doc}\n(only some sections ran: docs/benchmarks.md is written by a full run)`)
}
killAll()
process.exit(results.failures.length > 0 ? 1 : 0)
