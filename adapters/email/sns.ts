import { verify as verifySignature, X509Certificate } from 'node:crypto'
import { z } from 'zod'

/**
 * Amazon SNS HTTP(S) deliveries: parsing, signature verification, and the host rules that keep a
 * forged message from pointing us at its own certificate.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */

const base = {
  MessageId: z.string().min(1).max(100),
  TopicArn: z.string().min(1).max(400),
  Message: z.string().max(256 * 1024),
  Timestamp: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO timestamp'),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(4096).regex(/^[A-Za-z0-9+/=]+$/, 'base64'),
  SigningCertURL: z.string().min(1).max(2048),
}

/** The JSON body SNS posts (with `content-type: text/plain`), one shape per `Type`. */
export const snsEnvelopeSchema = z.discriminatedUnion('Type', [
  z.object({
    ...base,
    Type: z.literal('Notification'),
    Subject: z.string().max(1000).optional(),
    UnsubscribeURL: z.string().max(2048).optional(),
  }),
  z.object({
    ...base,
    Type: z.literal('SubscriptionConfirmation'),
    Token: z.string().min(1).max(2048),
    SubscribeURL: z.string().min(1).max(2048),
  }),
  z.object({
    ...base,
    Type: z.literal('UnsubscribeConfirmation'),
    Token: z.string().min(1).max(2048),
    SubscribeURL: z.string().min(1).max(2048),
  }),
])

export type SnsEnvelope = z.infer<typeof snsEnvelopeSchema>

/**
 * The string SNS signed: "name\nvalue\n" for a fixed list of keys in byte order, per message
 * type (Subject only when present). Built from our own parse, never from keys the sender chose.
 */
export function snsStringToSign(m: SnsEnvelope): string {
  const pairs: [string, string | undefined][] =
    m.Type === 'Notification'
      ? [
          ['Message', m.Message],
          ['MessageId', m.MessageId],
          ['Subject', m.Subject],
          ['Timestamp', m.Timestamp],
          ['TopicArn', m.TopicArn],
          ['Type', m.Type],
        ]
      : [
          ['Message', m.Message],
          ['MessageId', m.MessageId],
          ['SubscribeURL', m.SubscribeURL],
          ['Timestamp', m.Timestamp],
          ['Token', m.Token],
          ['TopicArn', m.TopicArn],
          ['Type', m.Type],
        ]
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}\n${v}\n`)
    .join('')
}

/**
 * The SNS endpoint host of a topic's region: `sns.<region>.amazonaws.com` (`.com.cn` in China).
 * The host pattern is the one AWS's own SDK verifiers use (`^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$`);
 * we go further and require the region of the topic we expect, so only that region's SNS counts.
 */
export function snsHostForTopic(topicArn: string): string | null {
  const m = /^arn:(aws|aws-cn|aws-us-gov):sns:([a-z0-9-]{3,}):\d{12}:[A-Za-z0-9_-]+$/.exec(topicArn)
  if (!m) return null
  const [, partition, region] = m
  return `sns.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}`
}

const SNS_HOST = /^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$/

/**
 * Whether a URL from a message (SigningCertURL, SubscribeURL) is one we may fetch: https, the
 * expected SNS host, default port, no credentials; a certificate URL must also end in `.pem`.
 */
export function isTrustedSnsUrl(raw: string, expectedHost: string, kind: 'cert' | 'subscribe'): boolean {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return false
  }
  if (url.protocol !== 'https:' || url.port !== '' || url.username !== '' || url.password !== '') return false
  if (!SNS_HOST.test(url.hostname) || url.hostname !== expectedHost) return false
  if (kind === 'cert' && !url.pathname.endsWith('.pem')) return false
  if (kind === 'subscribe' && url.searchParams.get('Action') !== 'ConfirmSubscription') return false
  return true
}

/** Fetches a URL's body (the signing certificate, the subscription confirmation). Injectable. */
export type HttpGet = (url: string) => Promise<{ status: number; body: string }>

/**
 * How long fetching a signing certificate (or confirming a subscription) may take, body included.
 * SNS's own host answers in milliseconds; past a few seconds the answer is not coming, and
 * failing is safe: the delivery is answered 503 and SNS delivers it again later.
 */
export const SNS_FETCH_TIMEOUT_MS = 5_000

/** An `HttpGet` over native fetch: a deadline on the whole exchange, and no redirects (a redirect could leave SNS's host). */
export function createFetchHttpGet(opts: { timeoutMs?: number } = {}): HttpGet {
  const timeoutMs = opts.timeoutMs ?? SNS_FETCH_TIMEOUT_MS
  return async (url) => {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) })
    return { status: res.status, body: await res.text() }
  }
}

export type SnsVerdict =
  | { ok: true }
  | { ok: false; reason: 'topic_mismatch' | 'untrusted_cert_url' | 'bad_certificate' | 'bad_signature' }
  /** We could not fetch the certificate (network, SNS 5xx): not a verdict, SNS should retry. */
  | { ok: false; reason: 'cert_unavailable' }

export interface SnsVerifierOptions {
  /** SES_SNS_TOPIC_ARN: the only topic whose messages count. */
  topicArn: string
  httpGet: HttpGet
  /** For the certificate's validity window. */
  now: () => Date
}

/**
 * Verifies SNS messages. Certificates are cached by URL (SNS rotates them by publishing a new
 * URL), so a burst of bounces costs one fetch. The cache is bounded so forged URLs cannot grow it
 * (and a forged URL never reaches it: the host check comes first).
 */
export function createSnsVerifier(options: SnsVerifierOptions): { verify(m: SnsEnvelope): Promise<SnsVerdict> } {
  const expectedHost = snsHostForTopic(options.topicArn)
  if (!expectedHost) throw new Error(`SES_SNS_TOPIC_ARN is not an SNS topic ARN: ${options.topicArn}`)
  const cache = new Map<string, X509Certificate>()

  async function certificate(url: string): Promise<X509Certificate | 'unavailable' | 'bad'> {
    const cached = cache.get(url)
    if (cached) return cached
    let res
    try {
      res = await options.httpGet(url)
    } catch {
      return 'unavailable'
    }
    if (res.status >= 500) return 'unavailable'
    if (res.status !== 200) return 'bad'
    let cert: X509Certificate
    try {
      cert = new X509Certificate(res.body)
    } catch {
      return 'bad'
    }
    if (cache.size >= 16) cache.clear()
    cache.set(url, cert)
    return cert
  }

  return {
    async verify(m) {
      if (m.TopicArn !== options.topicArn) return { ok: false, reason: 'topic_mismatch' }
      if (!isTrustedSnsUrl(m.SigningCertURL, expectedHost, 'cert')) return { ok: false, reason: 'untrusted_cert_url' }
      const cert = await certificate(m.SigningCertURL)
      if (cert === 'unavailable') return { ok: false, reason: 'cert_unavailable' }
      if (cert === 'bad') return { ok: false, reason: 'bad_certificate' }
      const now = options.now().getTime()
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return { ok: false, reason: 'bad_certificate' }
      const algorithm = m.SignatureVersion === '1' ? 'sha1' : 'sha256'
      let valid = false
      try {
        valid = verifySignature(algorithm, Buffer.from(snsStringToSign(m), 'utf8'), cert.publicKey, Buffer.from(m.Signature, 'base64'))
      } catch {
        valid = false
      }
      return valid ? { ok: true } : { ok: false, reason: 'bad_signature' }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The SES notification inside `Message` (identity feedback notifications use `notificationType`,
// configuration-set event publishing uses `eventType`; both carry the same bounce/complaint).
// https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html

const recipient = z.object({ emailAddress: z.string().min(3).max(320) }).passthrough()

const sesMail = z
  .object({
    messageId: z.string().min(1).max(200),
    timestamp: z.string().optional(),
    source: z.string().optional(),
    destination: z.array(z.string()).optional(),
  })
  .passthrough()

const bounceBody = z
  .object({
    bounceType: z.enum(['Undetermined', 'Permanent', 'Transient']),
    bounceSubType: z.string().max(100),
    bouncedRecipients: z
      .array(
        recipient.extend({
          action: z.string().optional(),
          status: z.string().optional(),
          diagnosticCode: z.string().max(2000).optional(),
        }),
      )
      .min(1)
      .max(100),
    timestamp: z.string(),
    feedbackId: z.string().min(1).max(200),
  })
  .passthrough()

const complaintBody = z
  .object({
    complainedRecipients: z.array(recipient).min(1).max(100),
    timestamp: z.string(),
    feedbackId: z.string().min(1).max(200),
    complaintFeedbackType: z.string().max(100).optional(),
  })
  .passthrough()

const typeOf = (t: string) => z.union([z.object({ notificationType: z.literal(t) }), z.object({ eventType: z.literal(t) })])

/** What we act on; anything else (Delivery, Send, Open…) is acknowledged and ignored. */
export const sesBounceSchema = z.intersection(typeOf('Bounce'), z.object({ bounce: bounceBody, mail: sesMail }))
export const sesComplaintSchema = z.intersection(typeOf('Complaint'), z.object({ complaint: complaintBody, mail: sesMail }))
/** Just enough to tell which kind of SES notification we got. */
export const sesAnyNotificationSchema = z.union([
  z.object({ notificationType: z.string().max(100) }).passthrough(),
  z.object({ eventType: z.string().max(100) }).passthrough(),
])
