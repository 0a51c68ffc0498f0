import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses'
import type { SESClientConfig } from '@aws-sdk/client-ses'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { EmailSendError } from '../../src/ports/email.ts'
import { SES_CONNECT_TIMEOUT_MS, SES_REQUEST_TIMEOUT_MS } from './config.ts'
import type { EmailMessage, EmailSender, SendOptions, SentEmail } from '../../src/ports/email.ts'

/**
 * Amazon SES (v1 API, `SendEmail`) behind the `EmailSender` port.
 *
 * Region, endpoint (`AWS_ENDPOINT_URL_SES`) and credentials come from the SDK's own resolution
 * chain, so operators configure it exactly as AWS documents. The SDK's retries are switched off
 * (`maxAttempts: 1`): the outbox worker owns retries, backoff and the global send rate, and a
 * hidden SDK retry would both break the rate limit and blur the error we must classify.
 *
 * Every request has a deadline. The SDK's default HTTP handler has none: an endpoint that
 * accepts the TCP connection and never answers holds the call forever. So the client gets a
 * connect deadline and a whole-request deadline (`throwOnRequestTimeout`, without which the
 * SDK only logs a warning), and the worker's own deadline arrives as an abort signal on top.
 */
export interface SesSenderOptions {
  /** SES configuration set (SES_CONFIGURATION_SET): event publishing, dedicated IPs. */
  configurationSet?: string | undefined
  /** How long a "Daily message quota exceeded" holds every send (SES_QUOTA_WAIT). */
  quotaWaitMs: number
  /** How long opening the connection may take (SES_CONNECT_TIMEOUT, default 3 s). */
  connectTimeoutMs?: number
  /** How long one request, from sending to the whole answer, may take (SES_REQUEST_TIMEOUT, default 5 s). */
  requestTimeoutMs?: number
  /** Extra client settings (tests pass credentials/endpoint; production passes nothing). */
  clientConfig?: SESClientConfig
  /** A ready client, for tests that want to inspect it. Wins over `clientConfig`. */
  client?: SESClient
}

/** Builds the SES transport. The client is created once and reused (connection pooling). */
export function createSesSender(options: SesSenderOptions): EmailSender & { client: SESClient } {
  const connectionTimeout = options.connectTimeoutMs ?? SES_CONNECT_TIMEOUT_MS
  const requestTimeout = options.requestTimeoutMs ?? SES_REQUEST_TIMEOUT_MS
  const client =
    options.client ??
    new SESClient({
      ...options.clientConfig,
      maxAttempts: 1,
      // After the spread: no caller setting can take the deadlines away.
      requestHandler: new NodeHttpHandler({ connectionTimeout, requestTimeout, throwOnRequestTimeout: true }),
    })
  return {
    name: 'ses',
    client,
    async send(message: EmailMessage, sendOptions: SendOptions = {}): Promise<SentEmail> {
      const command = new SendEmailCommand({
        Source: message.from,
        Destination: { ToAddresses: [message.to] },
        Message: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.text, Charset: 'UTF-8' },
            Html: { Data: message.html, Charset: 'UTF-8' },
          },
        },
        ConfigurationSetName: options.configurationSet,
        Tags: sesTags({ outbox_id: message.id, ...message.tags }),
      })
      let out
      try {
        out = await client.send(command, sendOptions.signal ? { abortSignal: sendOptions.signal } : {})
      } catch (error) {
        throw classifySesError(error, options.quotaWaitMs)
      }
      if (!out.MessageId) {
        // A 200 without a MessageId is not a send we can trace: retry rather than record a lie.
        throw new EmailSendError('retry', 'SES answered without a MessageId', { vendorCode: 'NoMessageId' })
      }
      return { messageId: out.MessageId }
    },
  }
}

/** Errors that condemn this one message: retrying cannot help, so the worker parks it. */
const REJECT_CODES = new Set([
  'MessageRejected', // content/recipient refused, or sandbox "Email address is not verified"
  'MailFromDomainNotVerifiedException',
  'FromEmailAddressNotVerified',
  'InvalidParameterValue', // e.g. "Illegal address": this address will never be accepted
])

/**
 * Errors that stop every send until an operator acts (account or configuration set paused,
 * configuration set missing, credentials refused): sending the next email would fail the same
 * way, so the worker pauses and raises the alarm instead of burning every message's retries.
 */
const PAUSE_CODES = new Set([
  'AccountSendingPausedException',
  'ConfigurationSetSendingPausedException',
  'ConfigurationSetDoesNotExist',
  'ConfigurationSetDoesNotExistException',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
])

/**
 * Translates whatever the SDK threw into the port's vocabulary. SES reports both the per-second
 * rate and the daily quota as `Throttling`; only the message tells them apart
 * (https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html).
 * Anything unknown is `retry`: an outage must never lose an email.
 */
export function classifySesError(error: unknown, quotaWaitMs: number): EmailSendError {
  const name = error instanceof Error ? error.name : 'Unknown'
  const message = error instanceof Error ? error.message : String(error)
  const status = httpStatusOf(error)
  const opts = { vendorCode: name, cause: error }
  // Connect or request deadline (the SDK's TimeoutError), or the worker's deadline (AbortError).
  if (name === 'TimeoutError' || name === 'AbortError' || isTimeoutCode(error)) {
    return new EmailSendError('retry', `SES did not answer in time: ${message}`, { ...opts, vendorCode: 'Timeout', timedOut: true })
  }
  if (name === 'Throttling' || name === 'ThrottlingException') {
    if (/daily message quota/i.test(message)) {
      return new EmailSendError('quota', `SES daily quota exceeded: ${message}`, { ...opts, retryAfterMs: quotaWaitMs })
    }
    return new EmailSendError('retry', `SES throttled: ${message}`, opts)
  }
  if (REJECT_CODES.has(name)) return new EmailSendError('reject', `${name}: ${message}`, opts)
  if (PAUSE_CODES.has(name)) return new EmailSendError('paused', `${name}: ${message}`, opts)
  if (status !== undefined && status >= 500) return new EmailSendError('retry', `SES ${status}: ${name}: ${message}`, opts)
  return new EmailSendError('retry', `${name}: ${message}`, opts)
}

/** Node's socket-level timeouts surface as codes rather than names. */
function isTimeoutCode(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false
  return error.code === 'ETIMEDOUT' || error.code === 'ECONNABORTED' || error.code === 'UND_ERR_CONNECT_TIMEOUT'
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined
  const meta = error.$metadata
  if (typeof meta !== 'object' || meta === null || !('httpStatusCode' in meta)) return undefined
  return typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined
}

/** SES tag names and values allow ASCII letters, digits, `_` and `-` only (max 256). */
function sesTags(tags: Record<string, string>): { Name: string; Value: string }[] {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256)
  return Object.entries(tags)
    .filter(([k, v]) => k !== '' && v !== '')
    .map(([k, v]) => ({ Name: clean(k), Value: clean(v) }))
}
