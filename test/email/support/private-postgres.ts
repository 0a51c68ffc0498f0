import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A throw-away Postgres server of our own (initdb + pg_ctl in a temp dir, on a free loopback
 * port), for tests that must restart or crash the database. The machine's shared server at
 * 127.0.0.1:5432 is never touched: other test files use it in parallel.
 */
export interface PrivatePostgres {
  url: string
  restart(): void
  stop(): void
}

/** Why a private server cannot run here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (!binDir()) return 'no Postgres binaries under /usr/lib/postgresql/*/bin'
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['postgres'], { stdio: 'ignore' })
    } catch {
      return 'running as root and there is no "postgres" user to run the server as'
    }
  }
  return null
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_ctl'))) return join(root, v, 'bin')
  return null
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const address = s.address()
  await new Promise<void>((resolve) => s.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir()
  if (!bin) throw new Error('no Postgres binaries')
  const dir = mkdtempSync(join(tmpdir(), 'inviteops-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    // initdb refuses to run as root: hand the directory to the postgres user.
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, cmd), args, { stdio: 'pipe' })
  const port = await freePort()
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
  const pgctl = (action: string, extra: string[] = []) => run('pg_ctl', [action, '-D', data, '-w', '-t', '30', ...extra])
  pgctl('start', ['-o', opts, '-l', join(dir, 'log')])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => pgctl('restart', ['-m', 'fast', '-o', opts, '-l', join(dir, 'log')]),
    stop: () => {
      try {
        pgctl('stop', ['-m', 'immediate'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
