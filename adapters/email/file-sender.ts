import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { EmailMessage, EmailSender, SentEmail } from '../../src/ports/email.ts'
import type { Logger } from '../../src/ports/logger.ts'

/** RFC 2047 encoded-word for a header that may hold non-ASCII (names, account names). */
function encodeHeader(value: string): string {
  // eslint-disable-next-line no-control-regex -- header injection guard: no CR/LF or controls
  const clean = value.replace(/[\u0000-\u001f\u007f]+/g, ' ')
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`
}

function base64Lines(s: string): string {
  return (Buffer.from(s, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
}

/** A MIME message (multipart/alternative text + HTML), as an .eml file holds it. */
export function toEml(message: EmailMessage, messageId: string, date: Date): string {
  const boundary = `inviteops-${randomBytes(8).toString('hex')}`
  return [
    `From: ${encodeHeader(message.from)}`,
    `To: ${message.to}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${messageId}@inviteops.local>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(message.text),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(message.html),
    `--${boundary}--`,
    '',
  ].join('\r\n')
}

/**
 * The default transport (EMAIL_TRANSPORT=file): each email becomes an .eml file under
 * DATA_DIR/outbox, for development and demos. The log names the file, never the link inside it:
 * logs must not carry link secrets (DESIGN.md §5), even in development.
 */
export function createFileEmailSender(opts: { dataDir: string; logger: Logger }): EmailSender {
  const dir = join(opts.dataDir, 'outbox')
  return {
    name: 'file',
    async send(message: EmailMessage): Promise<SentEmail> {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const now = new Date()
      const messageId = `${now.toISOString().replace(/[:.]/g, '-')}-${message.id}`
      const path = join(dir, `${messageId}.eml`)
      await writeFile(path, toEml(message, messageId, now), { mode: 0o600 })
      opts.logger.info({ to: message.to, subject: message.subject, file: relative(process.cwd(), path) || path }, 'email written to the outbox folder (open the .eml file for its link)')
      return { messageId }
    },
  }
}
