import { mkdir, open, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { createServer, type Socket } from 'node:net'
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket'
import { z } from 'zod'
import type { Logger } from '../ports/logger.ts'
import { PgliteSessionQueue } from './pglite-session-queue.ts'

/**
 * Embedded Postgres (PGlite) served over the Postgres wire protocol on loopback.
 *
 * Why a socket and not an in-process driver: PGlite is one session. Serving it through
 * pglite-socket's multiplexer lets the app use the ordinary `pg` driver (one SQL code path for
 * embedded and real Postgres), keeps transactions from interleaving, and lets a second process
 * (`npx inviteops …` while `npm start` runs) reach the same data through the owner instead of
 * opening the files twice, which would corrupt them (docs/operations.md).
 */
export interface EmbeddedServer {
  /** postgres:// URL of the socket server. */
  url: string
  close(): Promise<void>
}

/** Sockets the multiplexer accepts: the app's pool plus room for CLI connections. */
const MAX_CONNECTIONS = 24

const ownerFileSchema = z.object({ pid: z.number().int().positive(), url: z.string().startsWith('postgres://') })
export type EmbeddedOwner = z.infer<typeof ownerFileSchema>

/** Postgres's shared buffers in embedded mode (its default, 128 MB, is sized for a server). */
export const EMBEDDED_SHARED_BUFFERS = '16MB'

/**
 * PGlite's start parameters plus a smaller buffer cache: a service on one machine with a small
 * database, where the 112 MB saved matter more (docs/performance.md: under 200 MB). PGlite's own
 * defaults are kept; if a release stops exposing them, its plain defaults are used.
 */
function startParams(): string[] | undefined {
  const defaults = (PGlite as unknown as { defaultStartParams?: unknown }).defaultStartParams
  if (!Array.isArray(defaults) || !defaults.every((p) => typeof p === 'string')) return undefined
  return [...(defaults as string[]), '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`]
}

/** Start PGlite (in memory when `dataDir` is null) and serve it on 127.0.0.1:<free port>. */
export async function startEmbeddedServer(dataDir: string | null): Promise<EmbeddedServer> {
  const params = startParams()
  const options = params ? { startParams: params } : {}
  const db = dataDir === null ? await PGlite.create(options) : await PGlite.create(join(dataDir, 'pgdata'), options)
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
      await db.close()
    },
  }
}

const OWNER_FILE = 'embedded.json'
const LOCK_FILE = 'embedded.lock'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The live process that owns DATA_DIR's embedded database, if any. */
export async function readEmbeddedOwner(dataDir: string): Promise<EmbeddedOwner | null> {
  let text: string
  try {
    text = await readFile(join(dataDir, OWNER_FILE), 'utf8')
  } catch {
    return null
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return null
  }
  const parsed = ownerFileSchema.safeParse(raw)
  if (!parsed.success || !isAlive(parsed.data.pid)) return null
  return parsed.data
}

export class DataDirBusyError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by another inviteops process (pid ${pid}). ` +
        `Stop that process first, or point DATABASE_URL at a Postgres server to run several processes.`,
    )
    this.name = 'DataDirBusyError'
  }
}

/**
 * Take DATA_DIR's embedded database for this process: an exclusive lock file (stale locks of dead
 * processes are cleared), then PGlite, then the owner file other processes read to connect.
 */
export async function ownEmbeddedDatabase(dataDir: string, logger: Logger): Promise<EmbeddedServer> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const lockPath = join(dataDir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        if (attempt >= 50) throw new DataDirBusyError(dataDir, holder)
        // The holder may be a CLI command finishing: wait a little before giving up.
        await new Promise((r) => setTimeout(r, 100))
        continue
      }
      logger.warn({ dataDir, stalePid: holder }, 'clearing a stale embedded database lock')
      await rm(lockPath, { force: true })
    }
  }
  let server: EmbeddedServer
  try {
    server = await startEmbeddedServer(dataDir)
  } catch (err) {
    await rm(lockPath, { force: true })
    throw err
  }
  const ownerPath = join(dataDir, OWNER_FILE)
  const tmp = `${ownerPath}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify({ pid: process.pid, url: server.url } satisfies EmbeddedOwner), { mode: 0o600 })
  await rename(tmp, ownerPath)
  return {
    url: server.url,
    close: async () => {
      await rm(ownerPath, { force: true })
      await server.close()
      await rm(lockPath, { force: true })
    },
  }
}
