import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { DEFAULT_PRODUCT_NAME, type Branding, type ServiceConfig } from './deps.ts'
import { parseDuration } from './invitations/rules.ts'
import { normaliseEmail } from './shared/email-address.ts'
import { checkName } from './shared/names.ts'

/**
 * The core's configuration (docs/operations.md), validated once at start. Adapters validate their own
 * fragments (Slack, SES) the same way; the composition root reports every problem together.
 */
const optionalNonEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

/** A whole number from the environment, with its default. */
const intFromEnv = (fallback: number, min: number, max: number) =>
  optionalNonEmpty.transform((v) => (v === undefined ? fallback : Number(v))).pipe(z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
const positiveInt = (fallback: number) => intFromEnv(fallback, 1, 1_000_000)

/**
 * A page the invitee is sent to or shown (TERMS_URL, SIGN_IN_URL, …): an absolute http(s) URL
 * without credentials in it (they would be shown to every invitee). https is required in
 * production, a rule across variables (`crossProblems`).
 */
const linkUrl = optionalNonEmpty.pipe(
  z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
    .max(2000, 'must be at most 2000 characters')
    .refine((v) => {
      // Runs after a failed format check too (zod reports every problem): only judge a URL.
      const u = URL.canParse(v) ? new URL(v) : null
      return u === null || (u.username === '' && u.password === '')
    }, 'must not carry a user name or password')
    .optional(),
)

/** Longest PRODUCT_NAME: a header, a title and an email subject must still read. */
export const PRODUCT_NAME_MAX = 60

/** The branding variables, in the order docs/operations.md lists them. */
export const BRANDING_URL_VARIABLES = ['TERMS_URL', 'PRIVACY_URL', 'SIGN_IN_URL', 'ACCEPT_REDIRECT_URL'] as const

const schema = z
  .object({
    NODE_ENV: optionalNonEmpty,
    PORT: intFromEnv(3000, 0, 65535),
    DATABASE_URL: optionalNonEmpty.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
    DATA_DIR: optionalNonEmpty.transform((v) => resolve(v ?? '.data')),
    PUBLIC_BASE_URL: optionalNonEmpty.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
    INVITE_TTL: optionalNonEmpty
      .transform((v) => v ?? '7d')
      .pipe(z.string().refine((v) => parseDuration(v) !== null, 'must be a duration such as 90s, 30m, 12h or 7d')),
    INVITE_SECRET: optionalNonEmpty.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    EMAIL_TRANSPORT: optionalNonEmpty.pipe(z.enum(['file', 'ses']).optional()).transform((v) => v ?? 'file'),
    EMAIL_FROM: optionalNonEmpty.pipe(z.string().max(320).refine((v) => !/[\r\n]/.test(v), 'must be one line').optional()),
    DEFAULT_GROUP: optionalNonEmpty.transform((v) => v ?? 'Members'),
    ADMIN_SEND_LIMIT_PER_HOUR: positiveInt(50),
    RECIPIENT_SEND_LIMIT_PER_DAY: positiveInt(5),
    LOG_LEVEL: optionalNonEmpty.pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional()).transform((v) => v ?? 'info'),
    SHUTDOWN_GRACE_MS: positiveInt(10_000),
    EMAIL_SEND_CONCURRENCY: intFromEnv(4, 1, 64),
    PRODUCT_NAME: optionalNonEmpty.pipe(
      z
        .string()
        .max(PRODUCT_NAME_MAX, `must be at most ${PRODUCT_NAME_MAX} characters`)
        .superRefine((v, ctx) => {
          // The same rule as a person's name: one line, no control or bidi characters.
          const checked = checkName('personPart', v)
          if (!checked.ok && checked.problem !== 'too_long') ctx.addIssue({ code: 'custom', message: checked.problem === 'line_break' ? 'must be one line' : 'must not contain control characters' })
        })
        .optional(),
    ),
    TERMS_URL: linkUrl,
    PRIVACY_URL: linkUrl,
    SIGN_IN_URL: linkUrl,
    ACCEPT_REDIRECT_URL: linkUrl,
    SUPPORT_EMAIL: optionalNonEmpty.pipe(
      z
        .string()
        .transform((v, ctx) => {
          const checked = normaliseEmail(v)
          if (checked.ok) return checked.email
          ctx.addIssue({ code: 'custom', message: 'must be one email address, such as support@example.com' })
          return z.NEVER
        })
        .optional(),
    ),
  })

/**
 * Rules across variables, checked on the raw environment so they are reported together with
 * every field problem (a failed field would otherwise hide them).
 */
function crossProblems(env: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => (env[name] ?? '').trim() !== ''
  const problems: string[] = []
  const production = env.NODE_ENV === 'production'
  if (production && !set('INVITE_SECRET')) problems.push('INVITE_SECRET is required when NODE_ENV=production')
  if (production && !set('PUBLIC_BASE_URL')) problems.push('PUBLIC_BASE_URL is required when NODE_ENV=production (links in emails must reach your server)')
  if ((env.EMAIL_TRANSPORT ?? '').trim() === 'ses' && !set('EMAIL_FROM')) problems.push('EMAIL_FROM is required with EMAIL_TRANSPORT=ses (a verified SES sender)')
  if (production) {
    for (const name of BRANDING_URL_VARIABLES) {
      if (/^\s*http:/i.test(env[name] ?? '')) problems.push(`${name} must be an https URL when NODE_ENV=production`)
    }
  }
  return problems
}

export interface AppConfig {
  production: boolean
  port: number
  databaseUrl: string | undefined
  dataDir: string
  /**
   * PUBLIC_BASE_URL was given, not defaulted to http://localhost:$PORT. The CLI trusts only a
   * given one over the base the running server recorded: its own PORT says nothing about the server's.
   */
  publicBaseUrlSet: boolean
  /** Set when configured; otherwise generated into DATA_DIR by `resolveInviteSecret`. */
  inviteSecret: string | undefined
  emailTransport: 'file' | 'ses'
  logLevel: string
  shutdownGraceMs: number
  /** Emails one process sends at once (the send rate still holds across every replica). */
  emailSendConcurrency: number
  /** PRODUCT_NAME, TERMS_URL, …, with their defaults (also in `service.branding`). */
  branding: Branding
  /** The service's slice, without the secret (filled in by `resolveInviteSecret`). */
  service: Omit<ServiceConfig, 'inviteSecret'>
}

/** Every problem, one line each: `INVITE_TTL must be a duration such as …`. */
export function formatProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || 'environment'} ${i.message}`)
}

/** Validate the environment once. Returns every problem together, never the first only. */
export function loadConfig(env: NodeJS.ProcessEnv): { ok: true; config: AppConfig } | { ok: false; problems: string[] } {
  const parsed = schema.safeParse(env)
  const problems = [...(parsed.success ? [] : formatProblems(parsed.error)), ...crossProblems(env)]
  if (!parsed.success || problems.length > 0) return { ok: false, problems }
  const e = parsed.data
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '')
  const branding: Branding = {
    productName: e.PRODUCT_NAME ?? DEFAULT_PRODUCT_NAME,
    termsUrl: e.TERMS_URL ?? null,
    privacyUrl: e.PRIVACY_URL ?? null,
    supportEmail: e.SUPPORT_EMAIL ?? null,
    signInUrl: e.SIGN_IN_URL ?? null,
  }
  return {
    ok: true,
    config: {
      production: e.NODE_ENV === 'production',
      port: e.PORT,
      databaseUrl: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      publicBaseUrlSet: e.PUBLIC_BASE_URL !== undefined,
      inviteSecret: e.INVITE_SECRET,
      emailTransport: e.EMAIL_TRANSPORT,
      logLevel: e.LOG_LEVEL,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      emailSendConcurrency: e.EMAIL_SEND_CONCURRENCY,
      branding,
      service: {
        inviteTtlMs: parseDuration(e.INVITE_TTL)!,
        publicBaseUrl,
        emailFrom: senderAddress(e.EMAIL_FROM, branding.productName),
        defaultGroup: e.DEFAULT_GROUP,
        limits: { adminSendsPerHour: e.ADMIN_SEND_LIMIT_PER_HOUR, recipientSendsPerDay: e.RECIPIENT_SEND_LIMIT_PER_DAY },
        acceptRedirectUrl: e.ACCEPT_REDIRECT_URL ?? null,
        branding,
      },
    },
  }
}

/**
 * The emails' sender: EMAIL_FROM as given when it names itself (`Acme <no-reply@acme.example>`);
 * a bare address, or none, gets the product's name as its display name, quoted as RFC 5322
 * wants when the name holds anything beyond letters, digits and spaces.
 *
 * @example senderAddress('no-reply@acme.example', 'Acme, Inc.') === '"Acme, Inc." <no-reply@acme.example>'
 */
export function senderAddress(emailFrom: string | undefined, productName: string): string {
  const address = emailFrom ?? 'invitations@localhost'
  if (address.includes('<')) return address
  const name = /^[A-Za-z0-9 ]+$/.test(productName) ? productName : `"${productName.replace(/["\\]/g, (c) => `\\${c}`)}"`
  return `${name} <${address}>`
}

/**
 * INVITE_SECRET as key bytes. Outside production an unset secret is generated once into
 * DATA_DIR/invite-secret (mode 600) so links keep working across restarts.
 */
export async function resolveInviteSecret(config: AppConfig): Promise<Buffer> {
  if (config.inviteSecret) return Buffer.from(config.inviteSecret, 'utf8')
  const path = join(config.dataDir, 'invite-secret')
  try {
    const existing = (await readFile(path, 'utf8')).trim()
    if (existing.length >= 32) return Buffer.from(existing, 'utf8')
  } catch {
    // not generated yet
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(32).toString('base64url')
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'w' })
  return Buffer.from(secret, 'utf8')
}
