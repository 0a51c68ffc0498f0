#!/usr/bin/env node
// `npm test` after the build: the static checks (typecheck, lint, depcheck) and the tests, started
// together instead of one after another. Each check is one process that mostly keeps one core
// busy, and the tests leave cores idle while files wait for spawned servers, deadlines or PGlite;
// run together they finish sooner than in a row, and no check is skipped because another failed.
//
// The commands are package.json's own scripts (`npm run typecheck` stays the way to run one
// alone). vitest writes to the terminal as usual, with any arguments given to this script
// (`npm test -- test/cli` passes `test/cli`); the checks' output is held back and printed after
// the tests, each line prefixed with the check's name, so the two never interleave. The checks run
// at a lower priority (nice 10) than the tests, so tests with short deadlines are not starved by
// them. The exit code is 0 only when every check and the tests passed; a summary line says which
// failed.
//
// The commands stay in this script's process group, so a signal to the whole group (Ctrl-C at the
// terminal, a CI cancel, `timeout -k`, a harness killing the group) reaches them as it reaches this
// script, Ctrl-Z stops them, and a SIGKILL to the group leaves none of them running. Each command
// is started so that its process is the one this script spawned (the shell replaces itself with
// the command, and `nice` with the shell), so a signal sent to this script alone reaches the
// commands too: SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to every command still running,
// a second one ends them with SIGKILL, and the script then exits with 128 + the signal's number.
import { Buffer } from 'node:buffer'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants, setPriority } from 'node:os'
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
/** Niceness of the checks (the tests keep this script's own). */
const CHECK_NICENESS = 10
const POSIX = process.platform !== 'win32'
/** The commands not yet ended. */
const running = new Set()

/** Sends `signal` to every command still running. */
function signalAll(signal) {
  for (const child of running) {
    try {
      child.kill(signal)
    } catch {
      // The command has ended.
    }
  }
}

/**
 * Starts `command` in a shell that replaces itself with it (`exec`), so the process spawned here
 * is the command itself and a signal sent to it reaches the command, not a shell waiting for it.
 * With `niceness`, on POSIX the shell is started by `nice`, which also replaces itself, so the
 * command runs at that priority from its start, and whatever it starts inherits it.
 */
function start(command, { niceness, stdio }) {
  if (!POSIX) {
    const child = spawn(command, { cwd: root, env, shell: true, stdio })
    if (niceness !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, niceness)
      } catch {
        // Only a slower run when it cannot be lowered.
      }
    }
    return child
  }
  // Every command here is a single command (package.json's scripts, plus quoted arguments), so
  // `exec` keeps its meaning; a signal arriving before the exec ends the shell, before the command
  // has started.
  const argv = ['/bin/sh', '-c', `exec ${command}`]
  if (niceness !== undefined) argv.unshift('nice', '-n', String(niceness))
  return spawn(argv[0], argv.slice(1), { cwd: root, env, stdio })
}

/** Runs package.json's script `name` (plus `args`) in a shell; resolves with how it ended. */
function runScript(name, { args = [], capture, niceness }) {
  const command = [scripts[name], ...args.map(quote)].join(' ')
  const started = performance.now()
  return new Promise((done) => {
    const child = start(command, { niceness, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
    if (child.pid !== undefined) running.add(child)
    const output = []
    if (capture) {
      child.stdout.on('data', (d) => output.push(d))
      child.stderr.on('data', (d) => output.push(d))
    }
    const finish = (code, error) => {
      running.delete(child)
      done({ name, command, code, seconds: (performance.now() - started) / 1000, output: Buffer.concat(output).toString('utf8') + (error ? `${error.message}\n` : '') })
    }
    child.once('error', (error) => finish(null, error))
    child.once('close', (code, signal) => finish(code ?? (signal ? `${signal}` : null)))
  })
}

// A signal sent to this script alone (kill <pid>) would not reach the commands: each signal is
// passed on to the commands still running. A signal sent to the group reaches the commands
// directly as well, and then once more from here. A second signal to this script kills them.
let interrupted
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) {
  process.on(signal, () => {
    signalAll(interrupted ? 'SIGKILL' : signal)
    interrupted ??= signal
  })
}
// Should this script end while a command still runs (an exception), the commands are killed.
process.on('exit', () => {
  if (running.size > 0) signalAll('SIGKILL')
})

const width = Math.max(...CHECKS.map((n) => n.length))
const checks = CHECKS.map((name) => runScript(name, { capture: true, niceness: CHECK_NICENESS }))
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
if (interrupted) console.log(`\nnpm test: interrupted by ${interrupted}`)
else console.log(failed.length ? `\nnpm test: FAILED: ${failed.join(', ')}` : `\nnpm test: typecheck, lint, depcheck and tests passed`)
process.exitCode = interrupted ? 128 + constants.signals[interrupted] : failed.length ? 1 : 0
