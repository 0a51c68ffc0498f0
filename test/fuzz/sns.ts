/**
 * SNS deliveries on `POST /ses/notifications`: SES bounce, complaint and delivery notifications
 * built from the fixtures, mutated, signed with the test certificate (which nock serves at the SNS
 * certificate URL) or deliberately not, plus subscription messages and bodies that are no SNS
 * message at all.
 *
 * Whether an input must change nothing is decided on the body as built, with the adapter's own
 * schemas and a verifier over the same certificate: refused when it is no SNS message, its type
 * header contradicts it, it does not verify, or what it carries is no bounce or complaint.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { createSnsVerifier, sesAnyNotificationSchema, sesBounceSchema, sesComplaintSchema, snsEnvelopeSchema, type SnsEnvelope } from '../../adapters/email/sns.ts'
import { CERT_ORIGIN, CERT_PATH, TOPIC_ARN, notification, signEnvelope, subscriptionConfirmation } from '../email/support/sns-signer.ts'
import { applyMutations, excerpt, mutationsArb, nastyString, noMutations, rarely, type IdRef, type Json, type Mutation } from './mutate.ts'
import { unique, type Family, type Prepared } from './shared.ts'
import type { World } from './world.ts'

const SIGNS = ['valid', 'attacker', 'none', 'tampered', 'otherTopic', 'untrustedCert', 'httpCert', 'badBase64', 'unknownVersion'] as const
type Sign = (typeof SIGNS)[number]
const KINDS = ['bounce-permanent', 'bounce-transient', 'complaint', 'delivery', 'other'] as const
type Kind = (typeof KINDS)[number]

type Recipient = { sent: number } | { email: string }

export interface SnsRecipe {
  type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation'
  kind: Kind
  otherType: string
  eventType: boolean
  recipients: Recipient[]
  mail: { sent: number } | { junk: string }
  messageMutations: Mutation[]
  /** Applied before signing (so a valid signature covers them) or, when `sign` is tampered, after. */
  envelopeMutations: Mutation[]
  sign: Sign
  version: '1' | '2'
  header: 'match' | 'none' | 'other'
  subscribeUrl: string
  /** Sent instead of an envelope when not null. */
  raw: string | null
  messageNotJson: boolean
}

const fixtureText = (name: string) => readFileSync(new URL(`../email/fixtures/ses-notifications/${name}.json`, import.meta.url), 'utf8')
const FIXTURES: Record<Exclude<Kind, 'other'>, Json> = {
  'bounce-permanent': JSON.parse(fixtureText('bounce-permanent')) as Json,
  'bounce-transient': JSON.parse(fixtureText('bounce-transient')) as Json,
  complaint: JSON.parse(fixtureText('complaint')) as Json,
  delivery: JSON.parse(fixtureText('delivery')) as Json,
}

const recipientArb: fc.Arbitrary<Recipient> = fc.oneof({ weight: 4, arbitrary: fc.nat(50).map((sent) => ({ sent })) }, { weight: 1, arbitrary: fc.oneof(fc.emailAddress(), nastyString).map((email) => ({ email })) })
const noIds: fc.Arbitrary<IdRef> = nastyString.map((text): IdRef => ({ kind: 'junk', text }))
const rawArb = fc.oneof(
  fc.constantFrom('', 'Type=Notification&Message=hi', '{}', 'null', '[]', '{"Type":"Notification"}', '{"Type":"SubscriptionConfirmation","SubscribeURL":"https://attacker.example/"}'),
  nastyString,
  fc.jsonValue({ maxDepth: 4 }).map((j) => JSON.stringify(j)),
  fc.integer({ min: 100_000, max: 400_000 }).map((n) => JSON.stringify({ Type: 'Notification', Message: 'x'.repeat(n) })),
)

/** Mostly intact (so most signed messages reach the use case), sometimes mutated. */
const fewMutations = fc.oneof({ weight: 4, arbitrary: noMutations }, { weight: 1, arbitrary: mutationsArb(noIds) })

function recipeArb(sign: fc.Arbitrary<Sign>, kind: fc.Arbitrary<Kind>, raw: fc.Arbitrary<string | null>): fc.Arbitrary<SnsRecipe> {
  return fc.record({
    type: fc.oneof({ weight: 8, arbitrary: fc.constant('Notification' as const) }, { weight: 1, arbitrary: fc.constantFrom('SubscriptionConfirmation' as const, 'UnsubscribeConfirmation' as const) }),
    kind,
    otherType: fc.oneof(fc.constantFrom('Send', 'Open', 'Click', 'Reject', 'DeliveryDelay', 'Rendering Failure', 'AmazonSnsSubscriptionSucceeded'), nastyString),
    eventType: rarely(4),
    recipients: fc.array(recipientArb, { minLength: 1, maxLength: 4 }),
    mail: fc.oneof({ weight: 5, arbitrary: fc.nat(50).map((sent) => ({ sent })) }, { weight: 1, arbitrary: nastyString.map((junk) => ({ junk })) }),
    messageMutations: fewMutations,
    envelopeMutations: fewMutations,
    sign,
    version: fc.constantFrom('1' as const, '2' as const),
    header: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('match' as const, 'none' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
    subscribeUrl: fc.constantFrom(
      `${CERT_ORIGIN}/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=abc`,
      `${CERT_ORIGIN}/?Action=Unsubscribe`,
      'https://attacker.example/?Action=ConfirmSubscription',
      'http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription',
      'https://sns.eu-west-1.amazonaws.com:8443/?Action=ConfirmSubscription',
      'https://user:pw@sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription',
      'not a url',
    ),
    raw,
    messageNotJson: rarely(25),
  })
}

export const snsNotifications: Family<SnsRecipe> = {
  name: 'sns notification',
  refused: fc.oneof(
    { weight: 4, arbitrary: recipeArb(fc.constantFrom(...SIGNS.filter((s) => s !== 'valid')), fc.constantFrom(...KINDS), fc.constant(null)) },
    // Correctly signed, carrying nothing to act on.
    { weight: 2, arbitrary: recipeArb(fc.constant('valid' as const), fc.constantFrom('delivery' as const, 'other' as const), fc.constant(null)) },
    { weight: 1, arbitrary: recipeArb(fc.constant('valid' as const), fc.constantFrom(...KINDS), rawArb) },
  ),
  mayChange: recipeArb(fc.oneof({ weight: 6, arbitrary: fc.constant('valid' as const) }, { weight: 1, arbitrary: fc.constantFrom(...SIGNS) }), fc.constantFrom(...KINDS), fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: rawArb })),
  async prepare(r, world) {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=UTF-8' }
    let body: string
    let type: string | undefined
    if (r.raw !== null) {
      body = r.raw
    } else {
      const envelope = buildEnvelope(r, world)
      body = JSON.stringify(envelope)
      type = typeof envelope.Type === 'string' ? envelope.Type : undefined
    }
    // A header value fetch can send at all (a mutated Type may hold control characters).
    if (r.header === 'match' && type !== undefined && /^[\x20-\x7e]{0,200}$/.test(type)) headers['x-amz-sns-message-type'] = type
    if (r.header === 'other') headers['x-amz-sns-message-type'] = type === 'Notification' ? 'SubscriptionConfirmation' : 'Notification'
    return {
      refusedBecause: await refusal(body, headers['x-amz-sns-message-type'], world),
      describe: `POST /ses/notifications [${r.raw === null ? r.sign : 'raw'}] ${JSON.stringify(headers)} ${excerpt(body)}`,
      send: async () => (await fetch(`${world.sesBase}/ses/notifications`, { method: 'POST', headers, body })).status,
    } satisfies Prepared
  },
}

function sesMessage(r: SnsRecipe, world: World): string {
  if (r.messageNotJson) return `{"notificationType":"Bounce",${r.kind}`
  const sent = (i: number) => world.sentEmails[i % world.sentEmails.length]!
  const emails = r.recipients.map((x) => ('sent' in x ? sent(x.sent).email : x.email))
  const messageId = 'sent' in r.mail ? sent(r.mail.sent).messageId : r.mail.junk
  let message: { [key: string]: Json }
  if (r.kind === 'other') {
    message = { notificationType: r.otherType, mail: { messageId, timestamp: '2026-11-26T10:00:01.000Z', destination: emails } }
  } else {
    message = structuredClone(FIXTURES[r.kind]) as { [key: string]: Json }
    const mail = message.mail as { [key: string]: Json }
    mail.messageId = messageId
    mail.destination = emails
    if (r.kind === 'complaint') (message.complaint as { [key: string]: Json }).complainedRecipients = emails.map((emailAddress) => ({ emailAddress }))
    else if (r.kind !== 'delivery') {
      const bounce = message.bounce as { [key: string]: Json; bouncedRecipients: { [key: string]: Json }[] }
      const template = bounce.bouncedRecipients[0]!
      bounce.bouncedRecipients = emails.map((emailAddress) => ({ ...template, emailAddress }))
      bounce.feedbackId = `fuzz-feedback-${unique()}`
    }
  }
  if (r.eventType) {
    message.eventType = message.notificationType!
    delete message.notificationType
  }
  return JSON.stringify(applyMutations(message, r.messageMutations, (id) => (id.kind === 'junk' ? id.text : '')))
}

function buildEnvelope(r: SnsRecipe, world: World): { [key: string]: Json } {
  const topic = r.sign === 'otherTopic' ? 'arn:aws:sns:eu-west-1:123456789012:someone-else' : TOPIC_ARN
  const id = `fuzz-${unique()}-0000-4000-8000-000000000000`
  type Unsigned = Parameters<typeof signEnvelope>[1]
  const unsigned: Unsigned =
    r.type === 'Notification'
      ? notification(sesMessage(r, world), { TopicArn: topic, MessageId: id })
      : ({ ...subscriptionConfirmation({ SubscribeURL: r.subscribeUrl, TopicArn: topic }), Type: r.type, MessageId: id } as Unsigned)
  const tampered = r.sign === 'tampered'
  const before = tampered ? unsigned : (applyMutations(unsigned as unknown as Json, r.envelopeMutations, () => '') as unknown as Unsigned)
  const certUrl = r.sign === 'untrustedCert' ? `https://attacker.example${CERT_PATH}` : r.sign === 'httpCert' ? `http://sns.eu-west-1.amazonaws.com${CERT_PATH}` : undefined
  const key = r.sign === 'attacker' ? world.attackerKey : world.snsKey
  // The test signer writes each field into the string to sign; a field a mutation made no string
  // (which the route refuses before any signature check) is signed as its JSON.
  const printable = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])) as unknown as Unsigned
  const meta = signEnvelope(key, printable, { version: r.version, ...(certUrl ? { certUrl } : {}) })
  let signed: { [key: string]: Json } = { ...(before as unknown as { [key: string]: Json }), SignatureVersion: meta.SignatureVersion, Signature: meta.Signature, SigningCertURL: meta.SigningCertURL }
  if (tampered) {
    // After signing: a changed signed field must fail verification (the route decides which did).
    signed = applyMutations(signed, r.envelopeMutations.length > 0 ? r.envelopeMutations : [{ op: 'replace', at: 1, value: 'changed' }], () => '') as { [key: string]: Json }
  }
  if (r.sign === 'none') {
    delete signed.Signature
    delete signed.SignatureVersion
  }
  if (r.sign === 'badBase64') signed.Signature = '!!!not base64!!!'
  if (r.sign === 'unknownVersion') signed.SignatureVersion = '3'
  return signed
}

/** Why the route cannot change data for this body, or null: the route's own checks, in its order. */
async function refusal(body: string, headerType: string | undefined, world: World): Promise<string | null> {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return 'not JSON'
  }
  const parsed = snsEnvelopeSchema.safeParse(json)
  if (!parsed.success) return 'not an SNS message'
  const m: SnsEnvelope = parsed.data
  if (headerType !== undefined && headerType !== m.Type) return 'type header contradicts the body'
  // The route fetches the certificate from a trusted URL only; nock serves ours at any of them.
  const verifier = createSnsVerifier({ topicArn: TOPIC_ARN, httpGet: async () => ({ status: 200, body: world.snsKey.certPem }), now: () => new Date() })
  const verdict = await verifier.verify(m)
  if (!verdict.ok) return `does not verify (${verdict.reason})`
  if (m.Type !== 'Notification') return `${m.Type} writes nothing`
  let inner: unknown
  try {
    inner = JSON.parse(m.Message)
  } catch {
    return 'Message is not JSON'
  }
  const any = sesAnyNotificationSchema.safeParse(inner)
  if (!any.success) return 'Message is not an SES notification'
  const type = 'notificationType' in any.data ? any.data.notificationType : any.data.eventType
  if (type === 'Bounce') return sesBounceSchema.safeParse(inner).success ? null : 'malformed bounce'
  if (type === 'Complaint') return sesComplaintSchema.safeParse(inner).success ? null : 'malformed complaint'
  return `${String(type).slice(0, 40)} notifications are ignored`
}
