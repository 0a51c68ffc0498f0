/**
 * `npm run bench`: runs the benchmarks in bench/ one after another and prints their figures.
 * Never part of `npm test` (docs/performance.md: measured by benchmarks, not by timed tests).
 *
 *   npm run bench                      every benchmark
 *   npm run bench -- slack-regenerate  only that one
 *   npm run bench -- expiry-sweep      the expiry sweep on 100k invitations
 *   npm run bench -- regenerate-pgbench  the regenerate transaction beside pgbench (DATABASE_URL)
 *   BENCH_REQUESTS=2000 BENCH_CONCURRENCY=16 DATABASE_URL=postgres://… npm run bench
 */
import { expirySweepOptionsFromEnv, runExpirySweepBench } from './expiry-sweep.ts'
import { regeneratePgbenchOptionsFromEnv, runRegenerateVsPgbenchBench } from './regenerate-vs-pgbench.ts'
import { benchOptionsFromEnv, runSlackRegenerateBench } from './slack-regenerate.ts'

const options = benchOptionsFromEnv()
const sweepOptions = expirySweepOptionsFromEnv()
const pgbenchOptions = regeneratePgbenchOptionsFromEnv()

const benches: Record<string, () => Promise<void>> = {
  'slack-regenerate': () => runSlackRegenerateBench(options),
  'expiry-sweep': () => runExpirySweepBench(sweepOptions),
  'regenerate-pgbench': () => runRegenerateVsPgbenchBench(pgbenchOptions),
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in benches))
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (have: ${Object.keys(benches).join(', ')})`)
  process.exit(2)
}
const selected = Object.entries(benches).filter(([name]) => wanted.length === 0 || wanted.includes(name))

// A watchdog: whatever happens (a stuck database, a lost response), the run ends by itself.
// Each benchmark stops itself after BENCH_MAX_SECONDS; the margin covers seeding and closing.
const budgetSeconds = selected.length * (options.maxSeconds + 180)
setTimeout(() => {
  console.error(`\nbenchmark still running after ${budgetSeconds} s: stopping`)
  process.exit(1)
}, budgetSeconds * 1000).unref()

for (const [name, run] of selected) {
  console.log(`\n=== ${name} ===`)
  await run()
}
// Pools and timers of the libraries under test must not keep the process alive.
process.exit(process.exitCode ?? 0)
