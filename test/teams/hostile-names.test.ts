/**
 * A name someone chose is shown in Teams as exactly that text: no forged line, no markdown (bold,
 * italic, links, headings, lists), no address Teams would link. First through every card and
 * message that shows a name (pure), then through the real route with a row written straight into
 * the database, as a row stored before names were checked would be; and typed text is decoded once.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { renderConfirmRemove, renderEditCard, renderList, renderOutcome, renderShow, type TeamsMessage } from '../../adapters/teams/render.ts'
import type { UserView } from '../../src/invitations/model.ts'
import { HOSTILE_LAST_MARKDOWN, insertStoredHostileRow } from '../support/factories.ts'
import {
  CHANNEL_CONVERSATION,
  TEAM_ID,
  button,
  cardOf,
  cardSubmit,
  channelText,
  mockMember,
  mockReplies,
  mockUpdate,
  post,
  row,
  snapshotCounts,
  useTeamsRouteTests,
  type Card,
  type CardElement,
  type Harness,
  type Sent,
} from './support.ts'

const HOSTILE_GROUP = 'Sales\n- **list** https://evil.example'

const NOW = new Date('2026-11-26T10:00:00Z')
const MARKDOWN = /[\\`*_{}[\]()#+!|~]/

/** The rendered name is inert Teams markdown: one line, every markdown character escaped, no address to link. */
function expectInertName(region: string | undefined): void {
  expect(region, 'the name was not found where it belongs').toBeDefined()
  const name = region ?? ''
  expect(name).toMatch(/^Eve Smith /)
  expect(name).not.toMatch(/[\r\n\u2028\u2029]/)
  expect(name.replace(/\\[\\`*_{}[\]()#+!|~]/g, '')).not.toMatch(MARKDOWN)
  expect(name).not.toMatch(/https?:\/\//)
  expect(name).not.toMatch(/evil\.example/)
  expect(name).toContain('URGENT')
}

function expectInertGroup(region: string | undefined): void {
  const group = region ?? ''
  expect(group).toMatch(/^Sales /)
  expect(group).not.toMatch(/[\r\n]/)
  expect(group.replace(/\\[\\`*_{}[\]()#+!|~]/g, '')).not.toMatch(MARKDOWN)
  expect(group).not.toMatch(/https?:\/\/|evil\.example/)
}

/** Every text of a card element tree (TextBlock text, FactSet values, choice titles). */
function texts(el: unknown): string[] {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'text' || k === 'value' || k === 'title') && typeof x === 'string') out.push(x)
        else walk(x)
      }
    }
  }
  walk(el)
  return out
}

function cardOfMessage(message: TeamsMessage): Card {
  if (message.kind !== 'card') throw new Error('not a card')
  return message.card as unknown as Card
}

function hostileUser(extra: Partial<UserView> = {}): UserView {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    accountId: '00000000-0000-4000-8000-000000000999',
    email: 'eve@acme.test',
    firstName: 'Eve',
    lastName: HOSTILE_LAST_MARKDOWN,
    status: 'invited',
    groups: ['Members', HOSTILE_GROUP],
    joinedAt: null,
    invitation: {
      id: '00000000-0000-4000-8000-000000000101',
      state: 'pending',
      createdAt: NOW,
      expiresAt: new Date(NOW.getTime() + 3 * 86_400_000),
      invitedBy: 'admin@acme.test',
      sentCount: 1,
      lastSentAt: NOW,
      delivery: { status: 'bounced', detail: '550 see https://evil.example\n**now**', messageId: 'm1' },
    },
    actions: ['resend', 'link', 'edit', 'remove'],
    ...extra,
  }
}

describe('every Teams card and message that shows a name keeps it inert', () => {
  it('list: the row names them on one line, groups too', () => {
    const card = cardOfMessage(renderList({ kind: 'list', filter: 'all', page: 1, pageCount: 1, total: 1, pageSize: 50, users: [hostileUser()] }, NOW))
    const [first, groups] = texts(row(card, 'eve@acme.test').items)
    expectInertName(/^\*\*eve@acme\.test\*\* · (.*)$/s.exec(first ?? '')?.[1])
    expectInertGroup(groups?.split(', ')[1])
  })

  it('show: the Name fact, the groups and the bounce detail', () => {
    const card = cardOfMessage(renderShow(hostileUser(), [], NOW))
    const facts = card.body.find((el) => el.type === 'FactSet')?.facts ?? []
    expectInertName(facts.find((f) => f.title === 'Name')?.value)
    expectInertGroup(facts.find((f) => f.title === 'Groups')?.value.split(', ')[1])
    const email = facts.find((f) => f.title === 'Email')?.value ?? ''
    expect(email).not.toMatch(/[\r\n]|https?:\/\/|(?<!\\)\*\*now/)
  })

  it('remove: the confirmation card', () => {
    const card = cardOfMessage(renderConfirmRemove(hostileUser(), { kind: 'reply' }))
    expectInertName(/Remove \*\*eve@acme\.test\*\* \((.*)\) from the account\?$/s.exec(texts(card.body)[0] ?? '')?.[1])
  })

  it('edit: the form names them; the group choices are one line', () => {
    const card = cardOfMessage(renderEditCard(hostileUser(), [{ id: 'g1', name: HOSTILE_GROUP, isAdmin: false, memberCount: 1 }], { kind: 'reply' }))
    expectInertName(/^Groups of \*\*eve@acme\.test\*\* \((.*)\)\. Every user/s.exec(texts(card.body)[0] ?? '')?.[1])
    const choices = card.body.find((el: CardElement) => el.type === 'Input.ChoiceSet')?.choices ?? []
    for (const choice of choices) expect(choice.title).not.toMatch(/[\r\n]/)
  })

  it('add: the confirmation message (markdown with HTML: entities too)', () => {
    const rendered = renderOutcome({ kind: 'added', user: hostileUser() }, { now: NOW, actorName: 'Mallory\n**Admin**' })
    if (rendered.message.kind !== 'text') throw new Error('not text')
    const text = rendered.message.text
    expect(text).not.toMatch(/[\r\n]/)
    expect(text).toMatch(/^\*\*Mallory \\\*\\\*Admin\\\*\\\*\*\* invited/)
    const name = /invited eve@acme\.test \((.*?); Members, /.exec(text)?.[1]
    expectInertName(name)
    expect(name).not.toMatch(/[<>]/)
    expect(name).toContain('&amp;amp;')
  })
})

// ---- through the real route ------------------------------------------------------------------

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

const CARD_ID = '1795687201999'

/** `@InviteOps <text>` in the channel as Alice; returns the reply. */
async function say(text: string): Promise<Sent> {
  const sent: Sent[] = []
  const member = mockMember(TEAM_ID)
  const reply = mockReplies(sent, CHANNEL_CONVERSATION)
  expect((await post(h.base, channelText(text))).status).toBe(200)
  expect(member.isDone()).toBe(true)
  expect(reply.isDone()).toBe(true)
  return sent[0]!
}

/** Clicks a card button; returns what replaced the card. */
async function click(data: unknown): Promise<Sent> {
  const sent: Sent[] = []
  mockMember(TEAM_ID)
  const update = mockUpdate(sent, CHANNEL_CONVERSATION, CARD_ID)
  expect((await post(h.base, cardSubmit(data, CARD_ID))).status).toBe(200)
  expect(update.isDone()).toBe(true)
  return sent[0]!
}

describe('a name stored before the rule is shown inert through the real route', () => {
  it('show, list, remove and edit', async () => {
    await insertStoredHostileRow(h.deps, h.seed, HOSTILE_LAST_MARKDOWN)
    const show = cardOf(await say('show eve@acme.test'))
    expectInertName(show.body.find((el) => el.type === 'FactSet')?.facts?.find((f) => f.title === 'Name')?.value)

    const list = cardOf(await say('list'))
    const [first] = texts(row(list, 'eve@acme.test').items)
    expectInertName(/^\*\*eve@acme\.test\*\* · (.*)$/s.exec(first ?? '')?.[1])

    const prompt = cardOf(await say('remove eve@acme.test'))
    expectInertName(/\((.*)\) from the account\?$/s.exec(texts(prompt.body)[0] ?? '')?.[1])
    expect((await h.deps.db('users').where({ email: 'eve@acme.test' }).first<{ status: string }>('status'))?.status).toBe('active')

    const form = cardOf(await click(button(row(list, 'eve@acme.test'), 'Edit groups').data))
    expectInertName(/\((.*)\)\. Every user/s.exec(texts(form.body)[0] ?? '')?.[1])
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('names typed in Teams', () => {
  it('are decoded once: & and a literal &lt; are stored as typed', async () => {
    // What Teams sends when someone types: add tom@acme.test --name "Tom & Jerry"
    const added = await say('add tom@acme.test --name &quot;Tom &amp; Jerry&quot;')
    expect(added.body.text).toContain('(Tom &amp; Jerry; Members)')
    // Someone typed the text `&lt;3`.
    await say('add ann@acme.test --name "Ann &amp;lt;3"')
    const names = await h.deps.db('users').whereIn('email', ['tom@acme.test', 'ann@acme.test']).orderBy('email').select<{ first_name: string; last_name: string }[]>('first_name', 'last_name')
    expect(names).toEqual([
      { first_name: 'Ann', last_name: '&lt;3' },
      { first_name: 'Tom', last_name: '& Jerry' },
    ])
  })

  it('a name with a line break is refused with the reason, and nothing changes', async () => {
    const before = await snapshotCounts(h.deps)
    const reply = await say('add eve@acme.test --name "Eve Smith\n**URGENT**"')
    // Teams markdown: parentheses carry a backslash.
    expect(reply.body.text?.replace(/\\(.)/g, '$1')).toContain('--name must be on one line (no line breaks)')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })
})
