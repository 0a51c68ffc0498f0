import { defineConfig } from 'vitest/config'
import LongestFirstSequencer from './test/support/longest-first-sequencer.ts'

const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 }

// `npm test` (`vitest run`) runs both projects; `vitest run --project unit` runs the fast tier alone.
export default defineConfig({
  test: {
    // Vitest's default is one worker fewer than the CPUs: a single worker on the 2-core machines
    // this runs on, idle while a file waits for a spawned server, a deadline or PGlite. Three
    // keep both cores busy through those waits (a measured subset: 3 workers ran it in ~93 % of
    // the time 2 took, 4 in ~90 %, on a machine loaded by other work; 4 risks starving the
    // spawned servers), and fit in memory with a PGlite per process.
    maxWorkers: 3,
    // The slowest files start first (measured durations, committed for a fresh clone), so the run
    // does not end on one slow file while the other workers are idle.
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          // Renderers, parsers and configuration checks: they start no database, server or process
          // (test/unit/unit-tier.test.ts checks it), so they share worker threads and the modules
          // those have loaded instead of paying for a fresh process and fresh imports per file.
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          isolate: false,
          ...timeouts,
        },
      },
      {
        test: {
          name: 'isolated',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          pool: 'forks',
          globalSetup: ['test/support/global-setup.ts'],
          ...timeouts,
          // Each test file gets its own process and its own database (PGlite in memory, or a fresh
          // database on the server named by DATABASE_URL), so files run in parallel without sharing rows.
          fileParallelism: true,
        },
      },
    ],
  },
})
