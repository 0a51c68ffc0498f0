import { createServer, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket'
import { PgliteSessionQueue } from './pglite-session-queue.ts'

/** Sockets the multiplexer accepts: the app's pool plus room for CLI connections. */
const MAX_CONNECTIONS = 24

/** Postgres's shared buffers in embedded mode (its default, 128 MB, is sized for a server). */
export const EMBEDDED_SHARED_BUFFERS = '16MB'

/** V8 options on the node command line that choose how WebAssembly is compiled: the operator's choice then stands. */
const WASM_COMPILER_FLAG = /^--(no-)?(liftoff|wasm)([-_=]|$)/

let baselineCompilerChosen = false

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
 * DATABASE_URL never loads this module). Any `--liftoff…` or `--wasm…` option given to node itself
 * is left in charge.
 */
export function useBaselineWasmCompiler(execArgv: readonly string[] = process.execArgv): boolean {
  if (baselineCompilerChosen) return true
  if (execArgv.some((arg) => WASM_COMPILER_FLAG.test(arg))) return false
  setFlagsFromString('--liftoff-only')
  baselineCompilerChosen = true
  return true
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
