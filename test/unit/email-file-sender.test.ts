import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createFileEmailSender, encodeMailbox, encodeQuotedPrintable, encodeTextBody, encodeWords, toEml } from '../../adapters/email/file-sender.ts'
import type { EmailPayload } from '../../src/email/outbox.ts'
import { renderEmail } from '../../src/email/templates.ts'
import type { EmailMessage } from '../../src/ports/email.ts'
import { silentLogger } from '../../src/ports/logger.ts'

/**
 * The file transport's .eml files: the link is found with grep, and the file is still a valid
 * MIME message. The decoder below is written from RFC 2045–2047 independently of the encoder, and
 * strict: it fails on what a lenient mail client would let pass (long lines, bare LF, a split
 * character in an encoded-word).
 */

// --- a strict reader of what toEml writes -------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** RFC 2045 §6.7, checked line by line, then decoded to text (line breaks as `\n`). */
function decodeQuotedPrintable(body: string): string {
  const lines = body.split('\r\n')
  const bytes: number[] = []
  lines.forEach((line, i) => {
    expect(line.length, line).toBeLessThanOrEqual(76)
    expect(line, 'no trailing whitespace').not.toMatch(/[ \t]$/)
    expect(line, 'only printable ASCII, =XX and a final soft break').toMatch(/^(?:[\x21-\x3c\x3e-\x7e \t]|=[0-9A-F]{2})*=?$/)
    let soft = false
    for (let j = 0; j < line.length; j++) {
      if (line[j] === '=') {
        if (j === line.length - 1) soft = true
        else {
          bytes.push(Number.parseInt(line.slice(j + 1, j + 3), 16))
          j += 2
        }
      } else bytes.push(line.charCodeAt(j))
    }
    if (!soft && i < lines.length - 1) bytes.push(0x0a)
  })
  return utf8.decode(new Uint8Array(bytes))
}

/** RFC 2047 encoded-words (B, UTF-8) in an unfolded header value; whitespace between two words is not text. */
function decodeWords(value: string): string {
  const word = /=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g
  for (const w of value.match(word) ?? []) expect(w.length, 'an encoded-word is at most 75 characters').toBeLessThanOrEqual(75)
  return value.replace(/(\?=)[ \t]+(?==\?)/g, '$1').replace(word, (_w, b64: string) => utf8.decode(Buffer.from(b64, 'base64')))
}

function parseHeaders(block: string): Record<string, string> {
  for (const line of block.split('\r\n')) expect(line, 'header lines are ASCII').toMatch(/^[\x20-\x7e\t]*$/)
  const headers: Record<string, string> = {}
  for (const line of block.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const m = /^([\x21-\x39\x3b-\x7e]+):[ \t]*(.*)$/.exec(line)
    expect(m, `a header line: ${line}`).not.toBeNull()
    headers[m![1]!.toLowerCase()] = m![2]!
  }
  return headers
}

interface ParsedPart {
  type: string
  encoding: string
  text: string
}

/** An .eml as RFC 5322 + RFC 2046 §5.1 read it: headers, boundary, and each part decoded. */
function parseEml(raw: string): { headers: Record<string, string>; parts: ParsedPart[] } {
  expect(raw.replace(/\r\n/g, ''), 'CRLF line ends only').not.toMatch(/[\r\n]/)
  for (const line of raw.split('\r\n')) expect(Buffer.byteLength(line, 'utf8'), 'RFC 5322 line limit').toBeLessThanOrEqual(998)
  const split = raw.indexOf('\r\n\r\n')
  const headers = parseHeaders(raw.slice(0, split))
  expect(headers['mime-version']).toBe('1.0')
  const boundary = /^multipart\/alternative; boundary="([^"]+)"$/.exec(headers['content-type'] ?? '')?.[1]
  expect(boundary).toBeDefined()
  const body = raw.slice(split + 4)
  const open = `--${boundary}\r\n`
  const close = `\r\n--${boundary}--\r\n`
  expect(body.startsWith(open)).toBe(true)
  expect(body.endsWith(close)).toBe(true)
  const parts = body.slice(open.length, -close.length).split(`\r\n--${boundary}\r\n`)
  return {
    headers,
    parts: parts.map((p) => {
      const end = p.indexOf('\r\n\r\n')
      const h = parseHeaders(p.slice(0, end))
      const content = p.slice(end + 4)
      const encoding = h['content-transfer-encoding'] ?? '7bit'
      expect(h['content-type']).toMatch(/; charset=utf-8$/)
      let text: string
      if (encoding === 'quoted-printable') text = decodeQuotedPrintable(content)
      else if (encoding === '7bit' || encoding === '8bit') {
        expect(content, 'no NUL or bare CR').not.toMatch(/\0|\r(?!\n)/)
        if (encoding === '7bit') expect(Buffer.byteLength(content, 'utf8'), 'ASCII only').toBe(content.length)
        text = content.replace(/\r\n/g, '\n')
      } else throw new Error(`unexpected Content-Transfer-Encoding ${encoding}`)
      return { type: h['content-type']!.split(';')[0]!, encoding, text }
    }),
  }
}

// --- the tests --------------------------------------------------------------------------------

const token = randomBytes(32).toString('base64url')
const LINK = `http://localhost:4000/invitations/${token}`
const payload: EmailPayload = {
  accountName: 'Ærøskøbing Café 東京',
  recipientFirstName: 'Zoë',
  inviterName: 'Jürgen Müller-Łukasiewicz',
  inviterEmail: 'jurgen@acme.test',
  groups: ['Members', 'Ingénierie'],
  expiresAt: '2026-12-03T10:00:00.000Z',
}

function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  const e = renderEmail('invitation', payload, LINK)
  return { id: '42', to: 'zoe@acme.test', from: 'Zoë at InviteOps <invitations@acme.test>', subject: e.subject, text: e.text, html: e.html, ...overrides }
}

let dataDir: string
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-eml-'))
})
afterAll(async () => rm(dataDir, { recursive: true, force: true }))

describe('the .eml the file transport writes', () => {
  test('holds the whole invitation link on one line, greppable, in both parts', async () => {
    const sent = await createFileEmailSender({ dataDir, logger: silentLogger }).send(message())
    const files = await readdir(join(dataDir, 'outbox'))
    expect(files).toEqual([`${sent.messageId}.eml`])
    const raw = await readFile(join(dataDir, 'outbox', files[0]!), 'utf8')
    // What `grep -o 'http[^ "<]*/invitations/[A-Za-z0-9_-]*' *.eml` finds:
    const found = raw.match(/http[^\s"<]*\/invitations\/[A-Za-z0-9_-]+/g)
    expect(found).toEqual([LINK, LINK, LINK]) // the text body, the HTML button and the HTML address
    expect(raw).toMatch(new RegExp(`^Accept or decline: ${LINK.replace(/[/.]/g, '\\$&')}$`, 'm'))
  })

  test('is valid MIME: headers, boundary, and both parts decode back to the text and HTML sent', () => {
    const m = message()
    const { headers, parts } = parseEml(toEml(m, 'id-1', new Date('2026-11-26T10:00:00Z')))
    expect(headers['to']).toBe('zoe@acme.test')
    expect(headers['date']).toBe('Thu, 26 Nov 2026 10:00:00 GMT')
    expect(headers['message-id']).toBe('<id-1@inviteops.local>')
    expect(parts.map((p) => [p.type, p.encoding])).toEqual([
      ['text/plain', '8bit'],
      ['text/html', '8bit'],
    ])
    expect(parts[0]!.text).toBe(m.text)
    expect(parts[1]!.text).toBe(m.html)
  })

  test('non-ASCII names survive: RFC 2047 in the headers, UTF-8 in the bodies', () => {
    const m = message()
    const raw = toEml(m, 'id-2', new Date())
    const { headers, parts } = parseEml(raw)
    expect(decodeWords(headers['subject']!)).toBe('You are invited to join Ærøskøbing Café 東京')
    expect(headers['from']).toMatch(/^=\?UTF-8\?B\?[^?]+\?=(?: =\?UTF-8\?B\?[^?]+\?=)* <invitations@acme\.test>$/)
    expect(decodeWords(headers['from']!)).toBe('Zoë at InviteOps <invitations@acme.test>')
    expect(parts[0]!.text).toContain('Hello Zoë,')
    expect(parts[0]!.text).toContain('Jürgen Müller-Łukasiewicz (jurgen@acme.test) invited you to join Ærøskøbing Café 東京.')
    expect(parts[1]!.text).toContain('<p>Groups: Members, Ingénierie</p>')
    // The raw file shows them as they are, too (grep for a name works).
    expect(raw).toContain('Hello Zoë,')
  })

  test('a line too long for 8bit makes its part quoted-printable, which decodes back exactly', () => {
    const groups = Array.from({ length: 60 }, (_, i) => `Équipe numéro ${i} = ${'x'.repeat(i % 7)}`)
    const e = renderEmail('invitation', { ...payload, groups }, LINK)
    expect(Math.max(...e.text.split('\n').map((l) => Buffer.byteLength(l)))).toBeGreaterThan(998)
    const raw = toEml(message({ text: e.text, html: e.html }), 'id-3', new Date())
    const { parts } = parseEml(raw)
    expect(parts.map((p) => p.encoding)).toEqual(['quoted-printable', 'quoted-printable'])
    expect(parts[0]!.text).toBe(e.text)
    expect(parts[1]!.text).toBe(e.html)
  })

  test('a short line stays 8bit even when another part needs quoted-printable; plain ASCII is 7bit', () => {
    const { parts } = parseEml(toEml(message({ text: `Accept: ${LINK}`, html: `<p>${'é'.repeat(600)}</p>` }), 'id-4', new Date()))
    expect(parts.map((p) => p.encoding)).toEqual(['7bit', 'quoted-printable'])
    expect(parts[0]!.text).toBe(`Accept: ${LINK}`)
  })

  test('headers cannot be forged through a subject, a sender or a recipient', () => {
    const raw = toEml(message({ subject: 'Hi\r\nBcc: evil@x.test', from: 'A <a@x.test>\r\nBcc: evil@x.test', to: 'b@x.test\nBcc: evil@x.test' }), 'id-5', new Date())
    expect(raw).not.toMatch(/^Bcc:/m)
    expect(parseEml(raw).headers['subject']).toBe('Hi Bcc: evil@x.test')
  })
})

describe('quoted-printable', () => {
  test.each([
    ['café', 'caf=C3=A9'],
    ['a=b', 'a=3Db'],
    ['trailing space ', 'trailing space=20'],
    ['trailing tab\t', 'trailing tab=09'],
    ['inner  spaces\tand tabs', 'inner  spaces\tand tabs'],
    ['one\ntwo\r\nthree', 'one\r\ntwo\r\nthree'],
    ['bare\rCR and NUL\0', 'bare=0DCR and NUL=00'],
    ['😀', '=F0=9F=98=80'],
  ])('%j → %j', (input, encoded) => {
    expect(encodeQuotedPrintable(input)).toBe(encoded)
  })

  test('long lines break softly at 76 characters, after a space when there is one, never inside =XX', () => {
    const words = encodeQuotedPrintable(`${'word '.repeat(40)}end`).split('\r\n')
    expect(words.length).toBeGreaterThan(1)
    for (const l of words.slice(0, -1)) expect(l).toMatch(/^(word )+=$/)
    const accents = encodeQuotedPrintable('é'.repeat(100)).split('\r\n')
    for (const l of accents) expect(l).toMatch(/^(=C3=A9)+=?$/)
    const solid = encodeQuotedPrintable('x'.repeat(200)).split('\r\n')
    expect(solid.map((l) => l.length)).toEqual([76, 76, 50])
  })

  test('any text: lines within the limits, and decoded back to the same text', () => {
    const unit = fc.oneof(fc.constantFrom(' ', '\t', '\n', '\r', '\r\n', '=', '.', '-', 'é', '😀', '\0'), fc.string({ unit: 'binary', maxLength: 3 }), fc.string({ unit: 'grapheme-ascii', maxLength: 3 }))
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 400 }), (units) => {
        const text = units.join('')
        const expected = Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8').toString('utf8')
        expect(decodeQuotedPrintable(encodeQuotedPrintable(text))).toBe(expected)
        const { encoding, body } = encodeTextBody(text)
        const decoded = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : body.replace(/\r\n/g, '\n')
        expect(decoded).toBe(expected)
      }),
      { numRuns: 300 },
    )
  })
})

describe('header words', () => {
  test('ASCII stays as it is; a long non-ASCII subject becomes several whole-character words on folded lines', () => {
    expect(encodeWords('You are invited to join Acme')).toBe('You are invited to join Acme')
    const subject = `You are invited to join ${'Ærøskøbing 東京 😀 '.repeat(8).trim()}`
    const encoded = encodeWords(subject)
    const lines = `Subject: ${encoded}`.split('\r\n')
    expect(lines.length).toBeGreaterThan(2)
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(78)
    expect(decodeWords(encoded.replace(/\r\n(?=[ \t])/g, ''))).toBe(subject) // each word alone is valid UTF-8
  })

  test.each([
    ['InviteOps <invitations@localhost>', 'InviteOps <invitations@localhost>'],
    ['invitations@acme.test', 'invitations@acme.test'],
    ['Acme, Inc. <a@acme.test>', '"Acme, Inc." <a@acme.test>'],
    ['"Acme, Inc." <a@acme.test>', '"Acme, Inc." <a@acme.test>'],
    ['<a@acme.test>', '<a@acme.test>'],
  ])('mailbox %j → %j', (input, encoded) => {
    expect(encodeMailbox(input)).toBe(encoded)
  })

  test('a non-ASCII display name is encoded, its address is not', () => {
    const encoded = encodeMailbox('"Zoë \\"Z\\" Ops" <z@acme.test>')
    expect(encoded).toMatch(/^=\?UTF-8\?B\?[^?]+\?= <z@acme\.test>$/)
    expect(decodeWords(encoded)).toBe('Zoë "Z" Ops <z@acme.test>')
  })
})
