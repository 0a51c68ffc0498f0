/**
 * The unit tier (test/unit) runs in threads that share their modules between files (vitest.config.ts),
 * which is safe only for tests that start nothing: no database, no server, no child process. A test
 * that reaches the harnesses that do (directly or through another test module) belongs beside the
 * code it exercises instead.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { expect, test } from 'vitest'

const testRoot = resolve(import.meta.dirname, '..')
const unitDir = import.meta.dirname

/** Test helpers that open a database, listen on a port or spawn the CLI. */
const NOT_UNIT = ['support/db.ts', 'support/hooks.ts', 'support/serve.ts', 'support/cli.ts', 'support/http.ts'].map((p) => join(testRoot, p))
/** What a unit test may not import itself, whatever the path. */
const NOT_UNIT_MODULES = ['node:child_process', 'child_process', 'nock', '@electric-sql/pglite']

/** `import … from 'x'` / `export … from 'x'`, `import('x')`, and a side-effect `import 'x'` (no `from`). */
const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8')
  return Array.from(source.matchAll(importPattern), (m) => m[1] ?? m[2] ?? m[3] ?? '')
}

/** Every test module `file` reaches through relative imports inside test/, with the first path to it. */
function reachable(file: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[file, [file]]])
  const queue = [file]
  while (queue.length > 0) {
    const current = queue.shift()!
    for (const spec of importsOf(current)) {
      if (!spec.startsWith('.')) continue
      const target = resolve(dirname(current), spec)
      if (!target.startsWith(testRoot + '/') || seen.has(target)) continue
      seen.set(target, [...seen.get(current)!, target])
      if (target.endsWith('.ts')) queue.push(target)
    }
  }
  return seen
}

const unitFiles = readdirSync(unitDir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(unitDir, f))

test('the unit tier is not empty (the check below has something to look at)', () => {
  expect(unitFiles.length).toBeGreaterThan(10)
})

test.each(unitFiles.map((f) => [relative(testRoot, f), f]))('%s starts no database, server or process', (_name, file) => {
  const problems: string[] = []
  for (const [module, path] of reachable(file)) {
    if (NOT_UNIT.includes(module)) problems.push(path.map((p) => relative(testRoot, p)).join(' → '))
  }
  for (const spec of importsOf(file)) if (NOT_UNIT_MODULES.includes(spec)) problems.push(`${relative(testRoot, file)} imports ${spec}`)
  expect(problems).toEqual([])
})

test('the check sees a harness reached through another test module', () => {
  const viaSupport = reachable(join(testRoot, 'slack/support.ts'))
  expect(viaSupport.has(join(testRoot, 'support/hooks.ts'))).toBe(true)
  expect(viaSupport.has(join(testRoot, 'support/db.ts'))).toBe(true)
})
