/**
 * Card clicks (Action.Execute → an `adaptiveCard/action` invoke) through the real route: the list
 * card our renderer posted, a click on each row action with the data its button carries, the card
 * answered to the clicker and updated in place for everyone (`PUT …/activities/<replyToId>`), and
 * the database checked after each step. An older card's Action.Submit (a message with `value`)
 * still works.
 */
import nock from 'nock'
import { beforeEach, describe, expect, it } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { DAY, inviteUser, seedAccount } from '../support/factories.ts'
import {
  CHANNEL_CONVERSATION,
  PRIVATE_CONVERSATION,
  TEAM_ID,
  button,
  cardExecute,
  cardOf,
  cardSubmit,
  cardText,
  channelText,
  mockMember,
  mockPrivateChat,
  mockReplies,
  mockUpdate,
  post,
  row,
  snapshotCounts,
  submits,
  useTeamsRouteTests,
  type Card,
  type Harness,
  type InvokeAnswer,
  type Sent,
} from './support.ts'

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

/** The id the connector gave the list card when the bot posted it. */
const CARD_ID = '1795687201456'

/** `@InviteOps list …` in the channel; returns the list card. */
async function list(text = 'list'): Promise<Card> {
  const sent: Sent[] = []
  mockMember(TEAM_ID)
  mockReplies(sent, CHANNEL_CONVERSATION)
  await post(h.base, channelText(text))
  return cardOf(sent[0])
}

/**
 * Clicks a button (an invoke with its data, the card's inputs merged in, as Teams sends it) and
 * returns what replaced the card for everyone (`update`: the invoke was answered with the same
 * card), a card shown to the clicker alone (`ask`: a question or a form; the shared card stays),
 * or the text answered to the clicker alone (`reply`: no card changed).
 */
async function click(data: unknown, opts: { expect: 'update' | 'ask' | 'reply'; inputs?: Record<string, string>; from?: { id: string; name: string; aadObjectId: string }; member?: Record<string, unknown> } = { expect: 'update' }): Promise<Sent> {
  const sent: Sent[] = []
  const member = mockMember(TEAM_ID, opts.member ?? {}, opts.from?.id)
  const scope = opts.expect === 'update' ? mockUpdate(sent, CHANNEL_CONVERSATION, CARD_ID) : null
  const value = typeof data === 'object' && data !== null ? { ...data, ...opts.inputs } : data
  const res = await post(h.base, cardExecute(value, CARD_ID, opts.from ? { from: opts.from } : {}))
  expect(res.status).toBe(200)
  // The card's update for everyone runs after the answer: wait for the turn's work.
  await h.router.idle()
  expect(member.isDone()).toBe(true)
  const answer = JSON.parse(res.text) as InvokeAnswer
  if (scope) {
    expect(scope.isDone()).toBe(true)
    expect(answer).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: cardOf(sent[0]) })
    return sent[0]!
  }
  expect(nock.pendingMocks().filter((m) => m.startsWith('PUT'))).toEqual([])
  if (opts.expect === 'ask') {
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive')
    return { path: '', body: { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: answer.value as Card }] } }
  }
  expect(answer.type).toBe('application/vnd.microsoft.activity.message')
  return { path: '', body: { type: 'message', text: String(answer.value) } }
}

async function invitationStates(email: string): Promise<string[]> {
  return h.deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', email).orderBy('invitations.created_at').pluck<string[]>('invitations.state')
}

async function outboxCount(): Promise<number> {
  const [r] = await h.deps.db('email_outbox').count<{ n: string }[]>({ n: '*' })
  return Number(r?.n)
}

describe('the list card', () => {
  it('shows the Users page: Joined cell and exactly the applicable actions per row', async () => {
    await inviteUser(h.deps, h.seed, 'old@acme.test')
    h.deps.clock.advance(8 * DAY)
    await inviteUser(h.deps, h.seed, 'new@acme.test')
    const card = await list()
    // 1.5: Teams renders Action.Execute (Universal Actions) only there.
    expect(card.version).toBe('1.5')
    expect(cardText(row(card, 'old@acme.test'))).toContain('Invitation expired · 3 Dec')
    expect(cardText(row(card, 'new@acme.test'))).toContain('Invited · expires in 7 days')
    expect(cardText(row(card, 'admin@acme.test'))).toContain('Joined 26 Nov')
    expect(submits({ ...card, body: [row(card, 'old@acme.test')], actions: [] }).map((a) => a.title)).toEqual(['Send new invitation', 'Edit groups', 'Remove user…'])
    expect(submits({ ...card, body: [row(card, 'new@acme.test')], actions: [] }).map((a) => a.title)).toEqual(['Resend invitation', 'Copy invitation link', 'Edit groups', 'Remove user…'])
    // The regenerate button carries the expired invitation's id (the core's idempotency key).
    const old = await h.deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', 'old@acme.test').first<{ id: string }>('invitations.id')
    expect(button(row(card, 'old@acme.test'), 'Send new invitation').data).toMatchObject({ inviteops: 'row', action: 'regenerate', invitationId: old?.id, origin: { kind: 'list', filter: 'all', page: 1 } })
  })

  it('paging and the filter replace the card in place', async () => {
    for (let i = 0; i < 11; i++) await inviteUser(h.deps, h.seed, `user${i}@acme.test`)
    const first = await list()
    expect(cardText(first)).toContain('12 users · page 1 of 2')
    const next = cardOf(await click(button(first, 'Next ▶').data))
    expect(cardText(next)).toContain('page 2 of 2')
    const filtered = cardOf(await click(button(next, 'Filter').data, { expect: 'update', inputs: { filter: 'active' } }))
    expect(cardText(filtered)).toContain('Users · Active')
    expect(cardText(filtered)).toContain('1 user · page 1 of 1')
  })
})

describe('row actions', () => {
  let card: Card
  beforeEach(async () => {
    await inviteUser(h.deps, h.seed, 'old@acme.test', { firstName: 'Olive', lastName: 'Old' })
    h.deps.clock.advance(8 * DAY)
    await inviteUser(h.deps, h.seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Builder' })
  })

  it('regenerate: a new link, one email, the card updated with a banner keeping filter and page; a second click runs once', async () => {
    card = await list('list expired')
    const data = button(row(card, 'old@acme.test'), 'Send new invitation').data
    const before = await outboxCount()
    const updated = await click(data)
    const after = cardOf(updated)
    expect(updated.body.id).toBe(CARD_ID)
    expect(cardText(after)).toContain('New invitation sent to old@acme.test by **Alice Admin**, valid until 11 Dec')
    expect(cardText(after)).toContain('Users · Invitation expired')
    expect(await invitationStates('old@acme.test')).toEqual(['replaced', 'pending'])
    expect(await outboxCount()).toBe(before + 1)

    // Another click on the same (stale) button: told what happened, nothing more is sent.
    const again = cardOf(await click(data))
    expect(cardText(again)).toContain('A new invitation was already sent to old@acme.test')
    expect(await invitationStates('old@acme.test')).toEqual(['replaced', 'pending'])
    expect(await outboxCount()).toBe(before + 1)
  })

  it('resend: the same link emailed again', async () => {
    card = await list()
    const before = await outboxCount()
    const after = cardOf(await click(button(row(card, 'bob@acme.test'), 'Resend invitation').data))
    expect(cardText(after)).toContain('Invitation resent to bob@acme.test')
    expect(await outboxCount()).toBe(before + 1)
    const inv = await h.deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', 'bob@acme.test').first<{ sent_count: number }>('sent_count')
    expect(inv?.sent_count).toBe(2)
  })

  it('copy link from a channel card: the link goes to a private chat; the card is not touched', async () => {
    card = await list()
    const created: unknown[] = []
    const privately: Sent[] = []
    const chat = mockPrivateChat(created, privately)
    const told = await click(button(row(card, 'bob@acme.test'), 'Copy invitation link').data, { expect: 'reply' })
    expect(chat.isDone()).toBe(true)
    expect(privately[0]?.path).toBe(PRIVATE_CONVERSATION)
    expect(privately[0]?.body.text).toMatch(/\/invitations\/[A-Za-z0-9_-]{20,}/)
    expect(told.body.text).toContain('private chat')
    expect(JSON.stringify(told.body)).not.toContain('/invitations/')
    expect(nock.pendingMocks()).toEqual([])
  })

  it('edit: a form with the groups, for the clicker alone; Save changes them and brings the list back for everyone', async () => {
    card = await list()
    const form = cardOf(await click(button(row(card, 'bob@acme.test'), 'Edit groups').data, { expect: 'ask' }))
    const choices = form.body.find((el) => el.type === 'Input.ChoiceSet')
    const id = (name: string) => choices?.choices?.find((c) => c.title === name)?.value ?? ''
    expect(choices?.value).toBe(id('Members'))
    const saved = cardOf(await click(button(form, 'Save').data, { expect: 'update', inputs: { groups: `${id('Engineering')},${id('Administrators')}` } }))
    expect(cardText(saved)).toContain('Groups of bob@acme.test changed by **Alice Admin**: Administrators, Engineering')
    expect(cardText(saved)).toContain('Users · All users')
    const groups = await h.deps
      .db('user_groups')
      .join('groups', 'groups.id', 'user_groups.group_id')
      .join('users', 'users.id', 'user_groups.user_id')
      .where('users.email', 'bob@acme.test')
      .orderBy('groups.name')
      .pluck<string[]>('groups.name')
    expect(groups).toEqual(['Administrators', 'Engineering'])
  })

  it('remove: a confirmation card first, for the clicker alone (nothing changes), Cancel brings the list back, Remove removes', async () => {
    card = await list()
    const prompt = cardOf(await click(button(row(card, 'bob@acme.test'), 'Remove user…').data, { expect: 'ask' }))
    expect(cardText(prompt)).toContain('Remove **bob@acme.test**')
    expect(await h.deps.db('users').where({ email: 'bob@acme.test' }).first<{ status: string }>('status')).toEqual({ status: 'invited' })

    const cancelled = cardOf(await click(button(prompt, 'Cancel').data))
    expect(cardText(cancelled)).toContain('Nothing was changed.')
    expect(await h.deps.db('users').where({ email: 'bob@acme.test' }).first<{ status: string }>('status')).toEqual({ status: 'invited' })

    const removed = cardOf(await click(button(prompt, 'Remove').data))
    expect(cardText(removed)).toContain('bob@acme.test removed by **Alice Admin**')
    expect(await h.deps.db('users').where({ email: 'bob@acme.test' }).first<{ status: string }>('status')).toEqual({ status: 'removed' })
    expect(await invitationStates('bob@acme.test')).toEqual(['revoked'])
  })

  it('a click by a non-administrator is refused in a new message, audited; the card and the data stay', async () => {
    card = await list()
    const mallory = { id: '29:mallory', name: 'Mallory', aadObjectId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' }
    const before = await snapshotCounts(h.deps)
    const told = await click(button(row(card, 'old@acme.test'), 'Send new invitation').data, { expect: 'reply', from: mallory, member: { ...mallory, email: 'mallory@acme.test' } })
    expect(told.body.text).toContain('Only an active administrator')
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    expect(await invitationStates('old@acme.test')).toEqual(['pending'])
  })
  it('Cancel by a non-administrator on a shared removal prompt is refused in a new message; the card stays', async () => {
    card = await list()
    const prompt = cardOf(await click(button(row(card, 'bob@acme.test'), 'Remove user…').data, { expect: 'ask' }))
    const mallory = { id: '29:mallory', name: 'Mallory', aadObjectId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' }
    const asMallory = { expect: 'reply' as const, from: mallory, member: { ...mallory, email: 'mallory@acme.test' } }
    const before = await snapshotCounts(h.deps)
    // `click` with expect 'reply' checks that a new message went out and no PUT replaced the card.
    const toldPrompt = await click(button(prompt, 'Cancel').data, asMallory)
    expect(toldPrompt.body.text).toContain('Only an active administrator')
    expect(nock.pendingMocks().filter((m) => m.startsWith('PUT'))).toEqual([])
    const after = await snapshotCounts(h.deps)
    expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 })
    expect(after.audit_log).toBeGreaterThan(before.audit_log!) // the refused attempts are audited
  })
})

describe('an older card (Action.Submit)', () => {
  it('its click arrives as a message with `value` and still acts, updating the card in place', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const card = await list()
    const sent: Sent[] = []
    mockMember(TEAM_ID)
    const update = mockUpdate(sent, CHANNEL_CONVERSATION, CARD_ID)
    const before = await outboxCount()
    const res = await post(h.base, cardSubmit(button(row(card, 'bob@acme.test'), 'Resend invitation').data, CARD_ID))
    expect(res).toEqual({ status: 200, text: '' })
    expect(update.isDone()).toBe(true)
    expect(cardText(cardOf(sent[0]))).toContain('Invitation resent to bob@acme.test')
    expect(await outboxCount()).toBe(before + 1)
  })

  it('a refusal is a new message in the conversation (an Action.Submit has no private answer)', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const card = await list()
    const sent: Sent[] = []
    const mallory = { id: '29:mallory', name: 'Mallory', aadObjectId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' }
    mockMember(TEAM_ID, { ...mallory, email: 'mallory@acme.test' }, mallory.id)
    const replies = mockReplies(sent, CHANNEL_CONVERSATION)
    await post(h.base, cardSubmit(button(row(card, 'bob@acme.test'), 'Resend invitation').data, CARD_ID, { from: mallory }))
    expect(replies.isDone()).toBe(true)
    expect(sent[0]?.body.text).toContain('Only an active administrator')
  })
})

describe('values we did not write', () => {
  it.each([
    ['an unknown action', { inviteops: 'row', action: 'delete_everything', userId: '00000000-0000-4000-8000-000000000000', origin: { kind: 'reply' } }],
    ['a foreign card', { action: 'approve', ticket: 42 }],
    ['a malformed user id', { inviteops: 'row', action: 'resend', userId: 'bob@acme.test', origin: { kind: 'reply' } }],
  ])('%s: a polite "not one I know", nothing changes', async (_name, value) => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const before = await snapshotCounts(h.deps)
    const told = await click(value, { expect: 'reply' })
    expect(told.body.text).toContain('That button is not one I know')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('data that is not an object: refused with an error answer before anything runs (no member lookup); as an older card\'s value, "not one I know"', async () => {
    await inviteUser(h.deps, h.seed, 'bob@acme.test')
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, cardExecute('regenerate bob@acme.test', CARD_ID))
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' })
    const sent: Sent[] = []
    mockMember(TEAM_ID)
    const replies = mockReplies(sent, CHANNEL_CONVERSATION)
    await post(h.base, cardSubmit('regenerate bob@acme.test', CARD_ID))
    expect(replies.isDone()).toBe(true)
    expect(sent[0]?.body.text).toContain('That button is not one I know')
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(nock.pendingMocks()).toEqual([])
  })

  it("a value naming another account's user: cannot find that user, nothing changes there", async () => {
    // Another account, with its own expired invitation and its own tenant.
    const other = await seedAccount(h.deps, { name: 'Globex', adminEmail: 'boss@globex.test' })
    await connectChat(h.deps.db, { platform: 'teams', externalId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', accountId: other.account.id, channelId: null })
    const victim = await inviteUser(h.deps, other, 'victim@globex.test')
    h.deps.clock.advance(8 * DAY)
    const before = await snapshotCounts(h.deps)
    const told = await click({ inviteops: 'row', action: 'regenerate', userId: victim.user.id, invitationId: victim.user.invitation?.id, origin: { kind: 'list', filter: 'all', page: 1 } }, { expect: 'reply' })
    expect(told.body.text).toContain('cannot find that user')
    // The core looked the id up in this account only; the refused attempt is audited, nothing else moves.
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    expect(await invitationStates('victim@globex.test')).toEqual(['pending'])
  })
})
