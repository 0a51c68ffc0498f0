/**
 * A name someone chose is shown in Slack as exactly that text: no forged line, no bold, italic,
 * strike or code, no block quote, no link. First through every renderer that shows a name (pure),
 * then through the real route with a row written straight into the database, as a row stored
 * before names were checked would be; and a name holding `&` round-trips through add, list and
 * show (Slack escapes `&` in command text: https://docs.slack.dev/messaging/formatting-message-text#escaping).
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { renderEditModal, renderOutcome, type SlackMessage } from '../../adapters/slack/render.ts'
import { renderNotices } from '../../adapters/slack/render-notices.ts'
import type { UserView } from '../../src/invitations/model.ts'
import { readAccountEvent, type AccountEvent } from '../../src/notices/account-events.ts'
import { HOSTILE_LAST, insertStoredHostileRow } from '../support/factories.ts'
import {
  ALICE,
  API_ORIGIN,
  fixture,
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

const HOSTILE_GROUP = 'Sales\n> *quoted* https://evil.example'

const NOW = new Date('2026-11-26T10:00:00Z')
const USER_ID = '00000000-0000-4000-8000-000000000001'
const INVITATION_ID = '00000000-0000-4000-8000-000000000101'

/** The rendered name is inert mrkdwn: one line, no markup, no raw brackets, no address to link. */
function expectInertName(region: string | undefined): void {
  expect(region, 'the name was not found where it belongs').toBeDefined()
  const name = region ?? ''
  expect(name).toMatch(/^Eve Smith /)
  expect(name).not.toMatch(/[\r\n\u2028\u2029]/)
  expect(name).not.toMatch(/[*_~`<>]/)
  expect(name).not.toMatch(/https?:\/\//)
  expect(name).not.toMatch(/evil\.example/)
  expect(name).toContain('URGENT')
  // The text typed is shown as typed: `&amp;` stays visible, `<` is an entity.
  expect(name).toContain('&amp;amp;')
  expect(name).toContain('&lt;https:')
}

/** The group name too (it may start a line, so a `>` must not open a quote). */
function expectInertGroup(region: string | undefined): void {
  const group = region ?? ''
  expect(group).toMatch(/^Sales \u00ad?&gt; /)
  expect(group).not.toMatch(/[\r\n*_~`<>]/)
  expect(group).not.toMatch(/https?:\/\/|evil\.example/)
}

interface TextObject {
  type: string
  text: string
  verbatim?: boolean
}

/** Every text object in a message or view that mentions `needle`. */
function textObjects(message: unknown, needle: string): TextObject[] {
  const found: TextObject[] = []
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk)
    else if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string' && o.text.includes(needle)) found.push(o as unknown as TextObject)
      Object.values(o).forEach(walk)
    }
  }
  walk(message)
  return found
}

/** Slack must not auto-link or auto-parse anything in a text object that holds the name. */
function expectVerbatim(message: unknown): void {
  const objects = textObjects(message, 'URGENT')
  expect(objects.length).toBeGreaterThan(0)
  for (const o of objects) {
    expect(o.text).not.toMatch(/[\r\n]URGENT|\n\S*URGENT/)
    if (o.type === 'mrkdwn') expect(o.verbatim, o.text).toBe(true)
  }
}

function hostileUser(extra: Partial<UserView> = {}): UserView {
  return {
    id: USER_ID,
    accountId: '00000000-0000-4000-8000-000000000999',
    email: 'eve@acme.test',
    firstName: 'Eve',
    lastName: HOSTILE_LAST,
    status: 'invited',
    groups: ['Members', HOSTILE_GROUP],
    joinedAt: null,
    invitation: { id: INVITATION_ID, state: 'pending', createdAt: NOW, expiresAt: new Date(NOW.getTime() + 3 * 86_400_000), invitedBy: 'admin@acme.test', sentCount: 1, lastSentAt: NOW, delivery: { status: 'bounced', detail: `550 see https://evil.example\n*now*`, messageId: 'm1' } },
    actions: ['resend', 'link', 'edit', 'remove'],
    ...extra,
  }
}

const ctx = { now: NOW, actorUserId: ALICE }

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((b) => (b.type === 'section' ? [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)] : b.type === 'context' ? b.elements.map((e) => ('text' in e ? e.text : '')) : []))
}

describe('every Slack view that shows a name keeps it inert', () => {
  it('show: the Name field is one line of plain text, groups too', () => {
    const reply = renderOutcome({ kind: 'show', user: hostileUser(), history: [] }, ctx).reply!
    const nameField = sectionTexts(reply).find((t) => t.startsWith('*Name*\n'))
    expect(nameField?.split('\n')).toHaveLength(2)
    expectInertName(nameField?.slice('*Name*\n'.length))
    const groupsField = sectionTexts(reply).find((t) => t.startsWith('*Groups*\n'))
    expect(groupsField?.split('\n')).toHaveLength(2)
    expectInertGroup(groupsField?.slice('*Groups*\n'.length).split(', ')[1])
    // The bounce detail is text from elsewhere: inert as well.
    const emailField = sectionTexts(reply).find((t) => t.startsWith('*Email*\n'))
    expect(emailField?.split('\n')).toHaveLength(2)
    expect(emailField).not.toMatch(/https?:\/\/|\*now\*/)
    expectVerbatim(reply)
  })

  it('list: a row stays three lines (address and name, groups, Joined cell)', () => {
    const reply = renderOutcome({ kind: 'list', filter: 'all', page: 1, pageCount: 1, total: 1, pageSize: 50, users: [hostileUser()] }, ctx).reply!
    const row = sectionTexts(reply).find((t) => t.startsWith('*eve@acme.test*'))
    const lines = row?.split('\n') ?? []
    expect(lines).toHaveLength(3)
    expectInertName(lines[0]?.split(' · ')[1])
    expectInertGroup(lines[1]?.split(', ')[1])
    expectVerbatim(reply)
  })

  it('remove: the confirmation names them inertly', () => {
    const reply = renderOutcome({ kind: 'confirm_remove', user: hostileUser() }, ctx).reply!
    const text = sectionTexts(reply).find((t) => t.startsWith(':warning: Remove'))
    expectInertName(/^:warning: Remove \*eve@acme\.test\* \(([\s\S]*)\) from the account\?/.exec(text ?? '')?.[1])
    expectVerbatim(reply)
  })

  it('add: the channel confirmation names them inertly', () => {
    const announce = renderOutcome({ kind: 'added', user: hostileUser() }, ctx).announce!
    const [text] = sectionTexts(announce)
    expectInertName(/invited eve@acme\.test \(([\s\S]*?); Members, /.exec(text ?? '')?.[1])
    expect(announce.text).not.toMatch(/[\r\n]/)
    expectVerbatim(announce)
  })

  it('the edit modal names them inertly; group options are one line', () => {
    const view = renderEditModal(hostileUser(), [{ id: 'g1', name: HOSTILE_GROUP, isAdmin: false, memberCount: 1 }], '{}')
    const text = textObjects(view, 'URGENT')[0]?.text
    expectInertName(/^Groups of \*eve@acme\.test\* \(([\s\S]*)\)\. Every user/.exec(text ?? '')?.[1])
    for (const option of textObjects(view, 'Sales')) expect(option.text).not.toMatch(/[\r\n]/)
    expectVerbatim(view)
  })

  const stored = (type: string, payload: Record<string, unknown>, id = '1'): AccountEvent => {
    const event = readAccountEvent({ id, account_id: 'acct', type, payload, created_at: NOW })
    if (!event.ok) throw new Error(event.reason)
    return event.value
  }
  const expired = (n: number) =>
    stored('invitation.expired', { invitationId: INVITATION_ID, userId: USER_ID, email: `eve${n}@acme.test`, firstName: 'Eve', lastName: HOSTILE_LAST, invitedAt: '2026-11-16T10:00:00Z', invitedByEmail: 'admin@acme.test', expiredAt: '2026-11-23T10:00:00Z' }, String(n))
  const requested = (n: number) =>
    stored('invitation.new_requested', { userId: USER_ID, email: `eve${n}@acme.test`, firstName: 'Eve', lastName: HOSTILE_LAST, invitationId: INVITATION_ID, invitedByEmail: null, expiredAt: '2026-11-23T10:00:00Z' }, String(n + 10))
  const soon = (total: number) =>
    stored('invitations.expiring_soon', {
      day: '2026-11-26',
      total,
      invitations: Array.from({ length: total }, (_, i) => ({ invitationId: INVITATION_ID, userId: USER_ID, email: `eve${i}@acme.test`, firstName: 'Eve', lastName: HOSTILE_LAST, expiresAt: '2026-11-27T09:00:00Z', invitedByEmail: null })),
    })

  it.each([
    ['one expired invitation', [expired(1)], /^:hourglass: The invitation of \*([\s\S]*?)\* \(eve1@acme\.test\) has expired\.$/],
    ['several expired invitations', [expired(1), expired(2)], /^\*([\s\S]*?)\* \(eve1@acme\.test\)\nInvited /],
    ['one request for a new invitation', [requested(1)], /^:raising_hand: \*([\s\S]*?)\* \(eve1@acme\.test\) asked for a new invitation\.$/],
    ['several requests', [requested(1), requested(2)], /^\*([\s\S]*?)\* \(eve1@acme\.test\)\nAsked /],
    ['the daily digest of one', [soon(1)], /^:alarm_clock: The invitation of \*([\s\S]*?)\* \(eve0@acme\.test\) expires within 24 hours\.$/],
    ['the daily digest of several', [soon(2)], /^\*([\s\S]*?)\* \(eve0@acme\.test\)\nExpires /],
  ])('notices: %s', (_what, events, pattern) => {
    const notices = renderNotices(events, { now: NOW, timeZone: 'UTC' })
    expect(notices).toHaveLength(1)
    const message = notices[0]!.message
    const region = sectionTexts(message)
      .map((t) => pattern.exec(t)?.[1])
      .find((r) => r !== undefined)
    expectInertName(region)
    expect(message.text).not.toMatch(/[\r\n]/)
    expectVerbatim(message)
  })

  it('notices: a bounce message from the mail server is inert too', () => {
    const bounce = stored('email.bounced', { email: 'eve@acme.test', detail: '550 rejected\n*forged line* see https://evil.example/x', suppressed: true })
    const [notice] = renderNotices([bounce], { now: NOW, timeZone: 'UTC' })
    const [line] = sectionTexts(notice!.message)
    expect(line).toContain('bounced (550 rejected ')
    expect(line).not.toMatch(/[\r\n]|\*forged|https?:\/\//)
  })
})

// ---- through the real route ------------------------------------------------------------------

const COMMAND_URL = fixture<Record<string, string>>('slash-command.json').response_url as string

interface Reply extends SlackMessage {
  response_type?: string
}

let h: Harness
let trigger = 0

useSlackRouteTests({ onHarness: (x) => (h = x) })

/**
 * Runs slash commands as Alice (one users.info answer serves them all: it is cached); returns the
 * private replies. A change (add) answers in the channel instead, so it has no reply.
 */
async function commands(texts: string[], replyCount = texts.length): Promise<Reply[]> {
  const replies: Reply[] = []
  mockUsersInfo(ALICE)
  mockResponseUrl(COMMAND_URL, replies, replyCount)
  for (const text of texts) {
    await postSigned(h.base, formBody(slashCommand(text, { trigger_id: `trigger-hostile-${++trigger}` })))
    await h.router.idle()
  }
  expect(replies).toHaveLength(replyCount)
  return replies
}

describe('a name stored before the rule is shown inert through the real route', () => {
  it('show, list, remove and the edit modal', async () => {
    await insertStoredHostileRow(h.deps, h.seed)
    const [show, list, remove] = await commands(['show eve@acme.test', 'list', 'remove eve@acme.test'])

    const nameField = sectionTexts(show!).find((t) => t.startsWith('*Name*\n'))
    expectInertName(nameField?.slice('*Name*\n'.length))
    expectVerbatim(show)

    const row = list!.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*eve@acme.test*'))
    const lines = (row?.type === 'section' ? (row.text?.text ?? '') : '').split('\n')
    expect(lines).toHaveLength(3)
    expectInertName(lines[0]?.split(' · ')[1])
    expectVerbatim(list)

    expectInertName(/\(([\s\S]*)\) from the account\?/.exec(sectionTexts(remove!).join('\n'))?.[1])
    expectVerbatim(remove)
    // Asking is not removing.
    expect((await h.deps.db('users').where({ email: 'eve@acme.test' }).first<{ status: string }>('status'))?.status).toBe('active')

    // "Edit groups" from the row's ••• menu opens the modal through views.open.
    if (row?.type !== 'section' || row.accessory?.type !== 'overflow') throw new Error('no menu on the row')
    const edit = row.accessory.options.find((o) => o.text.text === 'Edit groups')!
    const payload = structuredClone(fixture<{ actions: Record<string, unknown>[] }>('block-actions-overflow.json'))
    payload.actions[0] = { ...payload.actions[0], block_id: row.block_id, selected_option: { text: { type: 'plain_text', text: 'Edit groups', emoji: true }, value: edit.value }, action_ts: '1732615299.000100' }
    const views: { view: string }[] = []
    nock(API_ORIGIN)
      .post('/api/views.open', (b: { view: string }) => {
        views.push(b)
        return true
      })
      .reply(200, { ok: true, view: { id: 'V1' } })
    await postSigned(h.base, payloadBody(payload))
    await h.router.idle()
    expect(views).toHaveLength(1)
    const view: unknown = JSON.parse(views[0]!.view)
    expectInertName(/\(([\s\S]*)\)\. Every user/.exec(textObjects(view, 'URGENT')[0]?.text ?? '')?.[1])
    expectVerbatim(view)
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('names typed in Slack', () => {
  it('a name with & round-trips: stored as typed, shown escaped once in mrkdwn', async () => {
    const posted: Record<string, unknown>[] = []
    mockPostMessage(posted)
    // What Slack sends when someone types: add tom@acme.test --name "Tom & Jerry"
    const [list, show] = await commands(['add <mailto:tom@acme.test|tom@acme.test> --name "Tom &amp; Jerry"', 'list', 'show tom@acme.test'], 2)
    const stored = await h.deps.db('users').where({ email: 'tom@acme.test' }).first<{ first_name: string; last_name: string }>('first_name', 'last_name')
    expect(stored).toEqual({ first_name: 'Tom', last_name: '& Jerry' })
    expect(posted[0]?.text).toBe(`<@${ALICE}> invited tom@acme.test (Tom &amp; Jerry; Members), valid until 3 Dec`)
    expect(sectionTexts(list!).find((t) => t.startsWith('*tom@acme.test*'))).toMatch(/^\*tom@acme\.test\* · Tom &amp; Jerry\n/)
    expect(sectionTexts(show!)).toContain('*Name*\nTom &amp; Jerry')
  })

  it('a literal &lt; typed in a name stays that text (Slack sends &amp;lt;)', async () => {
    mockPostMessage([])
    const [show] = await commands(['add lt@acme.test --name "Ann &amp;lt;3"', 'show lt@acme.test'], 1)
    const stored = await h.deps.db('users').where({ email: 'lt@acme.test' }).first<{ last_name: string }>('last_name')
    expect(stored?.last_name).toBe('&lt;3')
    expect(sectionTexts(show!)).toContain('*Name*\nAnn &amp;lt;3')
  })

  it('a name with a line break is refused with the reason, and nothing changes', async () => {
    const before = await snapshotCounts(h.deps)
    const [reply] = await commands(['add eve@acme.test --name "Eve Smith\n*URGENT* click https://evil.example/x"'])
    expect(reply?.response_type).toBe('ephemeral')
    expect(JSON.stringify(reply)).toContain('--name must be on one line (no line breaks)')
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(await h.deps.db('users').where({ email: 'eve@acme.test' })).toHaveLength(0)
    expect(nock.pendingMocks()).toEqual([])
  })
})
