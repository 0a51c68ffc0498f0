import express, { Router } from 'express'
import type { Request, Response } from 'express'
import type { Deps } from '../../src/deps.ts'
import { recordDeliveryEvent } from '../../src/email/record-delivery-event.ts'
import type { DeliveryFeedback } from '../../src/email/record-delivery-event.ts'
import {
  createFetchHttpGet,
  createSnsVerifier,
  isTrustedSnsUrl,
  sesAnyNotificationSchema,
  sesBounceSchema,
  sesComplaintSchema,
  snsEnvelopeSchema,
  snsHostForTopic,
} from './sns.ts'
import type { HttpGet, SnsEnvelope, SnsVerdict } from './sns.ts'

export interface SesNotificationsRouterOptions {
  /** SES_SNS_TOPIC_ARN: messages from any other topic are refused. */
  topicArn: string
  /** How certificates and SubscribeURL are fetched (tests intercept; default native fetch). */
  httpGet?: HttpGet
  /** Deadline of one such fetch when `httpGet` is not given (default `SNS_FETCH_TIMEOUT_MS`, 5 s). */
  fetchTimeoutMs?: number
  /** Clock for the certificate's validity window (real time by default: certificates live in real time). */
  now?: () => Date
}

/**
 * `POST /ses/notifications` (mount the router at that path): SES bounce and complaint feedback
 * delivered by an SNS HTTPS subscription. Verify → parse → use case → answer:
 *  - 400 malformed body, 403 not provably from our topic, 503 certificate unreachable (SNS retries)
 *  - SubscriptionConfirmation: confirmed by GET SubscribeURL (only an SNS host of our region)
 *  - Bounce / Complaint: handed to `recordDeliveryEvent`; other SES notifications are acknowledged.
 * Forged or malformed requests change nothing: verification happens before any write.
 */
export function createSesNotificationsRouter(deps: Deps, options: SesNotificationsRouterOptions): Router {
  const httpGet = options.httpGet ?? createFetchHttpGet({ timeoutMs: options.fetchTimeoutMs })
  const verifier = createSnsVerifier({ topicArn: options.topicArn, httpGet, now: options.now ?? (() => new Date()) })
  const snsHost = snsHostForTopic(options.topicArn)
  const logger = deps.logger.child({ route: 'ses-notifications' })
  const router = Router()

  // SNS posts JSON as `text/plain; charset=UTF-8`: read every body as text, whatever it claims.
  router.post('/', express.text({ type: () => true, limit: '300kb' }), async (req: Request, res: Response) => {
    const body: unknown = req.body
    let json: unknown
    try {
      json = typeof body === 'string' ? JSON.parse(body) : undefined
    } catch {
      json = undefined
    }
    const parsed = snsEnvelopeSchema.safeParse(json)
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'refused: not an SNS message')
      res.status(400).json({ error: 'not an SNS message' })
      return
    }
    const m = parsed.data
    const headerType = req.get('x-amz-sns-message-type')
    if (headerType !== undefined && headerType !== m.Type) {
      res.status(400).json({ error: 'x-amz-sns-message-type does not match the body' })
      return
    }
    const verdict = await verifier.verify(m)
    if (!verdict.ok) {
      const status = statusFor(verdict)
      logger.warn({ snsMessageId: m.MessageId, type: m.Type, reason: verdict.reason }, 'refused SNS message')
      res.status(status).json({ error: verdict.reason })
      return
    }
    await handleVerified(m, res)
  })

  async function handleVerified(m: SnsEnvelope, res: Response): Promise<void> {
    switch (m.Type) {
      case 'SubscriptionConfirmation': {
        if (!snsHost || !isTrustedSnsUrl(m.SubscribeURL, snsHost, 'subscribe')) {
          logger.warn({ snsMessageId: m.MessageId }, 'refused: SubscribeURL is not our SNS region')
          res.status(403).json({ error: 'untrusted_subscribe_url' })
          return
        }
        const failure = await httpGet(m.SubscribeURL).then(
          (r) => (r.status === 200 ? null : `status ${r.status}`),
          (error: unknown) => (error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'network'),
        )
        if (failure !== null) {
          // SNS sends the confirmation again later; the URL holds the subscription's token: not logged.
          logger.warn({ snsMessageId: m.MessageId, reason: failure }, 'SNS subscription could not be confirmed')
          res.status(502).json({ error: 'subscription confirmation failed' })
          return
        }
        logger.info({ topicArn: m.TopicArn }, 'SNS subscription confirmed')
        res.status(200).json({ confirmed: true })
        return
      }
      case 'UnsubscribeConfirmation':
        // Someone unsubscribed this endpoint: say so loudly, never re-subscribe by ourselves.
        logger.warn({ topicArn: m.TopicArn }, 'SNS unsubscribed this endpoint: bounces and complaints will no longer arrive')
        res.status(200).json({ acknowledged: true })
        return
      case 'Notification':
        await handleNotification(m, res)
        return
      default: {
        const never: never = m
        throw new Error(`unhandled SNS type ${JSON.stringify(never)}`)
      }
    }
  }

  async function handleNotification(m: Extract<SnsEnvelope, { Type: 'Notification' }>, res: Response): Promise<void> {
    let inner: unknown
    try {
      inner = JSON.parse(m.Message)
    } catch {
      res.status(400).json({ error: 'Message is not an SES notification' })
      return
    }
    const any = sesAnyNotificationSchema.safeParse(inner)
    if (!any.success) {
      res.status(400).json({ error: 'Message is not an SES notification' })
      return
    }
    const type = 'notificationType' in any.data ? any.data.notificationType : any.data.eventType
    let feedback: DeliveryFeedback
    if (type === 'Bounce') {
      const b = sesBounceSchema.safeParse(inner)
      if (!b.success) {
        res.status(400).json({ error: 'malformed SES bounce' })
        return
      }
      const { bounce, mail } = b.data
      feedback = {
        eventId: m.MessageId,
        kind: 'bounce',
        suppress: bounce.bounceType !== 'Transient',
        sesMessageId: mail.messageId,
        recipients: bounce.bouncedRecipients.map((r) => ({ email: r.emailAddress, detail: r.diagnosticCode ?? r.status ?? null })),
        summary: `${bounce.bounceType}/${bounce.bounceSubType}`,
      }
    } else if (type === 'Complaint') {
      const c = sesComplaintSchema.safeParse(inner)
      if (!c.success) {
        res.status(400).json({ error: 'malformed SES complaint' })
        return
      }
      const { complaint, mail } = c.data
      feedback = {
        eventId: m.MessageId,
        kind: 'complaint',
        suppress: true,
        sesMessageId: mail.messageId,
        recipients: complaint.complainedRecipients.map((r) => ({ email: r.emailAddress, detail: null })),
        summary: complaint.complaintFeedbackType ? `complaint/${complaint.complaintFeedbackType}` : 'complaint',
      }
    } else {
      // Delivery, Send, AmazonSnsSubscriptionSucceeded…: nothing to do, and SNS must not retry.
      res.status(200).json({ ignored: type })
      return
    }
    const result = await recordDeliveryEvent(deps, feedback)
    if (!result.ok) throw new Error('recordDeliveryEvent has no refusals')
    logger.info({ snsMessageId: m.MessageId, kind: feedback.kind, ...result.value }, 'SES feedback recorded')
    res.status(200).json(result.value)
  }

  return router
}

/** One exhaustive mapping from a verdict to the HTTP answer SNS (or a forger) gets. */
function statusFor(verdict: Extract<SnsVerdict, { ok: false }>): number {
  const reason = verdict.reason
  switch (reason) {
    case 'topic_mismatch':
    case 'untrusted_cert_url':
    case 'bad_certificate':
    case 'bad_signature':
      return 403
    case 'cert_unavailable':
      return 503
    default: {
      const never: never = reason
      throw new Error(`unhandled verdict ${String(never)}`)
    }
  }
}
