import { pino } from 'pino'
import { redactInvitationUrl } from '../invitations/links.ts'
import type { Logger } from '../ports/logger.ts'

/**
 * Structured JSON logs (pino). Logs never contain a link secret or a token (DESIGN.md §5):
 * known secret-bearing fields are censored, and any string that looks like an invitation URL
 * has its token cut off before it is written.
 */
export function createLogger(opts: { level: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'inviteops' },
      redact: {
        paths: ['token', '*.token', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'headers.cookie', 'secret', '*.secret', 'url', '*.url', 'link', '*.link'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactInvitationUrl(a) : a)) as typeof args
          method.apply(this, scrubbed)
        },
      },
    },
    opts.destination ?? process.stdout,
  )
}
