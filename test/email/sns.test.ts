import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSesNotificationsRouter } from '../../adapters/email/ses-notifications-router.ts'
import { createFetchHttpGet, createSnsVerifier, isTrustedSnsUrl, snsEnvelopeSchema, snsHostForTopic, snsStringToSign } from '../../adapters/email/sns.ts'
import type { HttpGet } from '../../adapters/email/sns.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { makeDeps } from '../support/factories.ts'
import { captureLogger } from './support/capture-logger.ts'
import { CERT_ORIGIN, CERT_PATH, TOPIC_ARN, makeSigningKey, notification, signEnvelope, subscriptionConfirmation } from './support/sns-signer.ts'

const key = makeSigningKey()
const attacker = makeSigningKey('attacker.example')
const HOST = 'sns.eu-west-1.amazonaws.com'

function verifierServing(pem: string | Error, status = 200) {
  const fetched: string[] = []
  const httpGet: HttpGet = async (url) => {
    fetched.push(url)
    if (pem instanceof Error) throw pem
    return { status, body: pem }
  }
  return { verifier: createSnsVerifier({ topicArn: TOPIC_ARN, httpGet, now: () => new Date() }), fetched }
}

describe('the string SNS signs', () => {
  it('matches the AWS documentation example for a Notification (byte order, Subject included when present)', () => {
    const m = snsEnvelopeSchema.parse({
      Type: 'Notification',
      MessageId: '4d4dc071-ddbf-465d-bba8-08f81c89da64',
      TopicArn: 'arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P',
      Subject: 'My subject',
      Message: 'My Test Message',
      Timestamp: '2019-01-31T04:37:04.321Z',
      SignatureVersion: '1',
      Signature: 'AA==',
      SigningCertURL: 'https://sns.us-east-2.amazonaws.com/SimpleNotificationService-x.pem',
    })
    expect(snsStringToSign(m)).toBe(
      'Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\nSubject\nMy subject\nTimestamp\n2019-01-31T04:37:04.321Z\nTopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\nType\nNotification\n',
    )
  })

  it('signs SubscribeURL and Token for a SubscriptionConfirmation, and leaves out a missing Subject', () => {
    const m = signEnvelope(key, subscriptionConfirmation())
    if (m.Type !== 'SubscriptionConfirmation') throw new Error('fixture')
    expect(snsStringToSign(m)).toBe(
      `Message\n${m.Message}\nMessageId\n${m.MessageId}\nSubscribeURL\n${m.SubscribeURL}\nTimestamp\n${m.Timestamp}\nToken\n${m.Token}\nTopicArn\n${m.TopicArn}\nType\nSubscriptionConfirmation\n`,
    )
    const n = signEnvelope(key, notification('{}'))
    expect(snsStringToSign(n)).not.toContain('Subject\n')
  })
})

describe('which URLs may be fetched', () => {
  it('derives the region host from the topic (and .com.cn in China)', () => {
    expect(snsHostForTopic(TOPIC_ARN)).toBe(HOST)
    expect(snsHostForTopic('arn:aws-cn:sns:cn-north-1:123456789012:t')).toBe('sns.cn-north-1.amazonaws.com.cn')
    expect(snsHostForTopic('not-an-arn')).toBeNull()
  })

  const table: [string, 'cert' | 'subscribe', boolean][] = [
    [`${CERT_ORIGIN}${CERT_PATH}`, 'cert', true],
    [`http://${HOST}${CERT_PATH}`, 'cert', false], // not https
    [`https://${HOST}:8443${CERT_PATH}`, 'cert', false], // odd port
    [`https://sns.us-east-1.amazonaws.com${CERT_PATH}`, 'cert', false], // another region than the topic
    [`https://sns.eu-west-1.amazonaws.com.evil.example${CERT_PATH}`, 'cert', false],
    [`https://evil.example/sns.eu-west-1.amazonaws.com${CERT_PATH}`, 'cert', false],
    [`https://${HOST}@evil.example${CERT_PATH}`, 'cert', false], // host is evil.example
    [`https://user:pw@${HOST}${CERT_PATH}`, 'cert', false], // credentials
    [`https://${HOST}/cert.txt`, 'cert', false], // not a .pem
    [`https://s3.amazonaws.com/bucket/x.pem`, 'cert', false],
    ['not a url', 'cert', false],
    [`https://${HOST}/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=abc`, 'subscribe', true],
    [`https://${HOST}/?Action=Unsubscribe&SubscriptionArn=x`, 'subscribe', false],
    [`https://evil.example/?Action=ConfirmSubscription`, 'subscribe', false],
  ]
  it.each(table)('%s as %s → %s', (url, kind, expected) => {
    expect(isTrustedSnsUrl(url, HOST, kind)).toBe(expected)
  })
})

describe('signature verification', () => {
  it('accepts SignatureVersion 1 (SHA1) and 2 (SHA256) signed with the certificate SNS serves', async () => {
    const { verifier } = verifierServing(key.certPem)
    expect(await verifier.verify(signEnvelope(key, notification('{"a":1}'), { version: '1' }))).toEqual({ ok: true })
    expect(await verifier.verify(signEnvelope(key, notification('{"a":1}'), { version: '2' }))).toEqual({ ok: true })
    expect(await verifier.verify(signEnvelope(key, subscriptionConfirmation()))).toEqual({ ok: true })
  })

  it('fetches each certificate once (cached by URL)', async () => {
    const { verifier, fetched } = verifierServing(key.certPem)
    await verifier.verify(signEnvelope(key, notification('1')))
    await verifier.verify(signEnvelope(key, notification('2')))
    expect(fetched).toEqual([`${CERT_ORIGIN}${CERT_PATH}`])
  })

  it('refuses a message altered after signing', async () => {
    const { verifier } = verifierServing(key.certPem)
    const signed = signEnvelope(key, notification('{"bounce":"x"}'))
    expect(await verifier.verify({ ...signed, Message: '{"bounce":"y"}' })).toEqual({ ok: false, reason: 'bad_signature' })
    // Switching the version changes the hash: a v2 signature does not pass as v1.
    expect(await verifier.verify({ ...signed, SignatureVersion: '1' })).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses a forger who signs with their own key but points at the real SNS certificate', async () => {
    const { verifier } = verifierServing(key.certPem)
    expect(await verifier.verify(signEnvelope(attacker, notification('{}')))).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses a forger who points at their own certificate, without fetching it', async () => {
    const { verifier, fetched } = verifierServing(attacker.certPem)
    const forged = signEnvelope(attacker, notification('{}'), { certUrl: `https://attacker.example${CERT_PATH}` })
    expect(await verifier.verify(forged)).toEqual({ ok: false, reason: 'untrusted_cert_url' })
    expect(fetched).toEqual([])
  })

  it('refuses another topic before anything is fetched', async () => {
    const { verifier, fetched } = verifierServing(key.certPem)
    const other = signEnvelope(key, notification('{}', { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:someone-else' }))
    expect(await verifier.verify(other)).toEqual({ ok: false, reason: 'topic_mismatch' })
    expect(fetched).toEqual([])
  })

  it('tells a missing or garbage certificate (forged) from an unreachable one (retry later)', async () => {
    expect(await verifierServing('not a pem', 200).verifier.verify(signEnvelope(key, notification('{}')))).toEqual({ ok: false, reason: 'bad_certificate' })
    expect(await verifierServing('', 404).verifier.verify(signEnvelope(key, notification('{}')))).toEqual({ ok: false, reason: 'bad_certificate' })
    expect(await verifierServing('', 503).verifier.verify(signEnvelope(key, notification('{}')))).toEqual({ ok: false, reason: 'cert_unavailable' })
    expect(await verifierServing(new Error('ECONNRESET')).verifier.verify(signEnvelope(key, notification('{}')))).toEqual({ ok: false, reason: 'cert_unavailable' })
  })

  it('refuses a certificate outside its validity window', async () => {
    const httpGet: HttpGet = async () => ({ status: 200, body: key.certPem })
    const future = createSnsVerifier({ topicArn: TOPIC_ARN, httpGet, now: () => new Date(Date.now() + 365 * 86_400_000) })
    expect(await future.verify(signEnvelope(key, notification('{}')))).toEqual({ ok: false, reason: 'bad_certificate' })
  })
})

describe('deadlines on the fetches (a certificate host that accepts and never answers)', () => {
  let silent: Server
  let origin: string
  let db: TestDatabase
  let hung = 0
  beforeAll(async () => {
    // Answers the certificate path; every other path is accepted and never answered.
    silent = createServer((req, res) => {
      if (req.url === CERT_PATH) return void res.end(key.certPem)
      hung++
    })
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    db = await createTestDatabase({ migrate: false })
  })
  afterAll(async () => {
    silent.closeAllConnections()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
    await db.close()
  })

  /**
   * The real fetch with a short deadline, sent to the local server in place of SNS's host. 1 s:
   * the certificate it serves must still arrive in time on a loaded machine.
   */
  const viaSilent = (): HttpGet => {
    const get = createFetchHttpGet({ timeoutMs: 1_000 })
    return (url) => get(url.replace(`https://${HOST}`, origin))
  }

  it('the fetch itself gives up at its deadline with a plain timeout', async () => {
    await expect(createFetchHttpGet({ timeoutMs: 100 })(`${origin}/never`)).rejects.toMatchObject({ name: 'TimeoutError' })
  })

  async function serve(httpGet: HttpGet) {
    const logger = captureLogger()
    const app = express()
    app.use('/ses/notifications', createSesNotificationsRouter(makeDeps(db.knex, { logger }), { topicArn: TOPIC_ARN, httpGet }))
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ses/notifications`
    return {
      logger,
      post: async (m: unknown) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(m) })
        return { status: res.status, body: (await res.json()) as unknown }
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  }

  it('a certificate that never comes: 503 cert_unavailable (SNS delivers again later), a warning logged', async () => {
    const before = hung
    const get = createFetchHttpGet({ timeoutMs: 100 })
    const app = await serve((url) => get(url.replace(`https://${HOST}${CERT_PATH}`, `${origin}/hanging-cert.pem`)))
    try {
      expect(await app.post(signEnvelope(key, notification('{}')))).toEqual({ status: 503, body: { error: 'cert_unavailable' } })
      expect(hung).toBe(before + 1)
      expect(app.logger.lines.find((l) => l.msg === 'refused SNS message')?.fields).toMatchObject({ reason: 'cert_unavailable' })
    } finally {
      await app.close()
    }
  })

  it('a SubscribeURL that never answers: 502, a warning with the reason, not the URL', async () => {
    const before = hung
    const app = await serve(viaSilent())
    try {
      expect(await app.post(signEnvelope(key, subscriptionConfirmation()))).toEqual({ status: 502, body: { error: 'subscription confirmation failed' } })
      expect(hung).toBe(before + 1)
      const warning = app.logger.lines.find((l) => l.msg === 'SNS subscription could not be confirmed')
      expect(warning?.fields).toMatchObject({ reason: 'timeout' })
      expect(JSON.stringify(warning)).not.toContain('Token=')
    } finally {
      await app.close()
    }
  })
})
