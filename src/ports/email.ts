/**
 * The port every email transport implements (file, SES). The outbox worker calls `send` after
 * the transaction that enqueued the email has committed (docs/reliability.md).
 */
export interface EmailMessage {
  /** Outbox row id: transports may use it as an idempotency hint or a header. */
  id: string
  to: string
  from: string
  subject: string
  text: string
  html: string
  /** Extra headers / tags a transport may attach (e.g. SES configuration set tags). */
  tags?: Record<string, string>
}

export interface SentEmail {
  /** The transport's own id for the message (SES MessageId, or the .eml file name). */
  messageId: string
}

/** What the worker hands a transport with each message. */
export interface SendOptions {
  /**
   * Aborted when the worker's deadline for this send has passed. A transport that talks to a
   * network must pass it on (the SDK's `abortSignal`, fetch's `signal`) so a hung connection is
   * torn down rather than left open; the worker stops waiting at the deadline either way.
   */
  signal?: AbortSignal
}

export interface EmailSender {
  readonly name: string
  send(message: EmailMessage, options?: SendOptions): Promise<SentEmail>
}

/**
 * How the worker must treat a failed send. Transports translate their vendor errors into one
 * of these; anything else thrown is treated as `retry` (an outage, not a verdict).
 *  - retry:  throttling, 5xx, network: try again with backoff
 *  - quota:  daily quota exhausted: wait until `retryAfterMs` (the window reopens)
 *  - reject: this message will never be accepted (MessageRejected, unverified sender): park it
 *  - paused: the whole sending account is paused: stop sending, raise an alarm
 */
export type EmailFailureKind = 'retry' | 'quota' | 'reject' | 'paused'

export class EmailSendError extends Error {
  readonly kind: EmailFailureKind
  readonly retryAfterMs: number | undefined
  /** The vendor's error name (e.g. `MessageRejected`), for the stored reason. */
  readonly vendorCode: string | undefined
  /**
   * The provider did not answer in time (connect or request deadline). Always `retry`: the
   * message may or may not have been accepted, and a second copy carries the same link.
   */
  readonly timedOut: boolean

  constructor(kind: EmailFailureKind, message: string, opts: { retryAfterMs?: number; vendorCode?: string; cause?: unknown; timedOut?: boolean } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'EmailSendError'
    this.kind = kind
    this.retryAfterMs = opts.retryAfterMs
    this.vendorCode = opts.vendorCode
    this.timedOut = opts.timedOut ?? false
  }
}
