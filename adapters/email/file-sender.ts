import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { EmailMessage, EmailSender, SentEmail } from '../../src/ports/email.ts'
import type { Logger } from '../../src/ports/logger.ts'

/*
 * The MIME encoding here is written by hand rather than taken from nodemailer's composer: nodemailer
 * (and libqp, libmime) are in node_modules only as dependencies of a test tool, not of InviteOps,
 * and this file needs little of them: two transfer encodings and RFC 2047 words, all tested in
 * test/unit/email-file-sender.test.ts.
 *
 * The point of the file transport is that a developer finds the link with `grep -r invitations
 * .data/outbox`. So bodies are written as they are (7bit/8bit UTF-8) whenever MIME allows it, and
 * only a body that cannot be (a line over 998 octets, a stray CR or NUL) is quoted-printable.
 */

/** Longest line MIME allows in a 7bit/8bit body, in octets, without its CRLF (RFC 5322 §2.1.1). */
const MAX_LINE_OCTETS = 998

/** Longest line of a quoted-printable body, including the `=` of a soft line break (RFC 2045 §6.7). */
const MAX_QP_LINE = 76

// eslint-disable-next-line no-control-regex -- header injection guard: no CR/LF or controls
const CONTROLS = /[\u0000-\u001f\u007f]+/g

/** The body of one text part, in the most readable Content-Transfer-Encoding that is valid for it. */
export function encodeTextBody(text: string): { encoding: '7bit' | '8bit' | 'quoted-printable'; body: string } {
  const lines = text.replace(/\r\n/g, '\n').split('\n')
  // RFC 2045 §2.7–2.8: no NUL, CR only in CRLF, lines of at most 998 octets.
  const asIs = lines.every((l) => !/[\r\0]/.test(l) && Buffer.byteLength(l, 'utf8') <= MAX_LINE_OCTETS)
  if (!asIs) return { encoding: 'quoted-printable', body: encodeQuotedPrintable(text) }
  // Only ASCII text has as many UTF-8 octets as UTF-16 units.
  return { encoding: Buffer.byteLength(text, 'utf8') === text.length ? '7bit' : '8bit', body: lines.join('\r\n') }
}

/**
 * Quoted-printable (RFC 2045 §6.7) of UTF-8 text whose line breaks are `\n` or CRLF. Soft line
 * breaks go after a space when there is one on the line, so words (and a URL short enough to fit
 * a line) stay whole, and never inside a character's `=XX` sequence.
 */
export function encodeQuotedPrintable(text: string): string {
  return text.replace(/\r\n/g, '\n').split('\n').map(qpLine).join('\r\n')
}

function qpLine(line: string): string {
  const chars = [...line]
  const out: string[] = []
  let current = ''
  let afterLastSpace = -1
  chars.forEach((ch, i) => {
    const unit = qpChar(ch, i === chars.length - 1)
    // Room for the unit plus the `=` of a soft break that may follow it.
    while (current.length + unit.length > MAX_QP_LINE - 1) {
      const cut = afterLastSpace > 0 ? afterLastSpace : current.length
      out.push(`${current.slice(0, cut)}=`)
      current = current.slice(cut)
      afterLastSpace = -1
    }
    current += unit
    if (unit === ' ' || unit === '\t') afterLastSpace = current.length
  })
  out.push(current)
  return out.join('\r\n')
}

/** One character as quoted-printable: itself when printable ASCII other than `=`, else `=XX` per octet. */
function qpChar(ch: string, endOfLine: boolean): string {
  const code = ch.codePointAt(0)!
  // Spaces and tabs are literal except at the end of a line, where transports may strip them.
  if ((code >= 33 && code <= 126 && code !== 61) || ((code === 32 || code === 9) && !endOfLine)) return ch
  return [...Buffer.from(ch, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
}

/**
 * A header value as RFC 2047 encoded-words when it is not ASCII (subjects carry account names),
 * each word at most 75 characters (§2) and never splitting a character, folded onto
 * continuation lines. ASCII stays readable as it is.
 */
export function encodeWords(value: string): string {
  const clean = value.replace(CONTROLS, ' ')
  if (/^[\x20-\x7e]*$/.test(clean)) return clean
  // 36 octets are 48 base64 characters: a 60-character word, so `Subject: ` plus one word fit in 78.
  const words: string[] = []
  let chunk = ''
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 36) {
      words.push(chunk)
      chunk = ''
    }
    chunk += ch
  }
  words.push(chunk)
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ')
}

/**
 * A mailbox header (`Name <address>` or a bare address) with only its display name encoded: an
 * encoded-word must not hold the address (RFC 2047 §5), or clients cannot read the sender.
 */
export function encodeMailbox(value: string): string {
  const clean = value.replace(CONTROLS, ' ').trim()
  const m = /^(.*?)\s*<([^<>]+)>$/.exec(clean)
  if (!m) return clean
  const name = m[1]!.trim()
  const address = m[2]!.trim()
  if (name === '') return `<${address}>`
  if (!/^[\x20-\x7e]*$/.test(name)) return `${encodeWords(unquote(name))} <${address}>`
  // An ASCII name with specials (`Acme, Inc.`) must be a quoted string (RFC 5322 §3.2.4).
  if (/^"(?:[^"\\]|\\.)*"$/.test(name) || /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$/.test(name)) return `${name} <${address}>`
  return `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`
}

/** `"Zoë \"Z\" Ops"` → `Zoë "Z" Ops`: an encoded-word carries the name itself, not its quoting. */
function unquote(name: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(name)
  return m ? m[1]!.replace(/\\(.)/g, '$1') : name
}

/** A MIME message (multipart/alternative text + HTML), as an .eml file holds it. */
export function toEml(message: EmailMessage, messageId: string, date: Date): string {
  const boundary = `inviteops-${randomBytes(8).toString('hex')}`
  const part = (type: string, content: string) => {
    const { encoding, body } = encodeTextBody(content)
    return [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, `Content-Transfer-Encoding: ${encoding}`, '', body]
  }
  return [
    `From: ${encodeMailbox(message.from)}`,
    `To: ${encodeMailbox(message.to)}`,
    `Subject: ${encodeWords(message.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${messageId}@inviteops.local>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    ...part('text/plain', message.text),
    ...part('text/html', message.html),
    `--${boundary}--`,
    '',
  ].join('\r\n')
}

/**
 * The default transport (EMAIL_TRANSPORT=file): each email becomes an .eml file under
 * DATA_DIR/outbox, for development and demos. The log names the file, never the link inside it:
 * logs must not carry link secrets (docs/security.md), even in development.
 */
export function createFileEmailSender(opts: { dataDir: string; logger: Logger }): EmailSender {
  const dir = join(opts.dataDir, 'outbox')
  return {
    name: 'file',
    async send(message: EmailMessage): Promise<SentEmail> {
      const now = new Date()
      const messageId = `${now.toISOString().replace(/[:.]/g, '-')}-${message.id}`
      const path = join(dir, `${messageId}.eml`)
      const eml = toEml(message, messageId, now)
      // The folder is made when a write finds it missing (the first email, or someone removed
      // it), not before every email: a burst of sends then costs one file system call each.
      try {
        await writeFile(path, eml, { mode: 0o600 })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        await mkdir(dir, { recursive: true, mode: 0o700 })
        await writeFile(path, eml, { mode: 0o600 })
      }
      opts.logger.info({ to: message.to, subject: message.subject, file: relative(process.cwd(), path) || path }, 'email written to the outbox folder (open the .eml file for its link)')
      return { messageId }
    },
  }
}
