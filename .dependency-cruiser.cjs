/** Architecture rules, checked by `npm run depcheck` (part of `npm test`). docs/architecture.md. */
module.exports = {
  forbidden: [
    {
      name: 'core-never-imports-adapters',
      comment: 'src/ is the core: adapters import it, never the reverse (docs/architecture.md).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'core-never-imports-tests',
      severity: 'error',
      from: { path: '^(src|adapters|migrations)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'adapters-never-import-repositories',
      comment:
        'Repositories (src/**/*-repository.ts) are how use cases reach the tables. Adapters go through use cases and query functions, ' +
        'which check who asks and keep queries in one place (docs/architecture.md "Persistence").',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^src/.+-repository\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // dist/ is the build's copy of the same modules (npm run build).
    exclude: { path: '^(node_modules|dist)/' },
  },
}
