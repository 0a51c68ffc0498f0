import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file gets its own database (PGlite in memory, or a fresh database on the
    // server named by DATABASE_URL), so files run in parallel without sharing rows.
    fileParallelism: true,
  },
})
