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
  /**
   * The product's own sign-up (ACCEPT_REDIRECT_URL): when set, Accept on the invitee's page hands
   * the invitee over to it with a one-time code instead of showing the registration form.
   */
  acceptRedirectUrl?: string | null
  /** Names and links the invitee sees (PRODUCT_NAME, TERMS_URL, …); `brandingOf` fills the defaults. */
  branding?: Partial<Branding>
}

/** What the invitee's pages, the emails and the Teams package say the product is. */
export interface Branding {
  /** PRODUCT_NAME: one line, shown in headers, titles, subjects and the sender's display name. */
  productName: string
  /** TERMS_URL: the Terms of Use the registration form links to. */
  termsUrl: string | null
  /** PRIVACY_URL: linked from the pages' and the emails' footer. */
  privacyUrl: string | null
  /** SUPPORT_EMAIL: where an invitee with a question writes. */
  supportEmail: string | null
  /** SIGN_IN_URL: offered after registering ("Sign in to <product>"). */
  signInUrl: string | null
}

/** The product's name when PRODUCT_NAME is not set. */
export const DEFAULT_PRODUCT_NAME = 'InviteOps'

/** The configured branding with its defaults: today's words, no links. */
export function brandingOf(config: Pick<ServiceConfig, 'branding'>): Branding {
  const b = config.branding ?? {}
  return {
    productName: b.productName ?? DEFAULT_PRODUCT_NAME,
    termsUrl: b.termsUrl ?? null,
    privacyUrl: b.privacyUrl ?? null,
    supportEmail: b.supportEmail ?? null,
    signInUrl: b.signInUrl ?? null,
  }
}

/** Dependencies every use case takes (docs/architecture.md): no module-level singletons. */
export interface Deps {
  db: Knex
  clock: Clock
  config: ServiceConfig
  logger: Logger
}
