import { mkdir, open, readFile, rm, writeFile, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { z } from 'zod'
import type { Logger } from '../ports/logger.ts'
import { silentLogger } from '../ports/logger.ts'
import { pgliteOptions, servePglite } from './pglite-server.ts'
import { extractTemplate, readTemplate, syncPath, syncTree, templatePath } from './template.ts'

export { EMBEDDED_SHARED_BUFFERS } from './pglite-server.ts'

/**
 * Embedded Postgres (PGlite) served over the Postgres wire protocol on loopback (see
 * pglite-server.ts for why a socket).
 */
export interface EmbeddedServer {
  /** postgres:// URL of the socket server. */
  url: string
  close(): Promise<void>
}

const ownerFileSchema = z.object({ pid: z.number().int().positive(), url: z.string().startsWith('postgres://') })
export type EmbeddedOwner = z.infer<typeof ownerFileSchema>

export interface StartEmbeddedOptions {
  logger?: Logger
  /**
   * The prepared template a fresh data directory starts from (template.ts): a file path, or null
   * for plain initdb. Default: the environment's override, else the one next to the build.
   */
  template?: string | null
}

/** Present in DATA_DIR while a first start creates `pgdata`: seen at start, it means that one stopped halfway. */
const CREATING_MARKER = 'pgdata.creating'

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/**
 * Open DATA_DIR's database. A fresh directory is unpacked from the prepared template when one
 * fits this PGlite (well under a second), else made by initdb (several seconds, twice the memory).
 *
 * A first start that stops halfway (killed, out of disk) would leave a `pgdata` that is neither
 * empty nor whole, which PGlite would refuse or, worse, half-use. So the marker file is written
 * before `pgdata` is created and removed once it opened whole; a start that finds the marker knows
 * the `pgdata` beside it holds nothing of value (nothing has been served from it yet), removes it
 * and creates it again.
 */
async function openDataDir(dataDir: string, opts: StartEmbeddedOptions): Promise<PGlite> {
  const logger = opts.logger ?? silentLogger
  const pgdata = join(dataDir, 'pgdata')
  const marker = join(dataDir, CREATING_MARKER)
  if (await exists(marker)) {
    logger.warn({ dataDir }, 'an earlier first start stopped before the embedded database was complete: creating it again')
    await rm(pgdata, { recursive: true, force: true })
  } else if (await exists(pgdata)) {
    return PGlite.create(pgdata, pgliteOptions())
  }
  await writeFile(marker, `${process.pid}\n`, { mode: 0o600 })
  // The marker's name durable before any of `pgdata` can be: else a power cut could keep a partial
  // `pgdata` and lose the marker that says it is partial.
  await syncPath(dataDir)
  let db: PGlite | undefined
  const file = opts.template === undefined ? templatePath() : opts.template
  const template = file === null ? ({ ok: false, reason: 'no template configured' } as const) : await readTemplate(file)
  if (template.ok) {
    try {
      await extractTemplate(file as string, pgdata)
      if (!(await exists(join(pgdata, 'PG_VERSION')))) throw new Error('the template holds no Postgres data directory')
      db = await PGlite.create(pgdata, pgliteOptions())
      logger.info({ template: file, migrations: template.info.migrations.length }, 'embedded database created from the prepared template')
    } catch (err) {
      logger.info({ template: file, err: (err as Error).message }, 'the prepared template could not be loaded: creating the embedded database with initdb (takes several seconds)')
      await rm(pgdata, { recursive: true, force: true })
    }
  } else {
    logger.info({ reason: template.reason }, 'no usable prepared template: creating the embedded database with initdb (takes several seconds)')
  }
  if (!db) {
    db = await PGlite.create(pgdata, pgliteOptions())
    // PGlite's file system does not fsync what initdb wrote; the template path synced its own.
    await syncTree(pgdata)
  }
  // Only now may the marker go, and its removal is made durable together with `pgdata`'s name (one
  // directory): a power cut before this sync brings back the marker, or loses both.
  await rm(marker, { force: true })
  await syncPath(dataDir)
  return db
}

/**
 * Start PGlite (in memory when `dataDir` is null, or from an in-memory template `Blob`) and serve it
 * on 127.0.0.1:<free port>.
 */
export async function startEmbeddedServer(dataDir: string | null, opts: StartEmbeddedOptions & { memoryTemplate?: Blob } = {}): Promise<EmbeddedServer> {
  let db: PGlite
  if (dataDir !== null) db = await openDataDir(dataDir, opts)
  else if (opts.memoryTemplate) db = await PGlite.create({ ...pgliteOptions(), loadDataDir: opts.memoryTemplate })
  else db = await PGlite.create(pgliteOptions())
  let server
  try {
    server = await servePglite(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return {
    url: server.url,
    close: async () => {
      await server.close()
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
export async function ownEmbeddedDatabase(dataDir: string, logger: Logger, opts: { template?: string | null } = {}): Promise<EmbeddedServer> {
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
    server = await startEmbeddedServer(dataDir, { logger, ...opts })
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
