/**
 * A third chat platform, written for the tests only: a presenter and an I/O port (what a real
 * platform's edge adds to the chat session) and a notifier, each a few lines. Its messages are
 * plain text with buttons that carry the session's own clicks, so a test clicks by passing a
 * button's click back. It proves the seam: nothing in src/ or adapters/chat names it.
 */
import type { ChatIO, ChatOrigin, ChatPresenter } from '../../adapters/chat/ports.ts'
import type { ChatClick } from '../../adapters/chat/session.ts'
import { chatPlatform, type ChatPlatform } from '../../src/chat/platform.ts'
import type { CommandOutcome } from '../../src/commands/types.ts'
import type { UserView } from '../../src/invitations/model.ts'
import type { ChatNotifier, NoticeDestination } from '../../src/notices/chat-notifier.ts'
import { formatDayTime } from '../../src/shared/dates.ts'
import { joinedCell } from '../../src/users/joined-cell.ts'

export const PIGEON: ChatPlatform = chatPlatform('pigeon')!

export interface Button {
  label: string
  click: ChatClick
}
export interface PigeonMessage {
  text: string
  buttons: Button[]
}
export interface PigeonForm {
  userId: string
  groupIds: string[]
  origin: ChatOrigin
}

const msg = (text: string, buttons: Button[] = []): PigeonMessage => ({ text, buttons })
const rowButtons = (u: UserView, origin: ChatOrigin): Button[] =>
  u.actions.map((action) => ({ label: `${action} ${u.email}`, click: { kind: 'row', action, userId: u.id, invitationId: action === 'regenerate' ? (u.invitation?.id ?? null) : null, origin, confirmed: false } }))
const CHANGES = new Set(['added', 'resent', 'regenerated', 'edited', 'removed', 'notices_set', 'notices_off'])

/** Every outcome as one line (what it is and whom it is about), with the buttons that apply. */
function describe(o: CommandOutcome, zone: string, now: Date, origin: ChatOrigin): PigeonMessage {
  switch (o.kind) {
    case 'list':
      return msg(`list ${o.filter} ${o.page}/${o.pageCount}: ${o.users.map((u) => `${u.email} (${joinedCell(u, now, zone)})`).join(', ')}`, o.users.flatMap((u) => rowButtons(u, { kind: 'list', filter: o.filter, page: o.page })))
    case 'show':
      return msg(`show ${o.user.email}: ${joinedCell(o.user, now, zone)}; ${o.history.map((e) => `${formatDayTime(e.at, now, zone)} ${e.action}`).join('; ')}`, rowButtons(o.user, { kind: 'show', userId: o.user.id }))
    case 'confirm_remove':
      return msg(`remove ${o.user.email}?`, [{ label: 'Remove', click: { kind: 'row', action: 'remove', userId: o.user.id, invitationId: null, origin, confirmed: true } }, { label: 'Cancel', click: { kind: 'cancel', origin } }])
    case 'refused':
      return msg(`refused: ${o.failure.code}`)
    case 'usage':
      return msg(`usage: ${o.failure.message}`)
    case 'link':
      return msg(`link ${o.user.email}: ${o.url}`)
    default:
      return msg(`${o.kind}${'user' in o ? ` ${o.user.email}` : ''}`)
  }
}

export const pigeonPresenter: ChatPresenter<PigeonMessage, PigeonForm> = {
  outcome(o, ctx) {
    const m = describe(o, ctx.timeZone, ctx.now, ctx.origin)
    return CHANGES.has(o.kind) ? { private: null, public: m, summary: m.text } : { private: m, public: null, summary: m.text }
  },
  list: (list, ctx, banner) => ({ ...describe(list, ctx.timeZone, ctx.now, ctx.origin), text: `${banner ?? ''}|${describe(list, ctx.timeZone, ctx.now, ctx.origin).text}` }),
  show: (shown, ctx, banner) => ({ ...describe(shown, ctx.timeZone, ctx.now, ctx.origin), text: `${banner ?? ''}|${describe(shown, ctx.timeZone, ctx.now, ctx.origin).text}` }),
  notice: ({ origin, users, banner, clickedUserId }) => msg(users.map((u) => `${u.email}: ${u.id === clickedUserId ? banner : u.status}`).join('\n'), users.flatMap((u) => rowButtons(u, origin).filter((b) => b.click.kind === 'row' && (b.click.action === 'regenerate' || b.click.action === 'remove')))),
  bannerOnly: (banner) => msg(banner),
  problem: (text) => msg(`problem: ${text}`),
  editForm: (user, groups, ctx) => ({ userId: user.id, groupIds: groups.filter((g) => user.groups.includes(g.name)).map((g) => g.id), origin: ctx.origin }),
  linkSentPrivately: (email) => msg(`link for ${email} sent privately`),
  banner: (tone, summary) => `${tone}: ${summary}`,
}

/** The I/O of one request: everything it sends, recorded where a test reads it. */
export function pigeonIO() {
  const out = { private: [] as PigeonMessage[], posted: [] as PigeonMessage[], updated: [] as PigeonMessage[], forms: [] as PigeonForm[], secrets: [] as PigeonMessage[] }
  const io: ChatIO<PigeonMessage, PigeonForm> = {
    sharedCards: false,
    replyPrivately: async (m) => void out.private.push(m),
    post: async (m) => void out.posted.push(m),
    update: async (m) => void out.updated.push(m),
    openForm: async (f) => (out.forms.push(f), true),
    sendSecret: async (m) => (out.secrets.push(m), 'elsewhere'),
    conversation: () => ({ platform: PIGEON, id: 'loft-7', name: 'The loft', reference: { loft: 7 } }),
  }
  return { io, out }
}

/** Notices: each event a message; expired ones with the rows' buttons, whose origin names the users. */
export function pigeonNotifier(sink: { destination: NoticeDestination; message: PigeonMessage }[]): ChatNotifier<PigeonMessage> {
  return {
    platform: PIGEON,
    conversationGapMs: 0,
    render: (events) =>
      events.map((e) => {
        if (e.type !== 'invitation.expired') return { message: msg(e.type), eventIds: [e.id] }
        const origin: ChatOrigin = { kind: 'notice', notice: 'expired', userIds: [e.facts.userId] }
        return { message: msg(`expired: ${e.facts.email}`, [{ label: 'regenerate', click: { kind: 'row', action: 'regenerate', userId: e.facts.userId, invitationId: e.facts.invitationId, origin, confirmed: false } }]), eventIds: [e.id] }
      }),
    post: async (destination, message) => (sink.push({ destination, message }), { ok: true }),
  }
}
