import { defineConfig } from 'vitest/config'

const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 }

// `npm test` (`vitest run`) runs both projects; `vitest run --project unit` runs the fast tier alone.
export default defineConfig({
  test: {
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
