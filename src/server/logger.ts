import { pino } from 'pino'
import { redactInvitationUrl } from '../invitations/links.ts'
import type { Logger } from '../ports/logger.ts'

/**
 * Structured JSON logs (pino). Logs never contain a link secret or a token (docs/security.md):
 * known secret-bearing fields are censored, and every finished line is scrubbed before it is
 * written: invitation URLs and paths, however spelled, lose their token, and any token-shaped
 * run (43 base64url characters) is cut wherever it stands.
 *
 * The scrub runs on the serialized line (pino's `streamWrite` hook), not on the arguments: so it
 * also covers child bindings, nested fields, error messages and stacks, and strings other
 * libraries (Bolt) hand us, whatever field name they use.
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
        streamWrite: redactInvitationUrl,
      },
    },
    opts.destination ?? process.stdout,
  )
}
