/**
 * The gate in front of Bolt on `POST /slack/events`.
 *
 * The only signature check: Bolt's own (`signatureVerification`) is switched off behind this gate
 * (router.ts), as it would compute the same HMAC a second time and it only refuses timestamps that
 * are too old. Slack's guidance is a window of five minutes either way
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack#validating-a-request), so
 * this gate also refuses timestamps from the future, and it answers malformed bodies with a short
 * message instead of Bolt's bare 400/500, before anything reaches a handler.
 *
 * The raw body is read once here and handed to Bolt as `req.rawBody`, which its ExpressReceiver
 * reuses (the app has no global body parser: docs/security.md).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { parse as parseQueryString } from 'node:querystring'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { Logger } from '../../src/ports/logger.ts'
import { z } from 'zod'
import { BlockActionsPayload, SlackEventCallback, SlackRequestBody, SlashCommandBody, ViewSubmissionPayload } from './schemas.ts'

/** The issues of the schema the body was trying to be, so the answer can name the bad field. */
function closestIssues(body: unknown): z.core.$ZodIssue[] | null {
  const hint = z.object({ type: z.string().optional(), command: z.string().optional() }).safeParse(body)
  if (!hint.success) return null
  const byType: Record<string, z.ZodType> = { block_actions: BlockActionsPayload, view_submission: ViewSubmissionPayload, event_callback: SlackEventCallback }
  const schema = hint.data.command !== undefined ? SlashCommandBody : hint.data.type !== undefined && Object.hasOwn(byType, hint.data.type) ? byType[hint.data.type] : null
  const r = schema?.safeParse(body)
  return r && !r.success ? r.error.issues : null
}

/** Slack's replay window, both ways. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60

/** The largest body we read (Slack's payloads are a few kB; Bolt's own default is 10 MB). */
const BODY_LIMIT = '512kb'

/** `v0=` + hex(HMAC-SHA256(secret, `v0:${timestamp}:${body}`)), exactly as Slack signs. */
export function slackSignature(signingSecret: string, timestamp: string | number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch' }

/** Checks one request's signature at `nowSeconds`. Constant-time comparison. */
export function checkSlackSignature(signingSecret: string, headers: { signature: string | undefined; timestamp: string | undefined }, body: string, nowSeconds: number): SignatureCheck {
  const { signature, timestamp } = headers
  if (!signature || !timestamp) return { ok: false, reason: 'missing' }
  if (!/^\d{1,12}$/.test(timestamp) || !/^v0=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'malformed' }
  const ts = Number(timestamp)
  if (ts < nowSeconds - SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'stale' }
  if (ts > nowSeconds + SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'future' }
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, body))
  const given = Buffer.from(signature)
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'mismatch' }
}

/** Reads the exact bytes Slack signed. */
export const readRawBody: RequestHandler = express.raw({ type: () => true, limit: BODY_LIMIT })

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name]
  return typeof v === 'string' ? v : undefined
}

/**
 * Verifies, then checks the body's shape; passes the request on to Bolt only when both hold.
 * Bolt parses the body again (it needs its own objects); we only vouch for what it will see.
 */
export function createSlackGate(opts: { signingSecret: string; logger: Logger; nowMs: () => number }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const raw: unknown = req.body
    const body = Buffer.isBuffer(raw) ? raw.toString('utf8') : ''
    const check = checkSlackSignature(opts.signingSecret, { signature: header(req, 'x-slack-signature'), timestamp: header(req, 'x-slack-request-timestamp') }, body, Math.floor(opts.nowMs() / 1000))
    if (!check.ok) {
      opts.logger.warn({ reason: check.reason, ip: req.ip }, 'slack request refused: bad signature')
      res.status(401).type('text/plain').send('Slack signature verification failed.')
      return
    }
    // Bolt reuses `rawBody` instead of reading the (already consumed) stream again.
    Object.assign(req, { rawBody: Buffer.isBuffer(raw) ? raw : Buffer.alloc(0) })

    const contentType = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase()
    // Bolt parses a form only when the header is exactly `application/x-www-form-urlencoded` and
    // anything else as JSON: hand it the media type we parsed by, so both read the same body.
    if (contentType) req.headers['content-type'] = contentType
    let parsed: unknown
    if (contentType === 'application/x-www-form-urlencoded') {
      const form = parseQueryString(body)
      if (typeof form.payload === 'string') {
        try {
          parsed = JSON.parse(form.payload)
        } catch {
          res.status(400).type('text/plain').send('The `payload` field is not valid JSON: nothing was done.')
          return
        }
      } else {
        parsed = form
      }
    } else if (contentType === 'application/json') {
      try {
        parsed = JSON.parse(body)
      } catch {
        res.status(400).type('text/plain').send('The body is not valid JSON: nothing was done.')
        return
      }
    } else {
      res.status(415).type('text/plain').send('Expected a form or JSON body from Slack: nothing was done.')
      return
    }
    const shape = SlackRequestBody.safeParse(parsed)
    if (!shape.success) {
      const issues = closestIssues(parsed) ?? shape.error.issues
      const where = issues[0]?.path.join('.') || 'body'
      opts.logger.warn({ issues: issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'slack request refused: unexpected shape')
      res.status(400).type('text/plain').send(`This request is not one InviteOps understands (problem at \`${where}\`): nothing was done.`)
      return
    }
    next()
  }
}
