/**
 * The activity's envelope is checked before botbuilder runs: what botbuilder reads to answer
 * (`serviceUrl`) and what it copies into every reply (`channelId`, `locale`, `conversation`,
 * `from`/`recipient`, `id`), plus the ids that end up in connector URLs and headers. A malformed
 * envelope gets a 400 with a short body and nothing runs (no row, no connector call), instead of
 * a 500 from botbuilder or a turn whose reply fails after the work was done. (With an App ID,
 * authentication comes first: auth.test.ts.)
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { inviteUser } from '../support/factories.ts'
import { CHANNEL_CONVERSATION, TEAM_ID, cardOf, cardSubmit, cardText, channelText, mockMember, mockReplies, post, snapshotCounts, useTeamsRouteTests, type Activity, type Harness, type Sent } from './support.ts'

const MALFORMED = { status: 400, text: '{"error":"The activity is malformed."}' }

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

/** Posts `activity`; expects the 400, no row changed and no connector call (none is mocked: the network is closed). */
async function refused(activity: unknown): Promise<void> {
  const before = await snapshotCounts(h.deps)
  expect(await post(h.base, activity)).toEqual(MALFORMED)
  expect(await snapshotCounts(h.deps)).toEqual(before)
  expect(nock.pendingMocks()).toEqual([])
}

/** A channel message with `patch` merged into one of its parts (`from`, `conversation`…) or set at the top. */
function withField(path: string, value: unknown, base: Activity = channelText('list')): Activity {
  const [top, inner] = path.split('.') as [string, string | undefined]
  if (inner === undefined) return { ...base, [top]: value }
  return { ...base, [top]: { ...(base[top] as Record<string, unknown>), [inner]: value } }
}

describe('serviceUrl', () => {
  it.each(['message', 'conversationUpdate', 'invoke', 'installationUpdate'])('a non-string serviceUrl on a %s: 400, nothing runs (botbuilder would throw: a 500)', async (type) => {
    for (const serviceUrl of [{}, [], 42, null, true]) await refused({ ...channelText('list'), type, serviceUrl })
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a URL', 'smba.trafficmanager.net/amer/'],
    ['another scheme', 'ftp://smba.trafficmanager.net/amer/'],
    ['plain http to a remote host', 'http://smba.trafficmanager.net/amer/'],
    ['with credentials', 'https://user:secret@smba.trafficmanager.net/amer/'],
    ['with a space', 'https://smba.trafficmanager.net/amer /'],
    ['outside ASCII', 'https://smba.trafficmanager.net/amér/'],
    ['too long', `https://smba.trafficmanager.net/${'a'.repeat(2000)}`],
  ])('%s: 400, nothing runs', async (_name, serviceUrl) => {
    await refused({ ...channelText('list'), serviceUrl })
  })

  it('plain http to a loopback host is the Emulator (no App ID): accepted', async () => {
    for (const serviceUrl of ['http://localhost:3978/', 'http://127.0.0.1:9/amer/', 'http://[::1]:9/']) {
      expect(await post(h.base, { ...channelText(''), type: 'conversationUpdate', serviceUrl })).toEqual({ status: 200, text: '' })
    }
  })
})

describe('ids that go into connector URLs and headers', () => {
  it.each([
    // Outside Latin-1: Node cannot put it in the reply's x-ms-conversation-id header.
    ['conversation.id', 'Ā'],
    ['conversation.id', '19:abc@thread.tacv2\n'],
    ['from.id', '29:Ā'],
    ['recipient.id', '28:bot\u0000'],
    ['id', '1795687200123é'],
    ['replyToId', 'Ā'],
    ['conversation.id', ''],
    ['from.id', 42],
    ['id', { n: 1 }],
  ])('%s = %j: 400, nothing runs', async (path, value) => {
    await refused(withField(path, value))
  })

  it('a card click whose replyToId (the card to update) is not ASCII: 400, nothing runs', async () => {
    await refused(cardSubmit({ inviteops: 'list', filter: 'all', page: 1 }, 'card-Ā'))
  })
})

describe('fields botbuilder copies into every reply', () => {
  it.each([
    ['from.name', 5],
    ['recipient.name', { first: 'Invite' }],
    ['from.aadObjectId', []],
    ['conversation.isGroup', 'yes'],
    ['conversation.conversationType', 1],
    ['conversation.tenantId', {}],
    ['channelId', 7],
    ['from', 'alice'],
    ['conversation', ['19:abc']],
  ])('%s = %j (its serializer would fail the reply): 400, nothing runs', async (path, value) => {
    await refused(withField(path, value))
  })

  it.each([42, { tag: 'en-US' }, ['en-US'], 'en US', 'en-US\n', '<script>'])('an unreadable locale (%j) is dropped: the user gets the answer', async (locale) => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const sent: Sent[] = []
    const member = mockMember(TEAM_ID)
    const reply = mockReplies(sent, CHANNEL_CONVERSATION)
    const res = await post(h.base, channelText('list', { locale }))
    expect(res.status).toBe(200)
    expect(member.isDone()).toBe(true)
    expect(reply.isDone()).toBe(true)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.body.text ?? '').not.toContain('Something went wrong')
    expect(cardText(cardOf(sent[0]))).toContain('bob@acme.test')
    expect(sent[0]?.body).not.toHaveProperty('locale')
  })

  it('a readable locale is passed on to the reply', async () => {
    const sent: Sent[] = []
    const member = mockMember(TEAM_ID)
    const reply = mockReplies(sent, CHANNEL_CONVERSATION)
    expect((await post(h.base, channelText('list', { locale: 'fr-FR' }))).status).toBe(200)
    expect(member.isDone() && reply.isDone()).toBe(true)
    expect(sent[0]?.body.locale).toBe('fr-FR')
  })

  it('a well-formed activity still runs, its accounts as sent (names outside ASCII are fine)', async () => {
    const sent: Sent[] = []
    const member = mockMember(TEAM_ID)
    const reply = mockReplies(sent, CHANNEL_CONVERSATION)
    const activity = channelText('list')
    activity.from = { ...activity.from, name: 'Ālice Ådmin 🦊' }
    expect((await post(h.base, activity)).status).toBe(200)
    expect(member.isDone() && reply.isDone()).toBe(true)
    expect(sent[0]?.body.recipient).toMatchObject({ id: activity.from.id, name: 'Ālice Ådmin 🦊' })
    expect(sent[0]?.body.conversation).toMatchObject({ id: CHANNEL_CONVERSATION })
  })
})
