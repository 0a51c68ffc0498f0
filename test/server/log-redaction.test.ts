/**
 * No link secret in any log line or metric label, whatever the spelling of the path: the real
 * HTTP app with the invitee pages, the production logger (pino at debug level) writing into
 * memory, and a real link requested in every spelling a client can send.
 */
import { request } from 'node:http'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { Writable } from 'node:stream'
import express from 'express'
import fc from 'fast-check'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createInviteeRouter } from '../../adapters/web/router.ts'
import { canonicalPath, linkToken, redactInvitationUrl, redactRequestPath } from '../../src/invitations/links.ts'
import { createHttpApp } from '../../src/server/http.ts'
import { createLogger } from '../../src/server/logger.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { inviteUser, makeDeps, seedAccount, type TestDeps } from '../support/factories.ts'

let db: TestDatabase
let deps: TestDeps
let server: Server
let base: { host: string; port: number }
const lines: string[] = []

/** Every line pino writes, kept in memory. */
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
    done()
  },
})

/** A request with the path exactly as given: fetch would normalise dot segments and case-fold nothing. */
function raw(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...base, method, path, headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `token` with every `step`-th character percent-encoded (`%41` for `A`). */
function partlyEncoded(token: string, step = 3): string {
  return [...token].map((c, i) => (i % step === 0 ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)).join('')
}

beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.close())

beforeEach(async () => {
  await truncateAll(db.knex)
  lines.length = 0
  deps = makeDeps(db.knex, { logger: createLogger({ level: 'debug', destination: sink }) })
  // A route that fails with the URL in its error message, as a library's error might.
  const failing = express.Router()
  failing.use((req) => {
    throw new Error(`could not serve ${req.originalUrl}`)
  })
  const { app } = createHttpApp({
    db: deps.db,
    logger: deps.logger,
    registry: new Registry(),
    mounts: [
      { path: '/', router: createInviteeRouter(deps, { lookupLimit: { max: 1000, windowMs: 60_000 } }) },
      { path: '/boom', router: failing },
    ],
  })
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = { host: '127.0.0.1', port: (server.address() as AddressInfo).port }
})
afterEach(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('no link secret in the logs or the metrics, whatever the spelling', () => {
  it('every spelling of a real link leaves no trace of its token', async () => {
    const seed = await seedAccount(deps)
    const { token } = await inviteUser(deps, seed, 'bob@acme.test')
    const spellings = [
      `/invitations/${token}`,
      `/INVITATIONS/${token}`,
      `/Invitations/${token}/`,
      `/%69nvitations/${token}`,
      `/%2569nvitations/${token}`,
      `//invitations/${token}`,
      `/invitations//${token}`,
      `/invitations/./${token}`,
      `/x/../invitations/${token}`,
      `/invitations/%2E/${token}`,
      `/invitations/${token}?x=1`,
      `/invitations/${token};a`,
      `/invitations;a/${token}`,
      `/invitations/${partlyEncoded(token)}`,
      `/invitations/${partlyEncoded(token, 2)}/accept`,
      `/%49NVITATIONS/${partlyEncoded(token)}`,
      `/invitations%2F${token}`,
      `/invitations\\${token}`,
      `/invitations/${token}%`,
      `/invitations/${token}/%E0%A4%A`,
      `/elsewhere/${token}`,
      `/elsewhere/${token}x`,
      `/boom/${token}`,
      `/boom/invitations/${partlyEncoded(token)}`,
      `/boom?next=%2Finvitations%2F${token}`,
    ]
    const statuses: Record<string, number> = {}
    for (const path of spellings) statuses[path] = (await raw('GET', path)).status
    await raw('POST', `/INVITATIONS/${token}/decline`, 'csrf=nope')
    await raw('POST', `/invitations/${token}/decline`, 'csrf=nope')

    // The link itself works; other spellings of the page's segment are not served.
    expect(statuses[`/invitations/${token}`]).toBe(200)
    expect(statuses[`/invitations/${token}?x=1`]).toBe(200)
    expect(statuses[`/invitations/${partlyEncoded(token)}`]).toBe(200)
    for (const path of [`/INVITATIONS/${token}`, `/Invitations/${token}/`, `/%69nvitations/${token}`, `//invitations/${token}`, `/x/../invitations/${token}`, `/invitations%2F${token}`]) {
      expect(statuses[path], path).toBe(404)
    }
    expect(statuses[`/boom/${token}`]).toBe(500)

    const metrics = await raw('GET', '/metrics')
    const requestLines = lines.filter((l) => l.includes('"msg":"http request"'))
    // One line per request above (the /metrics one may or may not have been written yet).
    expect(requestLines.length).toBeGreaterThanOrEqual(spellings.length + 2)
    expect(lines.some((l) => l.includes('"msg":"request failed"'))).toBe(true)
    expect(lines.some((l) => l.includes('invitee form refused'))).toBe(true)
    for (const secret of [token, token.slice(0, 16), partlyEncoded(token).slice(0, 16)]) {
      for (const line of lines) expect(line).not.toContain(secret)
      expect(metrics.text).not.toContain(secret)
    }
    expect(metrics.text).toMatch(/inviteops_http_requests_total\{route="\/invitations\/:token",status="404"\} \d+/)
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow()
  })
})

describe('the redaction rules', () => {
  const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde'

  it.each([
    [`/invitations/${TOKEN}/accept`, '/invitations/[redacted]/accept'],
    [`/INVITATIONS/${TOKEN}`, '/INVITATIONS/[redacted]'],
    [`/%69nvitations/${TOKEN}?x=1`, '/%69nvitations/[redacted]?x=1'],
    [`/x/../invitations/./${TOKEN}`, '/x/../invitations/./[redacted]'],
    ['/invitations/short-but-secret', '/invitations/[redacted]'],
    ['/invitations/assets/invitee.css?v=1', '/invitations/assets/invitee.css?v=1'],
    ['/invitations/:token/decline', '/invitations/:token/decline'],
    [`see https://x.test/invitations/${TOKEN} now`, 'see https://x.test/invitations/[redacted] now'],
    [`a token alone: ${TOKEN}.`, 'a token alone: [redacted].'],
    ['/slack/events', '/slack/events'],
    // A stack frame from src/invitations/ keeps its file and line: a file name is not a secret.
    ['at linkToken (/srv/app/src/invitations/links.ts:61:7)', 'at linkToken (/srv/app/src/invitations/links.ts:61:7)'],
    ['at file:///srv/app/src/invitations/links.ts:61:7', 'at file:///srv/app/src/invitations/links.ts:61:7'],
    ['(see /invitations/short-secret).', '(see /invitations/[redacted]'],
    ['100%', '100%'],
    ['/%E0%A4%A/%', '/%E0%A4%A/%'],
  ])('%s → %s', (input, expected) => {
    expect(redactInvitationUrl(input)).toBe(expected)
  })

  it('a request path also loses a longer run that holds a token', () => {
    expect(redactRequestPath(`/elsewhere/${TOKEN}xyz`)).toBe('/elsewhere/[redacted]')
    // In free text only the token's exact shape is cut: longer ids stay readable in logs.
    expect(redactInvitationUrl(`conversation a:${TOKEN}xyz`)).toBe(`conversation a:${TOKEN}xyz`)
    // And whatever follows `invitations` in a request path, even what no token could be.
    expect(redactRequestPath('/invitations/%E0%A4%A/accept')).toBe('/invitations/[redacted]/accept')
    expect(redactInvitationUrl('/invitations/%E0%A4%A/accept')).toBe('/invitations/%E0%A4%A/accept')
  })

  it('reads a path as a router would, for matching', () => {
    expect(canonicalPath('//%2549nvitations/./x/../T;a/?q=/a')).toBe('/invitations/t')
    expect(canonicalPath('/%E0%A4%A')).toBe('/%e0%a4%a')
  })

  it('for any token and any spelling of its URL, neither the token nor its start survives (generated)', () => {
    const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''))
    const token = fc.array(base64url, { minLength: 43, maxLength: 43 }).map((cs) => cs.join(''))
    const spelling = (s: string, enc: boolean[], upper: boolean[]) =>
      [...s].map((c, i) => (enc[i % enc.length] ? `%${c.charCodeAt(0).toString(16)}` : upper[i % upper.length] ? c.toUpperCase() : c)).join('')
    fc.assert(
      fc.property(
        token,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('', '/', '//', '/./', '/x/../'),
        fc.constantFrom('', '/', '/accept', '?x=1', ';a', '#f'),
        (t, enc, upper, prefix, suffix) => {
          const path = `${prefix}/${spelling('invitations', enc, upper)}/${spelling(t, enc, [false])}${suffix}`
          for (const out of [redactInvitationUrl(path), redactRequestPath(path), redactInvitationUrl(`GET https://h.test${path} failed`)]) {
            expect(out).not.toContain(t)
            expect(out).not.toContain(t.slice(0, 16))
          }
        },
      ),
    )
  })

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        redactInvitationUrl(s)
        redactRequestPath(s)
        canonicalPath(s)
      }),
    )
  })
})

describe('the logger scrubs values, not the serialized line', () => {
  const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde'
  const logged: string[] = []
  const memory = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
      done()
    },
  })
  const logger = createLogger({ level: 'debug', destination: memory })
  beforeEach(() => {
    logged.length = 0
  })
  const parsed = () => logged.map((l) => JSON.parse(l) as Record<string, unknown>)

  it('strings with control characters stay valid JSON, and a token behind one is still cut', () => {
    const values = {
      newline: `line1\n${TOKEN}`,
      tab: `\t${TOKEN}`,
      pathThenNewline: '/invitations/\nfoo',
      control: '\u0001',
      controlThenToken: `/invitations/\u0001${TOKEN}`,
      backslash: `C:\\invitations\\${TOKEN}`,
      quote: `"${TOKEN}"`,
    }
    logger.info(values, `message\n${TOKEN}`)
    logger.info({ nested: { list: [values] } }, 'nested')
    logger.info(`\r${TOKEN}`)
    logger.child({ binding: `\n${TOKEN}`, other: '/invitations/\nfoo' }).warn({ field: `\t${TOKEN}` }, 'child')
    logger.error({ err: new Error(`failed on\n/invitations/${TOKEN}`) }, 'error')
    logger.error(new Error(`\u0002${TOKEN}`))

    const lines = parsed() // throws on any line that is not JSON
    expect(lines).toHaveLength(6)
    for (const line of logged) expect(line).not.toContain(TOKEN)
    expect(lines[0]).toMatchObject({
      newline: 'line1\n[redacted]',
      tab: '\t[redacted]',
      pathThenNewline: '/invitations/\nfoo',
      control: '\u0001',
      controlThenToken: '/invitations/\u0001[redacted]',
      backslash: 'C:\\invitations\\[redacted]',
      quote: '"[redacted]"',
      msg: 'message\n[redacted]',
    })
    expect(lines[1]).toMatchObject({ nested: { list: [{ newline: 'line1\n[redacted]', pathThenNewline: '/invitations/\nfoo' }] } })
    expect(lines[2]).toMatchObject({ msg: '\r[redacted]' })
    expect(lines[3]).toMatchObject({ binding: '\n[redacted]', other: '/invitations/\nfoo', field: '\t[redacted]' })
    expect(lines[4]).toMatchObject({ err: { type: 'Error', message: 'failed on\n/invitations/[redacted]' } })
    expect(lines[5]).toMatchObject({ err: { message: '\u0002[redacted]' }, msg: '\u0002[redacted]' })
  })

  it('an error thrown in src/invitations/ keeps its stack frame (file and line)', () => {
    let thrown: unknown
    try {
      linkToken(undefined as unknown as Buffer, 'some-link-id')
    } catch (error) {
      thrown = error
    }
    const linksFile = fileURLToPath(new URL('../../src/invitations/links.ts', import.meta.url))
    const frame = (thrown as Error).stack?.split('\n').find((l) => l.includes(`${linksFile}:`))
    expect(frame).toMatch(/links\.ts:\d+:\d+/)
    logger.error({ err: thrown }, 'link failed')
    const [line] = parsed()
    expect((line?.err as { stack: string }).stack).toContain(frame)
  })

  it('whatever surrounds a token (generated): every line parses and the token is gone', () => {
    const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''))
    const token = fc.array(base64url, { minLength: 43, maxLength: 43 }).map((cs) => cs.join(''))
    // What may stand right next to a token without making it part of a longer run.
    const edge = fc.constantFrom('\n', '\t', '\r', '\u0001', '\u001f', ' ', '"', '\\', '/', '/invitations/', '\u2028', '\ud800')
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), edge, token, edge, fc.string({ unit: 'binary' }), (before, left, t, right, after) => {
        logged.length = 0
        const text = `${before}${left}${t}${right}${after}`
        logger.info({ field: text, deep: { list: [text] } }, text)
        logger.child({ bound: text }).error(new Error(text))
        for (const line of logged) {
          expect(() => JSON.parse(line) as unknown).not.toThrow()
          expect(line).not.toContain(t)
        }
      }),
    )
  })
})
