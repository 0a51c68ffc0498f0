#!/usr/bin/env node
// `npm test` after the build: the static checks (typecheck, lint, depcheck) and the tests, started
// together instead of one after another. Each check is one process that mostly keeps one core
// busy, and the tests leave cores idle while files wait for spawned servers, deadlines or PGlite;
// run together they finish sooner than in a row, and no check is skipped because another failed.
//
// The commands are package.json's own scripts (`npm run typecheck` stays the way to run one
// alone). vitest writes to the terminal as usual, with any arguments given to this script
// (`npm test -- test/cli` passes `test/cli`); the checks' output is held back and printed after
// the tests, each line prefixed with the check's name, so the two never interleave. The exit code
// is 0 only when every check and the tests passed; a summary line says which failed.
import { Buffer } from 'node:buffer'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** The checks whose output is held back, by package.json script name. */
const CHECKS = ['typecheck', 'lint', 'depcheck']
/** The tests: package.json's `test:unit` (`vitest run`), with this script's arguments. */
const TESTS = 'test:unit'

const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)
// As `npm run` would: the local binaries first on PATH.
const env = { ...process.env, PATH: [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter) }
const children = new Set()

/** Runs package.json's script `name` (plus `args`) in a shell; resolves with how it ended. */
function runScript(name, { args = [], capture }) {
  const command = [scripts[name], ...args.map(quote)].join(' ')
  const started = performance.now()
  return new Promise((done) => {
    const child = spawn(command, { cwd: root, env, shell: true, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
    children.add(child)
    const output = []
    if (capture) {
      child.stdout.on('data', (d) => output.push(d))
      child.stderr.on('data', (d) => output.push(d))
    }
    const finish = (code, error) => {
      children.delete(child)
      done({ name, command, code, seconds: (performance.now() - started) / 1000, output: Buffer.concat(output).toString('utf8') + (error ? `${error.message}\n` : '') })
    }
    child.once('error', (error) => finish(null, error))
    child.once('close', (code, signal) => finish(code ?? (signal ? `${signal}` : null)))
  })
}

// Ctrl-C reaches the children from the terminal; a SIGTERM to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal)
    process.exitCode = 1
  })
}

const width = Math.max(...CHECKS.map((n) => n.length))
const checks = CHECKS.map((name) => runScript(name, { capture: true }))
const tests = await runScript(TESTS, { args: process.argv.slice(2), capture: false })
const results = await Promise.all(checks)

console.log('')
for (const r of results) {
  const ok = r.code === 0
  console.log(`${r.name.padEnd(width)} │ ${ok ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(1)} s: ${r.command}`)
  const text = r.output.replace(/^(\s*\n)+/, '').replace(/\s+$/, '')
  // Everything a check printed, also when it passed (a lint warning, depcruise's summary).
  if (text) for (const line of text.split('\n')) console.log(`${r.name.padEnd(width)} │ ${line}`)
}
const failed = [...results, tests].filter((r) => r.code !== 0).map((r) => (r === tests ? 'tests' : r.name))
console.log(failed.length ? `\nnpm test: FAILED: ${failed.join(', ')}` : `\nnpm test: typecheck, lint, depcheck and tests passed`)
process.exitCode = failed.length ? 1 : (process.exitCode ?? 0)
