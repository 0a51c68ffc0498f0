import type { Knex } from 'knex'
import type { Clock } from './ports/clock.ts'
import type { Logger } from './ports/logger.ts'

/** What the invitation rules need from configuration (a slice of `AppConfig`). */
export interface ServiceConfig {
  /** Validity of a link (INVITE_TTL), in milliseconds. */
  inviteTtlMs: number
  /** Base of links in emails (PUBLIC_BASE_URL), without a trailing slash. */
  publicBaseUrl: string
  /** Key behind invitation links (INVITE_SECRET), at least 32 bytes. */
  inviteSecret: Buffer
  /** Sender address for emails (EMAIL_FROM). */
  emailFrom: string
  /** Group new users get when `add` names none (DEFAULT_GROUP). */
  defaultGroup: string
  limits: {
    /** Emails one administrator may cause per hour (ADMIN_SEND_LIMIT_PER_HOUR). */
    adminSendsPerHour: number
    /** Emails one recipient may get per day (RECIPIENT_SEND_LIMIT_PER_DAY). */
    recipientSendsPerDay: number
  }
}

/** Dependencies every use case takes (docs/architecture.md): no module-level singletons. */
export interface Deps {
  db: Knex
  clock: Clock
  config: ServiceConfig
  logger: Logger
}
