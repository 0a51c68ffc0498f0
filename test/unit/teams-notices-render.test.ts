/**
 * The Teams notice cards as pure functions (adapters/teams/render-notices.ts): events read the way
 * the job reads them (readAccountEvent), cards checked against Microsoft's Adaptive Card schema,
 * hostile names kept as text, limits kept, and a notice re-rendered after a click from its users'
 * current state. The posting and the clicks are in notices.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { readAccountEvent, type AccountEvent } from '../../src/notices/account-events.ts'
import type { UserView } from '../../src/invitations/model.ts'
import { MAX_ACTIVITY_LINES, renderNoticeNow, renderTeamsNotices, type NoticeOrigin } from '../../adapters/teams/render-notices.ts'
import type { TeamsMessage } from '../../adapters/teams/render.ts'
import { assertValidAdaptiveCard } from '../support/adaptive-card-schema.ts'
import { DAY, HOSTILE_LAST_MARKDOWN } from '../support/factories.ts'

const NOW = new Date('2026-12-04T10:00:00Z')
const ACCOUNT = '6f0f3c1e-0000-4000-8000-000000000001'
const ctx = { now: NOW, timeZone: 'UTC' }
let nextId = 1

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
}

/** An event as the job reads it from its row. */
function event(type: string, payload: Record<string, unknown>): AccountEvent {
  const read = readAccountEvent({ id: String(nextId++), account_id: ACCOUNT, type, payload, created_at: NOW })
  if (!read.ok) throw new Error(read.reason)
  return read.value
}

function expired(n: number, lastName = 'Test', email = `user${n}@acme.test`): AccountEvent {
  return event('invitation.expired', {
    invitationId: uuid(1000 + n),
    userId: uuid(n),
    email,
    firstName: `User${n}`,
    lastName,
    invitedAt: new Date(NOW.getTime() - 8 * DAY).toISOString(),
    invitedByEmail: 'admin@acme.test',
    expiredAt: new Date(NOW.getTime() - DAY).toISOString(),
  })
}

function card(message: TeamsMessage): Record<string, unknown> & { body: Record<string, unknown>[] } {
  if (message.kind !== 'card') throw new Error('not a card')
  assertValidAdaptiveCard(message.card)
  return message.card as unknown as Record<string, unknown> & { body: Record<string, unknown>[] }
}

/** Every text of a card's TextBlocks. */
function texts(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(texts)
  if (typeof value !== 'object' || value === null) return []
  const el = value as Record<string, unknown>
  return [...(el.type === 'TextBlock' && typeof el.text === 'string' ? [el.text] : []), ...Object.values(el).flatMap(texts)]
}

function buttons(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(buttons)
  if (typeof value !== 'object' || value === null) return []
  const el = value as Record<string, unknown>
  return [...(el.type === 'Action.Execute' ? [el] : []), ...Object.values(el).flatMap(buttons)]
}

describe('notice cards', () => {
  it('a hostile name stays text: no link, no bold, no line break, no heading', () => {
    const [batch] = renderTeamsNotices([expired(1, HOSTILE_LAST_MARKDOWN), expired(2)], ctx)
    const lines = texts(card(batch!.message))
    const row = lines.find((t) => t.includes('User1'))!
    expect(row).not.toContain('\n')
    expect(row).not.toMatch(/(?<!\\)\[here\]\(/) // a [text](url) link would be live
    expect(row).not.toMatch(/(?<!\\)\*URGENT/) // bold would be live
    expect(row).not.toContain('https://evil') // no autolink either
    expect(row).toContain('\\# h')
  })

  it('the fallback text (notifications) is plain, and one expiry names its person in the heading', () => {
    const [batch] = renderTeamsNotices([expired(1)], ctx)
    expect(batch!.message).toMatchObject({ kind: 'card', text: 'The invitation of user1@acme.test has expired.' })
    expect(texts(card(batch!.message))[0]).toBe('⌛ The invitation of **User1 Test** (user1@acme.test) has expired.')
    expect(batch!.eventIds).toHaveLength(1)
  })

  it('ten rows of the longest names stay far under Teams’ 28 KB, the rest are counted', () => {
    const long = 'x'.repeat(200)
    const events = Array.from({ length: 12 }, (_, i) => expired(i, long, `${'y'.repeat(60)}${i}@acme.test`))
    const [batch] = renderTeamsNotices(events, ctx)
    const c = card(batch!.message)
    expect(buttons(c)).toHaveLength(20)
    expect(texts(c).at(-1)).toContain('…and 2 more')
    expect(JSON.stringify(c).length).toBeLessThan(28_000)
    expect(batch!.eventIds).toHaveLength(12) // every event is reported, shown or counted
  })

  it('activity lines are capped, with a pointer to the audit log', () => {
    const events = Array.from({ length: MAX_ACTIVITY_LINES + 5 }, (_, i) => event('invitation.accepted', { email: `a${i}@acme.test`, invitationId: uuid(i), invitedBy: null }))
    events.push(event('email.complained', { email: 'spam@acme.test', detail: null, suppressed: true }))
    const [batch] = renderTeamsNotices(events, ctx)
    const lines = texts(card(batch!.message))
    expect(lines).toHaveLength(MAX_ACTIVITY_LINES + 1)
    expect(lines.at(-1)).toContain('…and 6 more. `/invite audit`')
    expect(batch!.eventIds).toHaveLength(MAX_ACTIVITY_LINES + 6)
  })

  it('a digest of one names its person; times name the account’s zone', () => {
    const digest = event('invitations.expiring_soon', {
      day: '2026-12-04',
      total: 1,
      invitations: [{ invitationId: uuid(9), userId: uuid(8), email: 'sam@acme.test', firstName: 'Sam', lastName: 'Soon', expiresAt: '2026-12-05T08:30:00Z', invitedByEmail: null }],
    })
    const [batch] = renderTeamsNotices([digest], { now: NOW, timeZone: 'America/New_York' })
    const lines = texts(card(batch!.message))
    expect(lines[0]).toBe('⏰ The invitation of **Sam Soon** (sam@acme.test) expires within 24 hours.')
    expect(lines[1]).toBe('Expires 5 Dec, 03:30 America/New_York')
    expect(buttons(card(batch!.message)).map((b) => b.title)).toEqual(['Resend invitation'])
  })
})

describe('a notice re-rendered after a click', () => {
  const created = new Date(NOW.getTime() - 8 * DAY)
  function user(n: number, status: UserView['status'], actions: UserView['actions'], expiresAt = new Date(NOW.getTime() - DAY)): UserView {
    return {
      id: uuid(n),
      accountId: ACCOUNT,
      email: `user${n}@acme.test`,
      firstName: `User${n}`,
      lastName: 'Test',
      status,
      groups: ['Engineering'],
      joinedAt: status === 'active' ? NOW : null,
      invitation: { id: uuid(1000 + n), state: status === 'removed' ? 'revoked' : 'pending', createdAt: created, expiresAt, invitedBy: 'admin@acme.test', sentCount: 1, lastSentAt: created, delivery: null },
      actions,
    }
  }
  const origin: NoticeOrigin = { kind: 'notice', notice: 'expired', userIds: [uuid(1), uuid(2), uuid(3), uuid(4)] }

  it('keeps the buttons of rows still open, says where the others stand, puts the banner on the clicked row and leaves out a user no longer there', () => {
    const users = [
      user(1, 'expired', ['regenerate', 'edit', 'remove']),
      user(2, 'invited', ['resend', 'link', 'edit', 'remove'], new Date(NOW.getTime() + 7 * DAY)),
      user(3, 'removed', []),
      // user 4 is not found any more
    ]
    const message = renderNoticeNow(origin, users, { ...ctx, banner: { userId: uuid(2), text: '✅ New invitation sent to user2@acme.test by **Alice**' } })
    const c = card(message)
    const rows = c.body.filter((el) => String(el.id ?? '').startsWith('row-'))
    expect(rows.map((r) => r.id)).toEqual([`row-${uuid(1)}`, `row-${uuid(2)}`, `row-${uuid(3)}`])
    expect(buttons(rows[0]).map((b) => b.title)).toEqual(['Send new invitation', 'Remove user…'])
    expect(buttons(rows[1])).toEqual([])
    expect(texts(rows[1])).toContain('✅ New invitation sent to user2@acme.test by **Alice**')
    expect(texts(rows[1]).join(' ')).toContain('Now: Invited · expires in 7 days')
    expect(texts(rows[2]).join(' ')).toContain('Now: Removed')
    expect(texts(c)[0]).toBe('⌛ Expired invitations: 1 still to handle.')
    expect(message).toMatchObject({ text: '✅ New invitation sent to user2@acme.test by Alice' })
    // The buttons carry the same origin, so the next click re-renders the same rows.
    expect(buttons(rows[0])[0]?.data).toMatchObject({ origin })
  })

  it('all handled: no button left', () => {
    const message = renderNoticeNow(origin, [user(1, 'active', ['edit', 'remove'])], ctx)
    expect(buttons(card(message))).toEqual([])
    expect(texts(card(message))[0]).toBe('⌛ Expired invitations: all handled.')
  })

  it('a digest row keeps Resend only while the link still expires within 24 hours', () => {
    const digest: NoticeOrigin = { kind: 'notice', notice: 'expiring_soon', userIds: [uuid(1), uuid(2)] }
    const soon = user(1, 'invited', ['resend', 'link', 'edit', 'remove'], new Date(NOW.getTime() + 3_600_000))
    const resent = user(2, 'invited', ['resend', 'link', 'edit', 'remove'], new Date(NOW.getTime() + 7 * DAY))
    const c = card(renderNoticeNow(digest, [soon, resent], ctx))
    expect(buttons(c).map((b) => [b.title, (b.data as { userId: string }).userId])).toEqual([['Resend invitation', uuid(1)]])
  })
})
