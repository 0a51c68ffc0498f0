import { createHash } from 'node:crypto'
import { createReadStream, openAsBlob } from 'node:fs'
import { open, readdir, readFile, rename, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, extname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import knexFactory from 'knex'
import { PGlite } from '@electric-sql/pglite'
import { z } from 'zod'
import { migrations } from '../../migrations/index.ts'
import { migrateLatest } from './migrate.ts'
import { pgliteOptions, servePglite } from './pglite-server.ts'

/**
 * A prepared PGlite data directory: initdb plus every migration, checkpointed and dumped as a tar.
 *
 * Why: initdb in WebAssembly takes seconds and, because PGlite runs it in a second instance,
 * doubles the memory of a first start. Unpacking a prepared directory skips both. The template
 * holds nothing of an instance (no rows but knex's migration bookkeeping; the invite secret and
 * instance settings are made per DATA_DIR at start), and the app still runs the migrations at
 * start, so a template older than the code costs time, never correctness.
 *
 * Beside the tar, `<file>.json` records what it holds (the PGlite version it was made with and
 * the migrations applied); a template whose PGlite version differs is not used.
 */

/** Where the template sits: next to the build (`dist/pglite-template.tar` from `dist/src/db/`). */
export const DEFAULT_TEMPLATE_FILE = fileURLToPath(new URL('../../pglite-template.tar', import.meta.url))

/** Overrides the template's path (the test run points it at its own cache; empty: use the default). */
export const TEMPLATE_ENV = 'INVITEOPS_PGLITE_TEMPLATE'

/** The template path this process uses: the environment's override, or the one next to the build. */
export function templatePath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[TEMPLATE_ENV]
  return override && override.trim() !== '' ? override : DEFAULT_TEMPLATE_FILE
}

const sidecarSchema = z.object({
  format: z.literal(1),
  pgliteVersion: z.string().min(1),
  migrations: z.array(z.string()),
  compression: z.enum(['none', 'gzip']),
  bytes: z.number().int().nonnegative(),
  /** Of the tar: PGlite's unpacker fails badly (an unhandled zlib error) on damaged input, so damage is caught before. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** What it was made from (see sourceKey); a build whose key matches does not make it again. */
  sourceKey: z.string().optional(),
})
export type TemplateInfo = z.infer<typeof sidecarSchema>

/** The installed PGlite's version (the data directory's format follows it). */
export function installedPgliteVersion(): string {
  const require = createRequire(import.meta.url)
  // The package's exports do not list package.json: find it from the entry point.
  let dir = dirname(require.resolve('@electric-sql/pglite'))
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = require(join(dir, 'package.json')) as { name?: unknown; version?: unknown }
      if (pkg.name === '@electric-sql/pglite' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here: one level up
    }
    dir = dirname(dir)
  }
  return 'unknown'
}

/**
 * A hash of what a template is made from: the PGlite version and the code of the migrations and of
 * the modules that make it, as they sit beside this module (TypeScript from source, JavaScript in
 * dist/). A build whose template has this key can keep it.
 */
export async function sourceKey(): Promise<string> {
  const hash = createHash('sha256').update(installedPgliteVersion())
  const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url))
  const own = ['template', 'pglite-server', 'migrate'].map((name) => fileURLToPath(new URL(`./${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url)))
  const files = [...(await readdir(migrationsDir)).filter((f) => /\.(ts|js)$/.test(f)).sort().map((f) => join(migrationsDir, f)), ...own]
  for (const file of files) hash.update(basename(file)).update('\0').update(await readFile(file)).update('\0')
  return hash.digest('hex').slice(0, 16)
}

export function sidecarPath(file: string): string {
  return `${file}.json`
}

/**
 * Make a template in memory: initdb with the embedded start parameters, every migration through
 * the same wire server and knex the app uses, then CHECKPOINT so the dump needs no WAL replay.
 */
export async function makeTemplate(opts: { compression?: 'none' | 'gzip'; sourceKey?: string } = {}): Promise<{ data: Uint8Array; info: TemplateInfo }> {
  const compression = opts.compression ?? 'none'
  const db = await PGlite.create(pgliteOptions())
  try {
    const server = await servePglite(db)
    const knex = knexFactory({ client: 'pg', connection: server.url, pool: { min: 0, max: 1 } })
    let applied: string[]
    try {
      await migrateLatest(knex)
      applied = (await knex('knex_migrations').orderBy('id').pluck('name')) as string[]
    } finally {
      await knex.destroy()
      await server.close()
    }
    await db.exec('CHECKPOINT')
    const blob = await db.dumpDataDir(compression)
    const data = new Uint8Array(await blob.arrayBuffer())
    return {
      data,
      info: {
        format: 1,
        pgliteVersion: installedPgliteVersion(),
        migrations: applied,
        compression,
        bytes: data.byteLength,
        sha256: createHash('sha256').update(data).digest('hex'),
        ...(opts.sourceKey ? { sourceKey: opts.sourceKey } : {}),
      },
    }
  } finally {
    await db.close()
  }
}

/** Make a template and write it (tar, then its sidecar, each whole or not at all). */
export async function writeTemplate(file: string, opts: { compression?: 'none' | 'gzip'; sourceKey?: string } = {}): Promise<TemplateInfo> {
  const { data, info } = await makeTemplate(opts)
  await mkdir(dirname(file), { recursive: true })
  // The sidecar goes last: a tar without one (or with one that does not match its size) is not used.
  await rm(sidecarPath(file), { force: true })
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, file)
  await writeFile(`${sidecarPath(file)}.${process.pid}.tmp`, `${JSON.stringify(info, null, 2)}\n`)
  await rename(`${sidecarPath(file)}.${process.pid}.tmp`, sidecarPath(file))
  return info
}

export type TemplateRead = { ok: true; blob: Blob; info: TemplateInfo } | { ok: false; reason: string }

/**
 * Read a template if it can be used by this code: its sidecar parses, names this PGlite version,
 * lists only migrations this code knows (in order), and the tar has the recorded size and hash. Never
 * throws: the reason comes back for the log, and the caller runs initdb instead.
 */
export async function readTemplate(file: string): Promise<TemplateRead> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(sidecarPath(file), 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { ok: false, reason: code === 'ENOENT' ? `no template at ${file}` : `the template's description ${sidecarPath(file)} is unreadable` }
  }
  const parsed = sidecarSchema.safeParse(raw)
  if (!parsed.success) return { ok: false, reason: `the template's description ${sidecarPath(file)} is not valid` }
  const info = parsed.data
  const version = installedPgliteVersion()
  if (info.pgliteVersion !== version) {
    return { ok: false, reason: `the template was made with PGlite ${info.pgliteVersion}, this is PGlite ${version}` }
  }
  const known = migrations.map(([name]) => name)
  if (info.migrations.some((name, i) => known[i] !== name)) {
    return { ok: false, reason: 'the template holds migrations this code does not have' }
  }
  // The tar is hashed as a stream and handed to PGlite as a file-backed Blob: a first start then
  // holds the 40 MB once (PGlite's own copy), not three times.
  let size: number
  let digest: string
  try {
    size = (await stat(file)).size
    if (size !== info.bytes) return { ok: false, reason: `the template ${file} is incomplete` }
    digest = await sha256File(file)
  } catch {
    return { ok: false, reason: `the template ${file} is unreadable` }
  }
  if (digest !== info.sha256) return { ok: false, reason: `the template ${file} is damaged` }
  let blob: Blob
  try {
    blob = await openAsBlob(file)
  } catch {
    return { ok: false, reason: `the template ${file} is unreadable` }
  }
  return { ok: true, blob, info }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Unpack a template's tar into `dir` (which must not exist yet), streaming from the file.
 *
 * Why not PGlite's `loadDataDir`: it reads the whole tar into memory and copies it through the
 * WebAssembly file system, which costs a first start about 150 MB more than opening an existing
 * directory; unpacking here costs about one megabyte. Only what PGlite's dump writes is accepted:
 * plain files and directories, no path leaving `dir`.
 */
export async function extractTemplate(file: string, dir: string): Promise<void> {
  const handle = await open(file, 'r')
  // Every file and directory written, synced at the end, before the caller removes its "creating"
  // marker: after a power cut the marker's removal must not survive without the contents it vouches
  // for (a file's own fsync does not make its name durable: its directory is synced too).
  const written = new Set<string>([dir])
  const files: string[] = []
  try {
    await mkdir(dir, { mode: 0o700 })
    const header = Buffer.alloc(512)
    const chunk = Buffer.alloc(1 << 20)
    let position = 0
    for (;;) {
      const { bytesRead } = await handle.read(header, 0, 512, position)
      if (bytesRead < 512) throw new Error('the template tar ends without its end marker')
      position += 512
      if (header.every((b) => b === 0)) {
        // The files first, then the names: the order among each does not matter, only that all
        // are done before this returns.
        await syncPaths(files)
        await syncPaths([...written])
        return
      }
      const field = (start: number, length: number): string => {
        const raw = header.subarray(start, start + length)
        const end = raw.indexOf(0)
        return raw.subarray(0, end === -1 ? length : end).toString('utf8')
      }
      const prefix = field(345, 155)
      const name = (prefix ? `${prefix}/` : '') + field(0, 100)
      const size = Number.parseInt(field(124, 12).trim() || '0', 8)
      const type = field(156, 1) || '0'
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`the template tar has a bad size for ${name}`)
      const parts = name.split('/').filter((p) => p !== '' && p !== '.')
      if (parts.some((p) => p === '..' || p.includes(sep))) throw new Error(`the template tar names a path outside its directory: ${name}`)
      const target = join(dir, ...parts)
      if (type === '5') {
        await mkdir(target, { recursive: true, mode: 0o700 })
        for (let d = target; d.length > dir.length; d = dirname(d)) written.add(d)
      } else if (type === '0') {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 })
        for (let d = dirname(target); d.length > dir.length; d = dirname(d)) written.add(d)
        const out = await open(target, 'wx', 0o600)
        try {
          let left = size
          while (left > 0) {
            const { bytesRead: n } = await handle.read(chunk, 0, Math.min(chunk.length, left), position)
            if (n === 0) throw new Error(`the template tar ends inside ${name}`)
            await out.write(chunk, 0, n)
            position += n
            left -= n
          }
        } finally {
          await out.close()
        }
        files.push(target)
        position += (512 - (size % 512)) % 512
      } else {
        throw new Error(`the template tar holds an entry of type ${JSON.stringify(type)} (${name}), not a file or directory`)
      }
    }
  } finally {
    await handle.close()
  }
}

/**
 * fsync files or directories, several at once: one at a time, each waits for its own journal
 * commit (a template has about 1,100 files: seconds on a slow disk); concurrent ones share commits.
 */
export async function syncPaths(files: readonly string[], concurrency = 32): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < files.length) await syncPath(files[next++] as string)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
}

/**
 * fsync one file or directory by path. A directory is opened read-only, which Linux and macOS
 * allow; where a directory cannot be opened or synced (Windows: EISDIR, EPERM; some file systems:
 * EINVAL) there is nothing more this process can do, so that is not an error.
 */
export async function syncPath(path: string): Promise<void> {
  let h
  try {
    h = await open(path, 'r')
    await h.sync()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err
  } finally {
    await h?.close()
  }
}

/** fsync every file and directory under `dir` (and `dir` itself), for a tree written by someone else. */
export async function syncTree(dir: string): Promise<void> {
  const dirs: string[] = [dir]
  const files: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    if (entry.isDirectory()) dirs.push(path)
    else if (entry.isFile()) files.push(path)
  }
  await syncPaths(files)
  await syncPaths(dirs)
}
