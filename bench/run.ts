/**
 * `npm run bench`: runs the benchmarks in bench/ one after another and prints their figures.
 * Never part of `npm test` (DESIGN.md §8: measured by benchmarks, not by timed tests).
 *
 *   npm run bench                      every benchmark
 *   npm run bench -- slack-regenerate  only that one
 *   BENCH_REQUESTS=2000 BENCH_CONCURRENCY=16 DATABASE_URL=postgres://… npm run bench
 */
import { benchOptionsFromEnv, runSlackRegenerateBench } from './slack-regenerate.ts'

const benches: Record<string, () => Promise<void>> = {
  'slack-regenerate': () => runSlackRegenerateBench(options),
}

// A watchdog: whatever happens (a stuck database, a lost response), the run ends by itself.
const options = benchOptionsFromEnv()
setTimeout(() => {
  console.error(`\nbenchmark still running after ${options.maxSeconds + 180} s: stopping`)
  process.exit(1)
}, (options.maxSeconds + 180) * 1000).unref()

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in benches))
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (have: ${Object.keys(benches).join(', ')})`)
  process.exit(2)
}
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`\n=== ${name} ===`)
  await run()
}
// Pools and timers of the libraries under test must not keep the process alive.
process.exit(process.exitCode ?? 0)
