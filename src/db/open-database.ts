import knexFactory, { type Knex } from 'knex'
import pg from 'pg'
import type { Logger } from '../ports/logger.ts'
import type { EmbeddedServer } from './embedded.ts'

// Postgres `bigint` (counts) and `numeric` arrive as strings by default; our counts fit in a JS
// number, so read them as numbers once, here, rather than at every call site.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10))

export interface Database {
  knex: Knex
  /** `postgres`: DATABASE_URL; `embedded`: this process owns PGlite; `embedded-shared`: another inviteops process does. */
  kind: 'postgres' | 'embedded' | 'embedded-shared'
  /** A postgres:// URL another process (a CLI, a child worker, a benchmark) can connect to. */
  url: string
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined
  /** DATA_DIR for embedded PGlite; ignored with databaseUrl. */
  dataDir?: string | undefined
  /** Embedded PGlite in memory (tests). */
  memory?: boolean
  /** With `memory`: start from this prepared template (template.ts) instead of initdb. */
  memoryTemplate?: Blob
  /** With dataDir: the template a fresh DATA_DIR starts from (path, or null for initdb); default: the build's. */
  template?: string | null
  /**
   * When another process owns DATA_DIR: `share` connects through it (the CLI beside a running
   * server); `exclusive` fails with a clear message (a second `serve`).
   */
  embeddedMode?: 'share' | 'exclusive'
  poolMax?: number
  logger: Logger
}

function knexFor(url: string, poolMax: number, acquireTimeoutMs: number): Knex {
  return knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: acquireTimeoutMs,
  })
}

// Postgres: fail fast rather than queue when the server is gone (readiness reports it).
// Embedded: every query takes its turn on PGlite's one session, so a burst of work (a channel
// full of clicks) legitimately waits longer than a server pool would.
const POSTGRES_ACQUIRE_MS = 10_000
const EMBEDDED_ACQUIRE_MS = 60_000

/** Open the database named by the configuration: Postgres, or embedded PGlite (docs/operations.md). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const poolMax = opts.poolMax ?? 10
  if (opts.databaseUrl) {
    const knex = knexFor(opts.databaseUrl, poolMax, POSTGRES_ACQUIRE_MS)
    return { knex, kind: 'postgres', url: opts.databaseUrl, close: () => knex.destroy() }
  }
  // PGlite and its socket server load only here: a service on DATABASE_URL never pays for them.
  const { ownEmbeddedDatabase, readEmbeddedOwner, startEmbeddedServer } = await import('./embedded.ts')
  let server: EmbeddedServer
  if (opts.memory || !opts.dataDir) {
    server = await startEmbeddedServer(null, opts.memoryTemplate ? { memoryTemplate: opts.memoryTemplate } : {})
  } else {
    if ((opts.embeddedMode ?? 'share') === 'share') {
      const owner = await readEmbeddedOwner(opts.dataDir)
      if (owner) {
        opts.logger.debug({ pid: owner.pid }, 'using the embedded database of a running inviteops process')
        const knex = knexFor(owner.url, 1, EMBEDDED_ACQUIRE_MS)
        return { knex, kind: 'embedded-shared', url: owner.url, close: () => knex.destroy() }
      }
    }
    server = await ownEmbeddedDatabase(opts.dataDir, opts.logger, opts.template === undefined ? {} : { template: opts.template })
    // The server's log says, once, which of V8's wasm compilers PGlite got and why (a CLI command
    // that opened the data directory itself keeps its stderr for what the operator asked).
    if (opts.embeddedMode === 'exclusive') (await import('./pglite-server.ts')).logWasmCompilerChoice(opts.logger)
  }
  // The multiplexer serialises everything anyway; a small pool keeps waiting in one place.
  const knex = knexFor(server.url, Math.min(poolMax, 8), EMBEDDED_ACQUIRE_MS)
  return {
    knex,
    kind: 'embedded',
    url: server.url,
    close: async () => {
      await knex.destroy()
      await server.close()
    },
  }
}
