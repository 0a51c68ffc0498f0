import { createServer, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket'
import type { Logger } from '../ports/logger.ts'
import { PgliteSessionQueue } from './pglite-session-queue.ts'

/** Sockets the multiplexer accepts: the app's pool plus room for CLI connections. */
const MAX_CONNECTIONS = 24

/** Postgres's shared buffers in embedded mode (its default, 128 MB, is sized for a server). */
export const EMBEDDED_SHARED_BUFFERS = '16MB'

/**
 * The name V8 reads from a command-line option, or null for an argument that is not one: V8 takes
 * one or two leading dashes, a value after `=`, a `no` prefix (with or without a `-` or `_` after
 * it) meaning the negation, and treats `_` and `-` in names alike; node passes such options on to
 * it. So `--no_liftoff_only`, `--noliftoff-only` and `-liftoff-only` all name `liftoff-only`.
 */
export function v8OptionName(arg: string): string | null {
  const match = /^--?([^-=][^=]*)/.exec(arg)
  if (!match) return null
  let name = match[1]!.replaceAll('_', '-')
  if (name.startsWith('no')) name = name.slice(name[2] === '-' ? 3 : 2)
  return name
}

/**
 * Architectures where Liftoff-only is used. Under `--liftoff-only` a function Liftoff cannot compile
 * is not handed to TurboFan: V8 stops the process (a fatal error, not an exception anything could
 * catch and retry: the flag exists for V8's own tests of Liftoff). These two are V8's most used
 * platforms, where Liftoff compiles every function of PGlite's module (seen on x64 through V8's
 * compile trace, test/integration/embedded-wasm-compiler.test.ts, where the memory was measured too);
 * elsewhere V8's default stands.
 */
const LIFTOFF_ONLY_ARCHES: ReadonlySet<string> = new Set(['x64', 'arm64'])

export interface WasmCompilerChoice {
  /** V8 compiles WebAssembly with Liftoff alone: this process sets `--liftoff-only`. */
  liftoffOnly: boolean
  /** Why, in words, for the log. */
  reason: string
}

/**
 * How this process should have V8 compile PGlite's WebAssembly: Liftoff only, unless node was given
 * an option that names a `liftoff…` or `wasm…` V8 flag (in any spelling V8 accepts, see
 * v8OptionName; the operator's choice then stands), or the machine is not one Liftoff-only is used
 * on. NODE_OPTIONS cannot carry these options (node refuses them there), so execArgv is all there is.
 */
export function wasmCompilerChoice(execArgv: readonly string[], arch: string): WasmCompilerChoice {
  const operator = execArgv.find((arg) => {
    const name = v8OptionName(arg)
    return name !== null && (name.startsWith('liftoff') || name.startsWith('wasm'))
  })
  if (operator !== undefined) {
    return { liftoffOnly: false, reason: `node was started with ${operator}: V8's WebAssembly compiler options are left as given` }
  }
  if (!LIFTOFF_ONLY_ARCHES.has(arch)) {
    return { liftoffOnly: false, reason: `V8's default on ${arch}: Liftoff-only is used on x64 and arm64 alone` }
  }
  return { liftoffOnly: true, reason: 'baseline compiler only, for memory: about 165 MB at a restart instead of about 235 MB' }
}

let chosen: WasmCompilerChoice | undefined
let logged = false

/**
 * Have V8 compile WebAssembly with its baseline compiler (Liftoff) only, never recompiling hot
 * functions with its optimising compiler (TurboFan). For PGlite this is a memory decision:
 * TurboFan compiles Postgres's largest functions (the executor, the parser) on background threads,
 * each compile using up to about 40 MB of scratch memory, several at once, and the C allocator keeps
 * that memory once they are done. A restarted server held 45 to 65 MB of it when ready and more
 * after traffic; with Liftoff alone it starts at about 165 MB instead of about 235 MB, with half the
 * start-up CPU, for 10 to 30 % more CPU per command once TurboFan would have warmed up
 * (docs/performance.md).
 *
 * It is a process-wide V8 setting and applies to modules compiled after it: it is set before PGlite
 * compiles its module, and only in a process that opens an embedded database (a service on
 * DATABASE_URL never loads this module). V8's help lists `--liftoff-only` as a testing flag; what
 * that means here is that a function Liftoff could not compile would stop the process instead of
 * going to TurboFan, hence the architectures it is limited to (wasmCompilerChoice). The choice is
 * made once per process.
 */
export function useBaselineWasmCompiler(execArgv: readonly string[] = process.execArgv, arch: string = process.arch): WasmCompilerChoice {
  if (chosen) return chosen
  const choice = wasmCompilerChoice(execArgv, arch)
  if (choice.liftoffOnly) setFlagsFromString('--liftoff-only')
  chosen = choice
  return choice
}

/**
 * Make the choice (useBaselineWasmCompiler) and say once per process, at info, which WebAssembly
 * compiler mode is in force and why: for where an embedded database opens.
 */
export function logWasmCompilerChoice(logger: Logger): WasmCompilerChoice {
  const choice = useBaselineWasmCompiler()
  if (!logged) {
    logged = true
    logger.info({ wasmCompiler: choice.liftoffOnly ? 'liftoff-only' : 'v8-default', reason: choice.reason }, 'embedded database: how V8 compiles its WebAssembly')
  }
  return choice
}

/**
 * PGlite's start parameters plus a smaller buffer cache: a service on one machine with a small
 * database, where the 112 MB saved matter more (docs/performance.md: under 200 MB). PGlite's own
 * defaults are kept; if a release stops exposing them, its plain defaults are used. The prepared
 * template is made with the same options, so it holds what a first start would have made.
 *
 * Every PGlite instance is made with these options, so this is also where V8 is told how to compile
 * PGlite's WebAssembly (useBaselineWasmCompiler), before the instance compiles it.
 */
export function pgliteOptions(): PGliteOptions {
  useBaselineWasmCompiler()
  const defaults = (PGlite as unknown as { defaultStartParams?: unknown }).defaultStartParams
  if (!Array.isArray(defaults) || !defaults.every((p) => typeof p === 'string')) return {}
  return { startParams: [...(defaults as string[]), '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`] }
}

export interface PgliteWireServer {
  /** postgres:// URL of the socket server. */
  url: string
  /** Stop serving (connections are detached); the PGlite instance stays open. */
  close(): Promise<void>
}

/**
 * Serve an open PGlite instance on 127.0.0.1:<free port> over the Postgres wire protocol.
 *
 * Why a socket and not an in-process driver: PGlite is one session. Serving it through
 * pglite-socket's multiplexer lets the app use the ordinary `pg` driver (one SQL code path for
 * embedded and real Postgres), keeps transactions from interleaving, and lets a second process
 * (`npx inviteops …` while `npm start` runs) reach the same data through the owner instead of
 * opening the files twice, which would corrupt them (docs/operations.md).
 */
export async function servePglite(db: PGlite): Promise<PgliteWireServer> {
  // pglite-socket's handler speaks the wire protocol; our queue decides whose turn it is (see
  // PgliteSessionQueue for why its own server's queue is not used). The handler's option is typed
  // as the package's private class; ours has the same three methods.
  const queryQueue = new PgliteSessionQueue(db) as unknown as PGLiteSocketHandlerOptions['queryQueue']
  const handlers = new Set<PGLiteSocketHandler>()
  const server = createServer((socket: Socket) => {
    if (handlers.size >= MAX_CONNECTIONS) {
      socket.destroy()
      return
    }
    const handler = new PGLiteSocketHandler({ queryQueue, closeOnDetach: true })
    handlers.add(handler)
    handler.addEventListener('close', () => handlers.delete(handler))
    handler.addEventListener('error', () => handlers.delete(handler))
    handler.attach(socket).catch(() => {
      handlers.delete(handler)
      socket.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const h of handlers) await h.detach(true)
      handlers.clear()
      await closed
    },
  }
}
