/**
 * One of the benchmarks that measure inside a single process, run alone in a child process of
 * `npm run bench` (bench/run.ts reads what it prints): its Node work then never shares an event
 * loop with the orchestrator, and a wedged one is killed by pid.
 *
 *   node bin/run-ts.js bench/child.ts regenerate-pgbench | expiry-sweep
 */
import { expirySweepOptionsFromEnv, runExpirySweepBench } from './expiry-sweep.ts'
import { regeneratePgbenchOptionsFromEnv, runRegenerateVsPgbenchBench } from './regenerate-vs-pgbench.ts'

const which = process.argv[2]
if (which === 'regenerate-pgbench') await runRegenerateVsPgbenchBench(regeneratePgbenchOptionsFromEnv())
else if (which === 'expiry-sweep') await runExpirySweepBench(expirySweepOptionsFromEnv())
else {
  console.error('usage: node bin/run-ts.js bench/child.ts regenerate-pgbench | expiry-sweep')
  process.exitCode = 2
}
// Pools and timers of the libraries under test must not keep the process alive.
process.exit(process.exitCode ?? 0)
