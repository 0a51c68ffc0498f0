import { defineConfig } from 'vitest/config'

// `npm run test:fuzz`: the generated-input suite (test/fuzz), kept out of `npm test` (whose config
// includes test/**/*.test.ts only). One file, one database and one process: each family's phase is
// a test that sends hundreds of requests, so the timeouts are long.
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
})
