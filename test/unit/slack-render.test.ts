/**
 * The Block Kit renderers are pure: snapshots of their real output, plus the Block Kit limits
 * Slack enforces (https://docs.slack.dev/reference/block-kit/blocks) checked on every message.
 */
import { describe, expect, it } from 'vitest'
import { decodeListTarget, decodeOrigin, decodeRowAction, encodeBlockId, encodeRowAction } from '../../adapters/slack/actions.ts'
import { judgeSlackUser } from '../../adapters/slack/identity.ts'
import { describeFailure, renderEditModal, renderNotLinked, renderOutcome, type SlackMessage } from '../../adapters/slack/render.ts'
import type { CommandOutcome } from '../../src/commands/types.ts'
import type { LifecycleFailure, LifecycleFailureCode } from '../../src/invitations/failures.ts'
import type { UserView } from '../../src/invitations/model.ts'
import { fixture } from '../slack/fixture.ts'

const NOW = new Date('2026-11-26T10:00:00Z')
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000)
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function user(n: number, status: UserView['status'], extra: Partial<UserView> = {}): UserView {
  const actions: Record<UserView['status'], UserView['actions']> = {
    invited: ['resend', 'link', 'edit', 'remove'],
    expired: ['regenerate', 'edit', 'remove'],
    active: ['edit', 'remove'],
    declined: ['remove'],
    removed: [],
  }
  return {
    id: id(n),
    accountId: id(999),
    email: `user${n}@acme.test`,
    firstName: 'User',
    lastName: `<Number ${n}>`,
    status,
    groups: ['Members', 'R&D'],
    joinedAt: status === 'active' ? day(-30) : null,
    invitation:
      status === 'active'
        ? null
        : { id: id(n + 100), state: 'pending', createdAt: day(-10), expiresAt: status === 'expired' ? day(-3) : day(3), invitedBy: 'admin@acme.test', sentCount: 1, lastSentAt: day(-10), delivery: { status: 'sent', detail: null, messageId: 'm1' } },
    actions: actions[status],
    ...extra,
  }
}

const users = [user(1, 'invited'), user(2, 'expired'), user(3, 'active'), user(4, 'declined'), user(5, 'removed')]
const ctx = { now: NOW, actorUserId: 'U2147483697' }

/** One of each outcome kind (the `satisfies` makes a new kind fail to compile here too). */
const outcomes = {
  help: { kind: 'help', usage: '/invite help\n/invite list [invited|expired|active|declined|removed|all]' },
  usage: { kind: 'usage', failure: { code: 'command.invalid', subcommand: 'add', message: '`--name` needs a first and last name', usage: '/invite add <email> --name "First Last" [--group <name>]...' } },
  refused: { kind: 'refused', command: { name: 'resend', email: 'user2@acme.test' }, failure: { code: 'invitation.expired', email: 'user2@acme.test', expiredAt: day(-3) } },
  list: { kind: 'list', filter: 'all', page: 2, pageCount: 3, total: 25, pageSize: 10, users },
  show: {
    kind: 'show',
    user: users[1]!,
    history: [{ id: '1', at: day(-10), actor: { platform: 'slack', platformUserId: 'U1', email: 'admin@acme.test' }, action: 'invitation.add', targetEmail: 'user2@acme.test', resultCode: 'invitation.added', ok: true, detail: {} }],
  },
  added: { kind: 'added', user: users[0]! },
  resent: { kind: 'resent', user: users[0]! },
  regenerated: { kind: 'regenerated', user: user(2, 'invited', { invitation: { ...users[0]!.invitation!, expiresAt: day(7) } }) },
  link: { kind: 'link', user: users[0]!, url: 'https://invite.example/invitations/SECRET-TOKEN-abcdefghijklmnopqrstuv', expiresAt: day(3) },
  edited: { kind: 'edited', user: users[2]! },
  confirm_remove: { kind: 'confirm_remove', user: users[0]! },
  removed: { kind: 'removed', user: users[4]! },
  groups: { kind: 'groups', groups: [{ id: id(50), name: 'Administrators', isAdmin: true, memberCount: 1 }, { id: id(51), name: 'Members', isAdmin: false, memberCount: 12 }] },
  audit: { kind: 'audit', email: null, entries: [] },
  notices_set: {
    kind: 'notices_set',
    destination: { platform: 'slack', conversationId: 'C0NOTICES', conversationName: 'ops', setBy: 'admin@acme.test', updatedAt: day(0) },
    previous: { platform: 'slack', conversationId: 'C0OLDCHAN', conversationName: 'general', setBy: 'cli:ops', updatedAt: day(-30) },
  },
  notices_off: { kind: 'notices_off', platform: 'slack', previous: { platform: 'slack', conversationId: 'C0NOTICES', conversationName: 'ops', setBy: 'admin@acme.test', updatedAt: day(-1) } },
  notices: {
    kind: 'notices',
    destinations: [
      { platform: 'slack', conversationId: 'C0NOTICES', conversationName: 'ops', setBy: 'admin@acme.test', updatedAt: day(-1) },
      { platform: 'teams', conversationId: '19:abc@thread.tacv2', conversationName: 'Ops *team*', setBy: 'admin@acme.test', updatedAt: day(-2) },
    ],
  },
} satisfies { [K in CommandOutcome['kind']]: Extract<CommandOutcome, { kind: K }> }

/** One of each failure code. */
const failures = {
  'auth.not_admin': { code: 'auth.not_admin' },
  'account.not_found': { code: 'account.not_found' },
  'email.invalid': { code: 'email.invalid', input: 'a@b.com,c@d.com', reason: 'several_addresses' },
  'user.name_required': { code: 'user.name_required', email: 'x@acme.test' },
  'group.required': { code: 'group.required' },
  'group.not_found': { code: 'group.not_found', missing: ['Sales'], available: ['Administrators', 'Members'] },
  'user.not_found': { code: 'user.not_found', email: 'x@acme.test' },
  'user.already_invited': { code: 'user.already_invited', email: 'x@acme.test', expiresAt: day(3) },
  'user.already_active': { code: 'user.already_active', email: 'x@acme.test', joinedAt: day(-30) },
  'user.removed': { code: 'user.removed', email: 'x@acme.test' },
  'user.declined': { code: 'user.declined', email: 'x@acme.test' },
  'invitation.expired': { code: 'invitation.expired', email: 'x@acme.test', expiredAt: day(-3) },
  'invitation.still_valid': { code: 'invitation.still_valid', email: 'x@acme.test', expiresAt: day(3) },
  'invitation.already_replaced': { code: 'invitation.already_replaced', email: 'x@acme.test', by: 'admin@acme.test', at: day(0), expiresAt: day(7) },
  'invitation.already_resent': { code: 'invitation.already_resent', email: 'x@acme.test', by: 'admin@acme.test', at: day(0), expiresAt: day(7) },
  'user.cannot_remove_self': { code: 'user.cannot_remove_self', email: 'admin@acme.test' },
  'user.last_admin': { code: 'user.last_admin', email: 'admin@acme.test' },
  'limit.admin_sends': { code: 'limit.admin_sends', limit: 50, retryAt: day(0.04) },
  'limit.recipient_sends': { code: 'limit.recipient_sends', email: 'x@acme.test', limit: 5, retryAt: day(1) },
  'email.suppressed': { code: 'email.suppressed', email: 'x@acme.test', reason: 'bounced' },
} satisfies { [K in LifecycleFailureCode]: Extract<LifecycleFailure, { code: K }> }

/** Slack's hard limits, checked on every message we render. */
function checkBlockKitLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(50)
  expect(message.text.length).toBeGreaterThan(0)
  const ids = new Set<string>()
  for (const block of message.blocks) {
    if ('block_id' in block && block.block_id) {
      expect(block.block_id.length).toBeLessThanOrEqual(255)
      expect(ids.has(block.block_id), `duplicate block_id ${block.block_id}`).toBe(false)
      ids.add(block.block_id)
    }
    if (block.type === 'section') {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000)
      const acc = block.accessory
      if (acc?.type === 'overflow') {
        expect(acc.options.length).toBeGreaterThanOrEqual(2)
        expect(acc.options.length).toBeLessThanOrEqual(5)
        for (const o of acc.options) expect(o.value?.length ?? 0).toBeLessThanOrEqual(75)
      }
    }
    if (block.type === 'actions') {
      const actionIds = block.elements.map((e) => ('action_id' in e ? e.action_id : ''))
      expect(new Set(actionIds).size).toBe(actionIds.length)
    }
  }
}

describe('renderOutcome: every kind', () => {
  for (const [kind, outcome] of Object.entries(outcomes)) {
    it(kind, () => {
      const rendered = renderOutcome(outcome, ctx)
      expect(rendered).toMatchSnapshot()
      if (rendered.reply) checkBlockKitLimits(rendered.reply)
      if (rendered.announce) checkBlockKitLimits(rendered.announce)
      // A link secret is never in what the channel sees.
      expect(JSON.stringify(rendered.announce ?? {})).not.toContain('SECRET-TOKEN')
    })
  }
})

describe('the list (Users page)', () => {
  const rendered = renderOutcome(outcomes.list, ctx).reply!

  it('has a header, a status filter, prev/next, and a row per user with the Joined cell', () => {
    const text = JSON.stringify(rendered)
    expect(text).toContain('Invited · expires in 3 days')
    expect(text).toContain('Invitation expired · 23 Nov')
    expect(text).toContain('Joined 27 Oct')
    const select = rendered.blocks.find((b) => b.type === 'section' && b.accessory?.type === 'static_select')
    expect(select).toBeDefined()
    const paging = rendered.blocks.find((b) => b.type === 'actions')
    expect(paging?.type === 'actions' && paging.elements.map((e) => ('action_id' in e ? e.action_id : ''))).toEqual(['inviteops.list.prev', 'inviteops.list.next'])
  })

  it('each row offers exactly user.actions; a lone action is a button; none, nothing', () => {
    const rows = rendered.blocks.filter((b) => b.type === 'section' && b.block_id?.includes('|row-'))
    expect(rows).toHaveLength(5)
    rows.forEach((block, i) => {
      const u = users[i]!
      if (block.type !== 'section') throw new Error('not a section')
      const acc = block.accessory
      if (u.actions.length >= 2) {
        expect(acc?.type).toBe('overflow')
        if (acc?.type === 'overflow') expect(acc.options.map((o) => decodeRowAction(o.value)?.action)).toEqual(u.actions)
      } else if (u.actions.length === 1) {
        expect(acc?.type).toBe('button')
        // The declined row's lone "remove" still asks (Block Kit confirm dialog).
        if (acc?.type === 'button') expect(acc.confirm).toBeDefined()
      } else {
        expect(acc).toBeUndefined()
      }
    })
  })

  it('escapes user text in mrkdwn', () => {
    expect(JSON.stringify(rendered)).toContain('User &lt;Number 1&gt;')
    expect(JSON.stringify(rendered)).toContain('R&amp;D')
  })

  it('an empty page says so', () => {
    const empty = renderOutcome({ ...outcomes.list, page: 1, pageCount: 1, total: 0, users: [] }, ctx).reply!
    expect(JSON.stringify(empty)).toContain('No users match this filter')
    expect(empty.blocks.some((b) => b.type === 'actions')).toBe(false)
  })
})

describe('describeFailure: every code', () => {
  for (const [code, failure] of Object.entries(failures)) {
    it(code, () => {
      expect(describeFailure(failure, NOW)).toMatchSnapshot()
    })
  }
  it('names the right action', () => {
    expect(describeFailure(failures['invitation.expired'], NOW)).toContain('/invite regenerate x@acme.test')
    expect(describeFailure(failures['invitation.still_valid'], NOW)).toContain('still valid until 29 Nov')
    expect(describeFailure(failures['invitation.still_valid'], NOW)).toContain('/invite resend x@acme.test')
  })
})

describe('other messages', () => {
  it('notices: the fallback text drops only our bold heading; what the lines hold keeps its characters; another platform is named sensibly', () => {
    const reply = renderOutcome(
      {
        kind: 'notices',
        destinations: [
          { platform: 'slack', conversationId: 'C0NOTICES', conversationName: 'ops', setBy: 'ops*lead@acme.test', updatedAt: day(-1) },
          { platform: 'carrier-pigeon', conversationId: 'loft-1', conversationName: 'Loft', setBy: null, updatedAt: day(-2) },
        ],
      },
      ctx,
    ).reply!
    expect(reply.text).toMatch(/^InviteOps notices go to\n/)
    expect(reply.text).toContain('ops*lead@acme.test')
    expect(reply.text).toContain('• Carrier Pigeon: Loft')
    expect(JSON.stringify(reply.blocks)).toContain('*InviteOps notices go to*')
  })
  it('not linked: names the CLI command with the team id', () => {
    expect(renderNotLinked('T0001', 'C0001')).toMatchSnapshot()
  })
  it('the edit modal ticks the current groups', () => {
    const modal = renderEditModal(users[2]!, outcomes.groups.groups, '{"userId":"x"}')
    expect(modal).toMatchSnapshot()
  })
})

describe('action values and block ids', () => {
  it('round-trip ids and refuse anything else', () => {
    const v = { action: 'regenerate' as const, userId: id(1), invitationId: id(2) }
    expect(decodeRowAction(encodeRowAction(v))).toEqual(v)
    expect(decodeRowAction('regenerate')).toBeNull()
    expect(decodeRowAction('explode|abc')).toBeNull()
    expect(decodeRowAction(`resend|${id(1)}`)).toBeNull() // a dashed uuid is not the wire form
    expect(encodeRowAction(v).length).toBeLessThanOrEqual(75)
    expect(decodeRowAction(`${encodeRowAction(v)}|x`)).toBeNull()
    // A resend button carries the expiry its message showed, to whole seconds.
    const resend = { action: 'resend' as const, userId: id(1), invitationId: id(2), expiresAt: new Date('2026-12-03T10:00:00Z') }
    expect(decodeRowAction(encodeRowAction(resend))).toEqual(resend)
    expect(encodeRowAction({ ...resend, expiresAt: new Date('2026-12-03T10:00:00.900Z') })).toBe(encodeRowAction(resend))
    expect(encodeRowAction(resend).length).toBeLessThanOrEqual(90)
    expect(decodeRowAction(`${encodeRowAction(resend)}|1`)).toBeNull()
    expect(decodeRowAction(`${encodeRowAction(v)}|-5`)).toBeNull()
    expect(decodeRowAction(undefined)).toBeNull()
    expect(decodeOrigin(encodeBlockId({ kind: 'list', filter: 'expired', page: 3 }, 'row-1'))).toEqual({ kind: 'list', filter: 'expired', page: 3 })
    expect(decodeOrigin('inviteops|list|everything|1|x')).toEqual({ kind: 'reply' })
    expect(decodeOrigin('random')).toEqual({ kind: 'reply' })
    expect(decodeListTarget('invited|2')).toEqual({ filter: 'invited', page: 2 })
    expect(decodeListTarget('invited|0')).toBeNull()
  })
})

describe('judgeSlackUser (users.info rules)', () => {
  const member = fixture<{ ok: true; user: Record<string, unknown> & { profile: Record<string, unknown> } }>('users-info-member.json')
  const withUser = (u: Record<string, unknown>, p: Record<string, unknown> = {}) => ({ ...member, user: { ...member.user, ...u, profile: { ...member.user.profile, ...p } } })
  it('vouches for a full member with a confirmed email', () => {
    expect(judgeSlackUser('T0001INVOPS', member)).toEqual({ ok: true, email: 'admin@acme.test', displayName: 'alice', timeZone: 'Europe/London' })
  })
  it("keeps the member's time zone when Slack gives a known one, and drops anything else", () => {
    expect(judgeSlackUser('T0001INVOPS', withUser({ tz: 'America/Los_Angeles' })).timeZone).toBe('America/Los_Angeles')
    expect(judgeSlackUser('T0001INVOPS', withUser({ tz: 'Not/A_Zone' })).timeZone).toBeUndefined()
    expect(judgeSlackUser('T0001INVOPS', withUser({ tz: 42 })).timeZone).toBeUndefined()
    expect(judgeSlackUser('T0001INVOPS', withUser({ tz: 42 })).ok).toBe(true)
  })
  it.each([
    [{ deleted: true }, {}, 'deleted'],
    [{ is_bot: true }, {}, 'bot'],
    [{ id: 'USLACKBOT' }, {}, 'bot'],
    [{ is_restricted: true }, {}, 'guest'],
    [{ is_ultra_restricted: true }, {}, 'guest'],
    [{ is_stranger: true }, {}, 'stranger'],
    [{ team_id: 'T0OTHER' }, {}, 'stranger'],
    [{}, { email: '' }, 'no_email'],
    [{ is_email_confirmed: false }, {}, 'unconfirmed_email'],
    [{ is_email_confirmed: undefined }, {}, 'unconfirmed_email'],
  ])('%o %o → %s', (u, p, problem) => {
    expect(judgeSlackUser('T0001INVOPS', withUser(u, p))).toEqual({ ok: false, problem, timeZone: 'Europe/London' })
  })
  it('an Enterprise Grid member acting in one of their workspaces is in the team', () => {
    expect(judgeSlackUser('T0002', withUser({ team_id: 'T0001', enterprise_user: { teams: ['T0001', 'T0002'] } })).ok).toBe(true)
  })
  it('garbage is a failed lookup', () => {
    expect(judgeSlackUser('T1', { ok: false, error: 'user_not_found' })).toEqual({ ok: false, problem: 'lookup_failed' })
  })
})
