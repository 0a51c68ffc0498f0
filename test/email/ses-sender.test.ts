import { readFileSync } from 'node:fs'
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:net'
import nock from 'nock'
import { createSesSender } from '../../adapters/email/ses-sender.ts'
import { EmailSendError } from '../../src/ports/email.ts'
import type { EmailMessage } from '../../src/ports/email.ts'

/**
 * Drives the real @aws-sdk/client-ses against SES's query API intercepted by nock: the request is
 * the one the SDK really signs and form-encodes, the responses are SES's XML bodies
 * (test/email/fixtures/ses). Each case pins how an SES answer becomes a worker decision.
 */
const SES = 'https://email.eu-west-1.amazonaws.com'
const fixture = (name: string) => readFileSync(new URL(`./fixtures/ses/${name}.xml`, import.meta.url), 'utf8')
const QUOTA_WAIT = 15 * 60_000

function sender() {
  return createSesSender({
    quotaWaitMs: QUOTA_WAIT,
    configurationSet: 'inviteops-events',
    clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } },
  })
}

const message: EmailMessage = {
  id: '42',
  to: 'invitee@example.com',
  from: 'InviteOps <no-reply@example.com>',
  subject: 'Join Acme Ünïcode on InviteOps',
  text: 'Accept: https://app.example.com/invitations/abc',
  html: '<p>Accept: <a href="https://app.example.com/invitations/abc">here</a></p>',
  tags: { kind: 'invitation' },
}

beforeAll(() => nock.disableNetConnect())
afterAll(() => nock.enableNetConnect())
afterEach(() => nock.cleanAll())

async function sendExpectingError(): Promise<EmailSendError> {
  const error: unknown = await sender().send(message).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(EmailSendError)
  return error as EmailSendError
}

/** One reply for one request; counts requests so a hidden SDK retry would show. */
function replyOnce(status: number, body: string) {
  let calls = 0
  const scope = nock(SES)
    .post('/')
    .times(5)
    .reply(() => {
      calls += 1
      return [status, body, { 'content-type': 'text/xml' }]
    })
  return { scope, calls: () => calls }
}

describe('SES sender: request shape', () => {
  it('sends a signed SendEmail query request with both bodies, UTF-8, the configuration set and tags, and returns the MessageId', async () => {
    let form: URLSearchParams | null = null
    let auth = ''
    const scope = nock(SES)
      .post('/', (body: string) => {
        form = new URLSearchParams(body)
        return true
      })
      .reply(function () {
        auth = String(this.req.headers.authorization)
        return [200, fixture('send-email-ok'), { 'content-type': 'text/xml' }]
      })
    const sent = await sender().send(message)
    expect(sent.messageId).toBe('0102018c2f9b1a2b-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f-000000')
    expect(scope.isDone()).toBe(true)
    const f = form as URLSearchParams | null
    expect(f).not.toBeNull()
    expect(Object.fromEntries(f!.entries())).toEqual({
      Action: 'SendEmail',
      Version: '2010-12-01',
      Source: 'InviteOps <no-reply@example.com>',
      'Destination.ToAddresses.member.1': 'invitee@example.com',
      'Message.Subject.Data': 'Join Acme Ünïcode on InviteOps',
      'Message.Subject.Charset': 'UTF-8',
      'Message.Body.Text.Data': message.text,
      'Message.Body.Text.Charset': 'UTF-8',
      'Message.Body.Html.Data': message.html,
      'Message.Body.Html.Charset': 'UTF-8',
      ConfigurationSetName: 'inviteops-events',
      'Tags.member.1.Name': 'outbox_id',
      'Tags.member.1.Value': '42',
      'Tags.member.2.Name': 'kind',
      'Tags.member.2.Value': 'invitation',
    })
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request/)
  })

  it('honours the SDK variables AWS_REGION, AWS_ENDPOINT_URL_SES and the credentials chain', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_REGION: 'us-west-2',
      AWS_ENDPOINT_URL_SES: 'http://ses.internal.test:4566',
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: 'secret-from-env',
    })
    try {
      let auth = ''
      const scope = nock('http://ses.internal.test:4566')
        .post('/')
        .reply(function () {
          auth = String(this.req.headers.authorization)
          return [200, fixture('send-email-ok'), { 'content-type': 'text/xml' }]
        })
      const s = createSesSender({ quotaWaitMs: QUOTA_WAIT })
      await s.send(message)
      expect(scope.isDone()).toBe(true)
      expect(auth).toContain('Credential=AKIDFROMENV/')
      expect(auth).toContain('/us-west-2/ses/aws4_request')
    } finally {
      process.env = saved
    }
  })
})

describe('SES sender: each SES answer becomes one worker decision, with exactly one HTTP request (retries are ours)', () => {
  const cases: { fixture: string; status: number; kind: EmailSendError['kind']; vendorCode: string }[] = [
    { fixture: 'throttling-rate', status: 400, kind: 'retry', vendorCode: 'Throttling' },
    { fixture: 'throttling-daily-quota', status: 400, kind: 'quota', vendorCode: 'Throttling' },
    { fixture: 'message-rejected', status: 400, kind: 'reject', vendorCode: 'MessageRejected' },
    { fixture: 'mail-from-not-verified', status: 400, kind: 'reject', vendorCode: 'MailFromDomainNotVerifiedException' },
    { fixture: 'account-sending-paused', status: 400, kind: 'paused', vendorCode: 'AccountSendingPausedException' },
    { fixture: 'internal-failure', status: 500, kind: 'retry', vendorCode: 'InternalFailure' },
  ]
  for (const c of cases) {
    it(`${c.fixture} (${c.status}) → ${c.kind}`, async () => {
      const r = replyOnce(c.status, fixture(c.fixture))
      const error = await sendExpectingError()
      expect(error.kind).toBe(c.kind)
      expect(error.vendorCode).toBe(c.vendorCode)
      expect(r.calls()).toBe(1)
      if (c.kind === 'quota') expect(error.retryAfterMs).toBe(QUOTA_WAIT)
      else expect(error.retryAfterMs).toBeUndefined()
    })
  }

  it('503 with a non-XML body (a load balancer page) → retry', async () => {
    const r = replyOnce(503, '<html><body>Service Unavailable</body></html>')
    const error = await sendExpectingError()
    expect(error.kind).toBe('retry')
    expect(r.calls()).toBe(1)
  })

  it('a network error (connection refused: nothing listens) → retry', async () => {
    // A real refused connection on loopback: nock's replyWithError never settles the SDK's
    // request on Node 20, and a real socket error is the more honest test anyway.
    const port = await closedPort()
    nock.enableNetConnect('127.0.0.1')
    const s = createSesSender({
      quotaWaitMs: QUOTA_WAIT,
      clientConfig: { region: 'eu-west-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
    })
    const error: unknown = await s.send(message).then(
      () => null,
      (e: unknown) => e,
    )
    nock.disableNetConnect()
    expect(error).toBeInstanceOf(EmailSendError)
    expect((error as EmailSendError).kind).toBe('retry')
    expect((error as EmailSendError).vendorCode).toBe('Error')
  })
})

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
