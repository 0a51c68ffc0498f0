/**
 * Buttons and ••• menus (block_actions) through the real route: payloads built from the
 * recorded fixtures with the values our own renderer put in the list, the real core on a real
 * database, Slack played by nock.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { encodeRowAction } from '../../adapters/slack/actions.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { DAY, inviteUser, seedAccount } from '../support/factories.ts'
import {
  ALICE,
  API_ORIGIN,
  CHANNEL,
  fixture,
  fixtureText,
  formBody,
  mockPostMessage,
  mockResponseUrl,
  mockUsersInfo,
  payloadBody,
  postSigned,
  slashCommand,
  snapshotCounts,
  useSlackRouteTests,
  type Harness,
} from './support.ts'

interface Block {
  type: string
  block_id?: string
  text?: { text: string }
  accessory?: { type: string; action_id: string; value?: string; options?: { text: { text: string }; value: string }[]; confirm?: unknown }
  elements?: { type: string; action_id: string; value?: string; confirm?: unknown; text?: { text: string } }[]
}
interface Reply {
  text: string
  blocks: Block[]
  response_type?: string
  replace_original?: boolean
}

const COMMAND_URL = fixture<Record<string, string>>('slash-command.json').response_url as string
const ACTION_URL = fixture<{ response_url: string }>('block-actions-overflow.json').response_url
const BOB = 'U0BOBADMIN'

let h: Harness
let actionTs = 1732615260

useSlackRouteTests({ onHarness: (x) => (h = x) })

/** `/invite list …` as Alice; returns the rendered list. */
async function list(text = 'list'): Promise<Reply> {
  const replies: Reply[] = []
  mockUsersInfo(ALICE)
  mockResponseUrl(COMMAND_URL, replies)
  await postSigned(h.base, formBody(slashCommand(text, { trigger_id: `trigger-${Math.random()}` })))
  await h.router.idle()
  const reply = replies[0]
  if (!reply) throw new Error('no list reply')
  return reply
}

function row(reply: Reply, email: string): Block {
  const block = reply.blocks.find((b) => b.block_id?.includes('|row-') && b.text?.text.includes(email))
  if (!block) throw new Error(`no row for ${email}`)
  return block
}

function menuOption(block: Block, label: string): { text: { text: string }; value: string } {
  const option = block.accessory?.options?.find((o) => o.text.text === label)
  if (!option) throw new Error(`no option ${label}`)
  return option
}

/** An overflow click, shaped like the recorded fixture, on `option` of `block`. */
function overflowClick(block: Block, option: { text: { text: string }; value: string }, user = ALICE) {
  const payload = structuredClone(fixture<{ user: { id: string; username: string }; actions: Record<string, unknown>[] }>('block-actions-overflow.json'))
  payload.user.id = user
  payload.actions[0] = { ...payload.actions[0], block_id: block.block_id, selected_option: { text: { type: 'plain_text', text: option.text.text, emoji: true }, value: option.value }, action_ts: `${actionTs++}.000100` }
  return payload
}

/** A button click, shaped like the recorded fixture; by default in the ephemeral list message. */
function buttonClick(blockId: string, element: { action_id: string; value?: string }, user = ALICE, responseUrl: string | null = ACTION_URL) {
  const payload = structuredClone(fixture<{ user: { id: string }; response_url: string; actions: Record<string, unknown>[] }>('block-actions-button.json'))
  payload.user.id = user
  if (responseUrl) payload.response_url = responseUrl
  payload.actions[0] = { ...payload.actions[0], block_id: blockId, action_id: element.action_id, value: element.value, action_ts: `${actionTs++}.000200` }
  return payload
}

async function click(payload: unknown): Promise<{ status: number; text: string }> {
  const res = await postSigned(h.base, payloadBody(payload))
  await h.router.idle()
  return res
}

async function outboxCount(): Promise<number> {
  const [row] = await h.deps.db('email_outbox').count<{ n: string }[]>({ n: '*' })
  return Number(row?.n)
}

/** A second Active administrator, Slack user BOB, email bob.admin@acme.test. */
async function secondAdmin(): Promise<void> {
  const { token } = await inviteUser(h.deps, h.seed, 'bob.admin@acme.test', { firstName: 'Bob', lastName: 'Admin', groups: ['Administrators'] })
  const accepted = await acceptInvitation(h.deps, { token, firstName: 'Bob', lastName: 'Admin', password: 'Str0ng!pass', passwordConfirmation: 'Str0ng!pass', termsAccepted: true })
  if (!accepted.ok) throw new Error(`accept: ${accepted.code}`)
}

describe('the list', () => {
  it('renders the Users page: Joined cell and exactly the applicable actions per row', async () => {
    await inviteUser(h.deps, h.seed, 'old@acme.test')
    h.deps.clock.advance(8 * DAY)
    await inviteUser(h.deps, h.seed, 'new@acme.test')
    const reply = await list()
    expect(reply.response_type).toBe('ephemeral')
    expect(row(reply, 'old@acme.test').text?.text).toContain('Invitation expired · 3 Dec')
    expect(row(reply, 'new@acme.test').text?.text).toContain('Invited · expires in 7 days')
    expect(row(reply, 'admin@acme.test').text?.text).toContain('Joined 26 Nov')
    expect(row(reply, 'old@acme.test').accessory?.options?.map((o) => o.text.text)).toEqual(['Send new invitation', 'Edit groups', 'Remove user…'])
    expect(row(reply, 'new@acme.test').accessory?.options?.map((o) => o.text.text)).toEqual(['Resend invitation', 'Copy invitation link', 'Edit groups', 'Remove user…'])
    // Values carry ids only: never an email, never a link secret.
    for (const o of row(reply, 'new@acme.test').accessory?.options ?? []) expect(o.value).toMatch(/^[a-z]+\|[A-Za-z0-9_-]{22}(\|[A-Za-z0-9_-]{22}(\|[0-9]+)?)?$/)
  })

  it('filters by status and pages with prev/next, updating the message in place', async () => {
    for (let i = 0; i < 12; i++) await inviteUser(h.deps, h.seed, `user${String(i).padStart(2, '0')}@acme.test`)
    const first = await list()
    expect(first.text).toContain('page 1 of 2')
    const paging = first.blocks.find((b) => b.block_id?.endsWith('|paging'))
    const next = paging?.elements?.find((e) => e.action_id === 'inviteops.list.next')
    expect(next).toBeDefined()

    const updates: Reply[] = []
    mockResponseUrl(ACTION_URL, updates, 2)
    await click(buttonClick(paging!.block_id!, next!))
    expect(updates[0]?.replace_original).toBe(true)
    expect(updates[0]?.text).toContain('page 2 of 2')

    const select = structuredClone(fixture<{ response_url: string }>('block-actions-static-select.json'))
    select.response_url = ACTION_URL // the same ephemeral list message
    await click(select)
    expect(updates[1]?.replace_original).toBe(true)
    expect(updates[1]?.text).toContain('Users (Invitation expired): 0')
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('••• menu actions', () => {
  it('regenerate: one effect, confirmed in the channel, the list updated; a double click and a second admin are told', async () => {
    await secondAdmin()
    await inviteUser(h.deps, h.seed, 'carol@acme.test', { firstName: 'Carol', lastName: 'Jones' })
    h.deps.clock.advance(8 * DAY)
    const reply = await list()
    const target = row(reply, 'carol@acme.test')
    const payload = overflowClick(target, menuOption(target, 'Send new invitation'))
    const updates: Reply[] = []
    const posted: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates, 2)
    mockPostMessage(posted)
    const before = await outboxCount()

    const res = await click(payload)
    expect(res.status).toBe(200)
    expect(posted).toHaveLength(1)
    expect(posted[0]?.text).toBe(`<@${ALICE}> sent a new invitation to carol@acme.test, valid until 11 Dec`)
    expect(updates[0]?.replace_original).toBe(true)
    expect(JSON.stringify(updates[0]?.blocks)).toContain(`New invitation sent to carol@acme.test by <@${ALICE}>, valid until 11 Dec`)
    expect(row(updates[0]!, 'carol@acme.test').text?.text).toContain('Invited · expires in 7 days')
    expect(await outboxCount()).toBe(before + 1)

    // The same payload delivered again: acknowledged, nothing runs.
    const counts = await snapshotCounts(h.deps)
    expect((await click(payload)).status).toBe(200)
    expect(await snapshotCounts(h.deps)).toEqual(counts)

    // Another administrator clicks the same (stale) menu: told what already happened.
    mockUsersInfo(BOB, { real_name: 'Bob Admin' }, { email: 'bob.admin@acme.test', display_name: 'bob' })
    await click(overflowClick(target, menuOption(target, 'Send new invitation'), BOB))
    expect(JSON.stringify(updates[1]?.blocks)).toContain('A new invitation was already sent to carol@acme.test by admin@acme.test')
    expect(await outboxCount()).toBe(before + 1)
    expect(posted).toHaveLength(1)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('two administrators clicking at once: one new link, one email, one confirmation', async () => {
    await secondAdmin()
    await inviteUser(h.deps, h.seed, 'dave@acme.test')
    h.deps.clock.advance(8 * DAY)
    const target = row(await list(), 'dave@acme.test')
    const option = menuOption(target, 'Send new invitation')
    mockUsersInfo(BOB, {}, { email: 'bob.admin@acme.test' })
    const updates: Reply[] = []
    const posted: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates, 2)
    mockPostMessage(posted)
    mockPostMessage(posted) // offered, must stay unused
    const before = await outboxCount()
    await Promise.all([postSigned(h.base, payloadBody(overflowClick(target, option))), postSigned(h.base, payloadBody(overflowClick(target, option, BOB)))])
    await h.router.idle()
    expect(await outboxCount()).toBe(before + 1)
    expect(posted).toHaveLength(1)
    const [pendingLinks] = await h.deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where({ 'users.email': 'dave@acme.test', state: 'pending' }).count<{ n: string }[]>({ n: '*' })
    expect(Number(pendingLinks?.n)).toBe(1)
    const banners = updates.map((u) => JSON.stringify(u.blocks))
    expect(banners.filter((b) => b.includes('already sent'))).toHaveLength(1)
  })

  it('copy link: shown only to the clicker, in a new ephemeral message; nothing in the channel', async () => {
    await inviteUser(h.deps, h.seed, 'erin@acme.test')
    const target = row(await list(), 'erin@acme.test')
    const updates: Reply[] = []
    mockResponseUrl(ACTION_URL, updates)
    await click(overflowClick(target, menuOption(target, 'Copy invitation link')))
    expect(updates[0]?.response_type).toBe('ephemeral')
    expect(updates[0]?.replace_original).toBe(false)
    expect(JSON.stringify(updates[0])).toMatch(/invite\.test\/invitations\/[A-Za-z0-9_-]{20,}/)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('remove asks first (Block Kit confirm), then removes and updates the list; cancel changes nothing', async () => {
    await inviteUser(h.deps, h.seed, 'frank@acme.test')
    const target = row(await list(), 'frank@acme.test')
    const updates: Reply[] = []
    const posted: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates, 4)
    mockPostMessage(posted)

    await click(overflowClick(target, menuOption(target, 'Remove user…')))
    const prompt = updates[0]!
    expect(prompt.replace_original).toBe(true)
    const actions = prompt.blocks.find((b) => b.type === 'actions')!
    const removeButton = actions.elements!.find((e) => e.action_id === 'inviteops.remove.confirmed')!
    expect(removeButton.confirm).toMatchObject({ title: { text: 'Remove user?' }, confirm: { text: 'Remove' }, deny: { text: 'Cancel' }, style: 'danger' })
    const frank = () => h.deps.db('users').where({ email: 'frank@acme.test' }).first<{ status: string }>('status')
    expect((await frank())?.status).toBe('invited')

    // Cancel: back to the list, nothing removed.
    const cancel = actions.elements!.find((e) => e.action_id === 'inviteops.remove.cancel')!
    await click(buttonClick(actions.block_id!, cancel))
    expect(updates[1]?.text).toContain('Users (All users)')
    expect((await frank())?.status).toBe('invited')

    // Confirm.
    await click(buttonClick(actions.block_id!, removeButton))
    expect((await frank())?.status).toBe('removed')
    expect(posted[0]?.text).toBe(`<@${ALICE}> removed frank@acme.test from the account`)
    expect(updates[2]?.replace_original).toBe(true)
    expect(row(updates[2]!, 'frank@acme.test').text?.text).toContain('Removed')
  })

  it('edit groups opens a modal; submitting it edits, confirms in the channel and refreshes the list', async () => {
    await inviteUser(h.deps, h.seed, 'gina@acme.test', { groups: ['Members'] })
    const target = row(await list(), 'gina@acme.test')
    const views: Record<string, unknown>[] = []
    nock(API_ORIGIN)
      .post('/api/views.open', (b: Record<string, unknown>) => {
        views.push(b)
        return true
      })
      .reply(200, { ok: true, view: { id: 'V1' } })
    await click(overflowClick(target, menuOption(target, 'Edit groups')))
    expect(views).toHaveLength(1)
    const view = JSON.parse(String(views[0]?.view)) as { callback_id: string; private_metadata: string; blocks: { element?: { options: unknown[]; initial_options: { value: string }[] } }[] }
    expect(view.callback_id).toBe('inviteops.edit')
    expect(view.blocks[1]?.element?.initial_options.map((o) => o.value)).toEqual(['Members'])

    const submission = structuredClone(fixture<{ view: { private_metadata: string } }>('view-submission-edit.json'))
    submission.view.private_metadata = view.private_metadata
    const updates: Reply[] = []
    const posted: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates)
    mockPostMessage(posted)
    const res = await click(submission)
    expect(res.status).toBe(200)
    expect(posted[0]?.text).toBe(`<@${ALICE}> changed the groups of gina@acme.test to Engineering`)
    expect(row(updates[0]!, 'gina@acme.test').text?.text).toContain('Engineering')
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a refused edit is shown in the modal, nothing changes', async () => {
    await inviteUser(h.deps, h.seed, 'hank@acme.test', { groups: ['Members'] })
    const hank = await h.deps.db('users').where({ email: 'hank@acme.test' }).first<{ id: string }>('id')
    mockUsersInfo(ALICE)
    const submission = structuredClone(fixture<{ view: { private_metadata: string; state: { values: Record<string, Record<string, { selected_options: unknown[] }>> } } }>('view-submission-edit.json'))
    submission.view.private_metadata = JSON.stringify({ userId: hank!.id, channelId: CHANNEL, responseUrl: ACTION_URL, list: null })
    submission.view.state.values.groups!.groups!.selected_options = []
    const before = await snapshotCounts(h.deps)
    const res = await click(submission)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ response_action: 'errors', errors: { groups: expect.stringContaining('at least one group') } })
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
  })
})

describe('the show card', () => {
  it('its buttons act and the card updates in place', async () => {
    await inviteUser(h.deps, h.seed, 'jane@acme.test')
    const card = await list('show jane@acme.test')
    const actions = card.blocks.find((b) => b.type === 'actions')!
    expect(actions.elements!.map((e) => e.action_id)).toEqual(['inviteops.do.resend', 'inviteops.do.link', 'inviteops.do.edit', 'inviteops.remove.confirmed'])
    const updates: Reply[] = []
    const posted: Record<string, unknown>[] = []
    mockResponseUrl(ACTION_URL, updates)
    mockPostMessage(posted)
    h.deps.clock.advance(DAY)
    await click(buttonClick(actions.block_id!, actions.elements![0]!))
    expect(posted[0]?.text).toBe(`<@${ALICE}> resent the invitation to jane@acme.test, valid until 4 Dec`)
    expect(updates[0]?.replace_original).toBe(true)
    expect(updates[0]?.blocks[0]).toMatchObject({ type: 'header', text: { text: 'jane@acme.test' } })
    expect(JSON.stringify(updates[0])).toContain('Invitation resent to jane@acme.test')
  })
})

describe('notice buttons', () => {
  it('regenerate from an "expired" notice replaces the notice (buttons gone); a non-admin click changes nothing', async () => {
    const { user } = await inviteUser(h.deps, h.seed, 'ivy@acme.test')
    h.deps.clock.advance(8 * DAY)
    const value = encodeRowAction({ action: 'regenerate', userId: user.id, invitationId: user.invitation!.id })
    const updates: Reply[] = []
    mockResponseUrl(fixture<{ response_url: string }>('block-actions-button.json').response_url, updates, 2)

    // A member who is not an administrator: told privately, the notice stays.
    mockUsersInfo('U0MEMBER', {}, { email: 'member@acme.test' })
    await click(buttonClick('inviteops|reply|notice', { action_id: 'inviteops.do.regenerate', value }, 'U0MEMBER', null))
    expect(updates[0]?.replace_original).toBe(false)
    expect(updates[0]?.response_type).toBe('ephemeral')
    expect(updates[0]?.text).toContain('Only an active administrator')

    mockUsersInfo(ALICE)
    const posted: Record<string, unknown>[] = []
    mockPostMessage(posted)
    await click(buttonClick('inviteops|reply|notice', { action_id: 'inviteops.do.regenerate', value }, ALICE, null))
    expect(updates[1]?.replace_original).toBe(true)
    expect(updates[1]?.blocks.some((b) => b.type === 'actions')).toBe(false)
    expect(updates[1]?.text).toContain(`New invitation sent to ivy@acme.test by <@${ALICE}>, valid until 11 Dec`)
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('malformed interactivity', () => {
  it('bad JSON in `payload` → 400 with a clear message, nothing changes', async () => {
    const before = await snapshotCounts(h.deps)
    const res = await postSigned(h.base, fixtureText('payload-bad-json.txt'))
    expect(res.status).toBe(400)
    expect(res.text).toContain('not valid JSON')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('a payload without `user` → 400 naming it, nothing changes', async () => {
    const payload = fixture<Record<string, unknown>>('block-actions-overflow.json')
    delete payload.user
    const before = await snapshotCounts(h.deps)
    const res = await postSigned(h.base, payloadBody(payload))
    expect(res.status).toBe(400)
    expect(res.text).toContain('`user`')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('an unknown action_id is answered privately, nothing changes', async () => {
    mockUsersInfo(ALICE)
    const updates: Reply[] = []
    mockResponseUrl(ACTION_URL, updates)
    const payload = fixture<{ actions: Record<string, unknown>[] }>('block-actions-overflow.json')
    payload.actions[0]!.action_id = 'someone_elses_button'
    const before = await snapshotCounts(h.deps)
    expect((await click(payload)).status).toBe(200)
    expect(updates[0]?.text).toContain('not one I know')
    expect(updates[0]?.replace_original).toBe(false)
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('a value naming another account’s invitation is refused harmlessly, the other account untouched', async () => {
    const other = await seedAccount(h.deps, { adminEmail: 'admin@other.test' })
    await connectChat(h.deps.db, { platform: 'slack', externalId: 'T0OTHERWS', accountId: other.account.id, channelId: null })
    const { user } = await inviteUser(h.deps, other, 'victim@other.test')
    h.deps.clock.advance(8 * DAY)
    mockUsersInfo(ALICE)
    const updates: Reply[] = []
    mockResponseUrl(ACTION_URL, updates)
    const payload = fixture<{ actions: { selected_option: { value: string } }[] }>('block-actions-overflow.json')
    payload.actions[0]!.selected_option.value = encodeRowAction({ action: 'regenerate', userId: user.id, invitationId: user.invitation!.id })
    const before = await snapshotCounts(h.deps)
    expect((await click(payload)).status).toBe(200)
    expect(updates[0]?.text).toContain('cannot find that user in this account')
    // The core looked the id up in this account only; the refused attempt is audited, nothing else moves.
    expect(await snapshotCounts(h.deps)).toEqual({ ...before, audit_log: before.audit_log! + 1 })
    expect(await h.deps.db('audit_log').orderBy('at', 'desc').first('result_code', 'ok')).toEqual({ result_code: 'user.not_found', ok: false })
    const states = await h.deps.db('invitations').where({ user_id: user.id }).pluck<string[]>('state')
    expect(states).toEqual(['pending'])
  })

  it('a value that is not ours (tampered) is answered without touching anything', async () => {
    mockUsersInfo(ALICE)
    const updates: Reply[] = []
    mockResponseUrl(ACTION_URL, updates)
    const payload = fixture<{ actions: { selected_option: { value: string } }[] }>('block-actions-overflow.json')
    payload.actions[0]!.selected_option.value = "regenerate|'; DROP TABLE users; --"
    const before = await snapshotCounts(h.deps)
    expect((await click(payload)).status).toBe(200)
    expect(updates[0]?.text).toContain('does not carry what I expected')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })
})
