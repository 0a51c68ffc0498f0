/**
 * `bin/inviteops.js` as real processes, for the tests of `serve` beside the CLI in "another
 * terminal". Each file names its own environment (DATA_DIR, PORT, a transport…); every child
 * takes the embedded path of a fresh machine. They run the build in dist/, as `npm start` does:
 * the test run's global setup (global-setup.ts) builds it first, so a single file run by hand
 * needs no `npm run build` after a change.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'

export const BIN = join(import.meta.dirname, '../../bin/inviteops.js')

/** A port nothing listens on now, for a server started next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
    s.once('error', reject)
  })
}

/**
 * A child's environment: this process's with `vars` set, without DATABASE_URL and NODE_ENV (a
 * fresh machine runs on embedded PGlite) and without any name in `unset`.
 */
export function childEnv(vars: Record<string, string>, unset: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...vars }
  for (const name of ['DATABASE_URL', 'NODE_ENV', ...unset]) delete env[name]
  return env
}

export interface RunResult {
  code: number | null
  out: string
  err: string
}

/** Options of the spawned node itself, before the script (`--import <preload>`, say). */
export interface NodeOptions {
  nodeArgs?: string[]
}

/** `inviteops <args>` in `env`, to its end. */
export function run(args: string[], env: NodeJS.ProcessEnv, opts: NodeOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { env })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('close', (code) => resolve({ code, out, err }))
  })
}

/**
 * What `fn` returns once it returns something (asked again every 100 ms): for what another
 * process does, which sends this one no event. After `timeoutMs` it fails, naming `what` and
 * adding `detail()` (the server's output, say).
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, opts: { detail?: () => string; timeoutMs?: number } = {}): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 90_000)
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${opts.detail ? `\n${opts.detail()}` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A running `inviteops serve`: the process and everything it has printed so far. */
export interface ServeProcess {
  process: ChildProcessWithoutNullStreams
  readonly stdout: string
  readonly stderr: string
  /** The tail of both, for a failure message. */
  detail(): string
}

/** Starts `inviteops serve` with `env` and resolves once it says it is running (or rejects with its output if it exits). */
export async function startServe(env: NodeJS.ProcessEnv, opts: NodeOptions = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, 'serve'], { env })
  const out = { stdout: '', stderr: '' }
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()))
  const serve: ServeProcess = {
    process: child,
    get stdout() {
      return out.stdout
    },
    get stderr() {
      return out.stderr
    },
    detail: () => `stdout: ${out.stdout.slice(-2000)}\nstderr: ${out.stderr.slice(-2000)}`,
  }
  await waitFor('the server to be ready', () => (out.stderr.includes('InviteOps is running on') ? true : child.exitCode !== null ? Promise.reject(new Error(out.stderr)) : undefined), {
    detail: serve.detail,
  })
  return serve
}
