import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID, sign } from 'node:crypto'
import { snsStringToSign } from '../../../adapters/email/sns.ts'
import type { SnsEnvelope } from '../../../adapters/email/sns.ts'

/** A self-signed certificate and its key, made fresh with the openssl CLI (no CA, test only). */
export interface TestSigningKey {
  certPem: string
  keyPem: string
}

export function makeSigningKey(cn = 'sns.eu-west-1.amazonaws.com'): TestSigningKey {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', `/CN=${cn}`], { stdio: 'ignore' })
    return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:inviteops-ses-feedback'
export const CERT_ORIGIN = 'https://sns.eu-west-1.amazonaws.com'
export const CERT_PATH = '/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem'

type Unsigned<T> = T extends unknown ? Omit<T, 'Signature' | 'SignatureVersion' | 'SigningCertURL'> : never

/** Signs an SNS envelope the way SNS does (SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA). */
export function signEnvelope(key: TestSigningKey, m: Unsigned<SnsEnvelope>, opts: { version?: '1' | '2'; certUrl?: string } = {}): SnsEnvelope {
  const version = opts.version ?? '2'
  const withMeta = { ...m, SignatureVersion: version, Signature: 'AA==', SigningCertURL: opts.certUrl ?? `${CERT_ORIGIN}${CERT_PATH}` } as SnsEnvelope
  const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(withMeta), 'utf8'), key.keyPem).toString('base64')
  return { ...withMeta, Signature: signature }
}

/** A Notification carrying an SES notification, shaped like SNS's real HTTP deliveries. */
export function notification(message: string, overrides: Partial<{ TopicArn: string; MessageId: string }> = {}): Unsigned<SnsEnvelope> {
  const id = overrides.MessageId ?? randomUUID()
  return {
    Type: 'Notification',
    MessageId: id,
    TopicArn: overrides.TopicArn ?? TOPIC_ARN,
    Message: message,
    Timestamp: new Date().toISOString(),
    UnsubscribeURL: `${CERT_ORIGIN}/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:6f1c9e0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b`,
  }
}

export function subscriptionConfirmation(overrides: Partial<{ SubscribeURL: string; TopicArn: string }> = {}): Unsigned<SnsEnvelope> {
  const token = '2336412f37fb687f5d51e6e2425dacbba1b6b6f8fd01b6c8d2b9f5e1e7a3c0d4'
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: randomUUID(),
    Token: token,
    TopicArn: overrides.TopicArn ?? TOPIC_ARN,
    Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: overrides.SubscribeURL ?? `${CERT_ORIGIN}/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=${token}`,
    Timestamp: new Date().toISOString(),
  }
}
