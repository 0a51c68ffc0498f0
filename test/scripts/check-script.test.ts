import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'

/**
 * scripts/check.mjs (`npm test`'s runner) against stand-in commands: a copy of it in a directory
 * whose package.json names, for the three checks and the tests, a small node process that the shell
 * check.mjs starts replaces itself with. Each stand-in connects to this test and
 * says who it is and its priority; its connection closes when it dies, which is how the test sees
 * that a signal to check.mjs alone, or to its process group, stopped everything it started.
 */

const CHECK_SCRIPT = join(import.meta.dirname, '../../scripts/check.mjs')
const NAMES = ['typecheck', 'lint', 'depcheck', 'test:unit']

const STAND_IN = `
import { connect } from 'node:net'
import { getPriority } from 'node:os'
const socket = connect(Number(process.env.CHECK_STAND_IN_PORT), '127.0.0.1', () => {
  socket.write(JSON.stringify({ name: process.argv[2], pid: process.pid, niceness: getPriority() }) + '\\n')
})
// Ends with the test's server, should the test fail before this process is stopped.
socket.on('close', () => process.exit(0))
socket.on('error', () => process.exit(0))
// "outlive": a command slow to stop, still running after the first signal.
if (process.argv[3] === 'outlive') process.on('SIGTERM', () => socket.write('"SIGTERM"\\n'))
`

interface StandIn {
  name: string
  pid: number
  niceness: number
  socket: Socket
  /** The signals it caught and outlived. */
  caught: string[]
}

let dir: string
let server: Server
let standIns: StandIn[]

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inviteops-check-'))
  await mkdir(join(dir, 'scripts'))
  await copyFile(CHECK_SCRIPT, join(dir, 'scripts', 'check.mjs'))
  await writeFile(join(dir, 'stand-in.mjs'), STAND_IN)
  standIns = []
  server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
})

afterEach(async () => {
  // A stand-in still connected is still running (a failed test): stopped here, by its own pid.
  for (const s of standIns) {
    if (!s.socket.closed) process.kill(s.pid, 'SIGKILL')
    s.socket.destroy()
  }
  server.close()
  await rm(dir, { recursive: true, force: true })
})

/**
 * Starts the copy of check.mjs, each command a stand-in (its arguments in `args`); resolves once
 * every stand-in has reported, with check.mjs's process. With `ownGroup`, check.mjs leads a new
 * process group (its pid is the group's id).
 */
async function startCheck(args: Record<string, string> = {}, { ownGroup = false } = {}) {
  const scripts = Object.fromEntries(NAMES.map((name) => [name, `node stand-in.mjs ${name} ${args[name] ?? ''}`.trim()]))
  await writeFile(join(dir, 'package.json'), JSON.stringify({ scripts }))
  const { port } = server.address() as { port: number }
  const reported = new Promise<void>((resolve) => {
    server.on('connection', (socket) => {
      let text = ''
      let standIn: StandIn | undefined
      socket.setEncoding('utf8')
      socket.on('data', (d: string) => {
        text += d
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n')) {
          const message = JSON.parse(text.slice(0, end)) as Omit<StandIn, 'socket' | 'caught'> | string
          text = text.slice(end + 1)
          if (typeof message === 'string') {
            standIn!.caught.push(message)
            socket.emit('caught', message)
            continue
          }
          standIn = { ...message, socket, caught: [] }
          standIns.push(standIn)
          if (standIns.length === NAMES.length) resolve()
        }
      })
    })
  })
  const check = spawn(process.execPath, [join(dir, 'scripts', 'check.mjs')], {
    cwd: dir,
    env: { ...process.env, CHECK_STAND_IN_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, which the test may then kill as a whole.
    detached: ownGroup,
  })
  let output = ''
  check.stdout.on('data', (d: Buffer) => (output += d.toString()))
  check.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = once(check, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, output }))
  await reported
  return { check, exited }
}

/** Resolves once every stand-in's process has ended (its connection closed). */
function allEnded() {
  return Promise.all(standIns.map((s) => (s.socket.closed ? undefined : once(s.socket, 'close'))))
}

test('the checks run at a lower priority than the tests', async () => {
  const { check, exited } = await startCheck()
  const niceness = Object.fromEntries(standIns.map((s) => [s.name, s.niceness]))
  const own = getPriority()
  expect(niceness).toEqual({ typecheck: Math.min(own + 10, 19), lint: Math.min(own + 10, 19), depcheck: Math.min(own + 10, 19), 'test:unit': own })
  check.kill('SIGTERM')
  await exited
})

for (const [signal, exitCode] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
  ['SIGQUIT', 131],
] as const) {
  // SIGINT stands for Ctrl-C: the terminal sends it to check.mjs's group, which no longer holds the
  // commands, so check.mjs must pass it on.
  test(`${signal} to check.mjs alone stops every command and what its shell started; exit ${exitCode}`, async () => {
    const { check, exited } = await startCheck()
    check.kill(signal)
    await allEnded()
    const { code, output } = await exited
    expect(code).toBe(exitCode)
    expect(output).toContain(`npm test: interrupted by ${signal}`)
  })
}

test('a command still running after the first signal is killed by the second', async () => {
  const { check, exited } = await startCheck({ 'test:unit': 'outlive' })
  const tests = standIns.find((s) => s.name === 'test:unit')!
  const caught = once(tests.socket, 'caught')
  check.kill('SIGTERM')
  await caught
  expect(tests.socket.closed).toBe(false)
  check.kill('SIGTERM')
  await allEnded()
  const { code, output } = await exited
  expect(code).toBe(143)
  expect(output).toContain('npm test: interrupted by SIGTERM')
})

// A CI cancel, `timeout -k` or a harness ends the whole group with SIGKILL, which check.mjs cannot
// catch to pass on: the commands must be in that group to end with it.
test('SIGKILL to check.mjs\'s process group ends every command too', async () => {
  const { check, exited } = await startCheck({}, { ownGroup: true })
  process.kill(-check.pid!, 'SIGKILL')
  await allEnded()
  expect((await exited).signal).toBe('SIGKILL')
})
