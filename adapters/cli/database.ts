import { userInfo } from 'node:os'
import { resolveAccount } from '../../src/accounts/resolve-account.ts'
import { resolveInviteSecret } from '../../src/config.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import type { Deps } from '../../src/deps.ts'
import type { Actor } from '../../src/invitations/model.ts'
import { systemClock } from '../../src/ports/clock.ts'
import { createLogger } from '../../src/server/logger.ts'
import type { Environment } from '../server/environment.ts'
import { CliFailure, type Io } from './args.ts'

/** What a command handler is given once its arguments were read (./dispatch.ts). */
export interface CliContext {
  env: Environment
  io: Io
  processEnv: NodeJS.ProcessEnv
}

/** Open the database as the CLI does: beside a running server (through it), or on its own. */
export async function withDatabase<T>(cli: CliContext, fn: (deps: Deps) => Promise<T>): Promise<T> {
  const { env } = cli
  // Quieter than the server unless LOG_LEVEL says otherwise (its validated value: a blank or padded
  // one would not be a level pino knows). On stderr: stdout is the command's answer (--json).
  const level = cli.processEnv.LOG_LEVEL?.trim() ? env.app.logLevel : 'warn'
  const logger = createLogger({ level, destination: process.stderr })
  try {
    const db = await openDatabase({ databaseUrl: env.app.databaseUrl, dataDir: env.app.dataDir, embeddedMode: 'share', poolMax: 2, logger })
    try {
      if (db.kind !== 'embedded-shared') await migrateLatest(db.knex)
      const deps: Deps = { db: db.knex, clock: systemClock, logger, config: { ...env.app.service, inviteSecret: await resolveInviteSecret(env.app) } }
      return await fn(deps)
    } finally {
      await db.close()
    }
  } catch (err) {
    throw await asCliFailure(err)
  }
}

/**
 * A data directory another process holds is the operator's to sort out: a message, exit 1, not a
 * crash. The error's class is imported only when something failed: embedded.ts brings PGlite,
 * which a CLI or server on DATABASE_URL never needs otherwise.
 */
export async function asCliFailure(err: unknown): Promise<unknown> {
  const { DataDirBusyError } = await import('../../src/db/embedded.ts')
  return err instanceof DataDirBusyError ? new CliFailure(err.message) : err
}

export async function accountOrFail(deps: Deps, idOrName: string): Promise<{ id: string; name: string }> {
  const account = await resolveAccount(deps.db, idOrName)
  if (!account) throw new CliFailure(`No account "${idOrName}". List them with: inviteops accounts list`)
  return account
}

/** The operator at this terminal, as the audit log names them. */
export function operator(): Actor {
  return { platform: 'cli', platformUserId: safeUser(), email: null }
}

export function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}
