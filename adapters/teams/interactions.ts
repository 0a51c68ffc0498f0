/**
 * Teams' edge of the chat session (adapters/chat/session.ts): an authenticated, zod-parsed
 * message activity (a typed command, or a card click: an `Action.Execute` invoke the router hands
 * over as a message with `value`, or an older card's Action.Submit) becomes the session's caller
 * and click, and the session's answers go out through the `TeamsIO` port (turn-io.ts). Transport
 * (botbuilder, HTTP) stays in router.ts, the words and cards in render.ts
 * (docs/platform-notes.md).
 *
 * Where answers go:
 *  - a typed command is answered in the conversation it came from (Teams has no ephemeral
 *    messages: everything there is visible to its members); after a click, the router shows a
 *    text answer to the clicker alone;
 *  - a link secret is never posted where others can read it: asked in a channel or group chat,
 *    it goes to a 1:1 chat with the administrator and the channel is told so (docs/lifecycle.md);
 *  - a card click updates the card in place (`updateActivity` on `replyToId`): the list keeps its
 *    filter and page, a notice shows its users as they are now, with a banner saying what happened.
 */
import { unwrapMailtoLinks } from '../../src/commands/parse-command.ts'
import type { ChatConversation } from '../../src/commands/types.ts'
import type { Deps } from '../../src/deps.ts'
import type { ChatIO } from '../chat/ports.ts'
import { createChatSession, type ChatClick } from '../chat/session.ts'
import { judgeTeamsMember, teamsActor } from './identity.ts'
import { teamsPresenter } from './presenter.ts'
import { describeIdentityProblem, renderNotLinked, type TeamsMessage } from './render.ts'
import { CardValue, clientTimeZone, isPersonal, tenantOf, TEAMS, type CardOrigin, type MessageActivity } from './schemas.ts'

/**
 * The Teams calls the adapter makes, over one turn; implemented with botbuilder in turn-io.ts
 * (and wrapped by the router for an `Action.Execute` invoke, whose answer it builds from these
 * calls: the clicked card's update, or the first text said).
 */
export interface TeamsIO {
  /** `TeamsInfo.getMember`; `undefined` when the lookup failed (logged by the implementation). */
  getMember(userId: string): Promise<unknown>
  /** A new message in the conversation of the activity. */
  reply(message: TeamsMessage): Promise<void>
  /**
   * Replaces a message the bot posted earlier (the card a button was on). `onlyForCaller`: a
   * question (remove's "are you sure?", the edit form) for the clicker alone where the turn can
   * (an Action.Execute's answer); an older card's click has no private answer, so it replaces the card.
   */
  update(activityId: string, message: TeamsMessage, opts?: { onlyForCaller?: boolean }): Promise<void>
  /** A message in a 1:1 chat with `userId`, created through the connector. */
  sendPrivately(userId: string, message: TeamsMessage): Promise<void>
  /**
   * What posting into this turn's conversation later, unprompted, needs: botbuilder's
   * `TurnContext.getConversationReference(activity)` (stored by `/invite notices here`).
   */
  conversationReference(): unknown
}

export interface TeamsHandlers {
  message(activity: MessageActivity, io: TeamsIO): Promise<void>
}

/** The words an administrator types, without the bot's @mention and a leading `/invite` or `invite`. */
export function commandText(raw: string): string {
  const withoutMentions = raw.replace(/<at>[\s\S]*?<\/at>/gi, ' ')
  // Teams sends a message's text HTML-escaped in places (quotes, ampersands, non-breaking spaces).
  // Decoded once, in one pass: `&amp;lt;` (someone typed `&lt;`) is the text `&lt;`, never `<`.
  const decoded = withoutMentions.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));/gi, decodeEntity).replace(/[\u00a0\u200b]/g, ' ')
  // Teams has no `<mailto:…|…>` form of its own: one here was pasted from Slack, and means its address.
  return unwrapMailtoLinks(decoded).trim().replace(/^\/?invite(?:\s+|$)/i, '').trim()
}

const NAMED_ENTITIES: Record<string, string> = { nbsp: ' ', quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' }

/** One HTML character reference; one we do not know (or an invalid code point) stays as it is. */
function decodeEntity(entity: string, decimal: string | undefined, hex: string | undefined, name: string | undefined): string {
  if (name !== undefined) return NAMED_ENTITIES[name.toLowerCase()] ?? entity
  const codePoint = decimal !== undefined ? Number(decimal) : parseInt(hex ?? '', 16)
  const valid = codePoint > 0 && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff)
  return valid ? String.fromCodePoint(codePoint) : entity
}

/**
 * The conversation a command was typed in, as notices will post to it: a channel without the
 * thread part Teams adds to a reply's conversation id (`;messageid=…`), so notices start threads
 * of their own.
 */
function conversationOf(activity: MessageActivity, io: TeamsIO): ChatConversation {
  const id = activity.conversation.id.replace(/;messageid=\d+$/, '')
  const reference = io.conversationReference()
  const adjusted = reference && typeof reference === 'object' ? { ...reference, activityId: undefined, conversation: { ...(reference as { conversation?: object }).conversation, id } } : reference
  return { platform: TEAMS, id, name: activity.channelData?.channel?.name ?? null, reference: adjusted ?? null }
}

/** The session's I/O over one Teams turn. */
function turnIO(activity: MessageActivity, io: TeamsIO): ChatIO<TeamsMessage> {
  /** Replaces the card a click came from; without a `replyToId` the answer is a new message. */
  const replaceCard = (message: TeamsMessage, opts?: { onlyForCaller?: boolean }) => (activity.replyToId ? io.update(activity.replyToId, message, opts) : io.reply(message))
  return {
    sharedCards: true,
    replyPrivately: (message) => io.reply(message),
    post: (message) => io.reply(message),
    update: replaceCard,
    async openForm(card) {
      // The form is the clicker's: the shared card changes when it is saved.
      await replaceCard(card, { onlyForCaller: true })
      return true
    },
    async sendSecret(message) {
      if (isPersonal(activity)) {
        await io.reply(message)
        return 'here'
      }
      await io.sendPrivately(activity.from.id, message)
      return 'elsewhere'
    },
    conversation: () => conversationOf(activity, io),
  }
}

/** A click as Teams' cards carry it: the session's, or the edit card's Save (group ids). */
type TeamsClick = ChatClick | { kind: 'edit.save'; userId: string; groupIds: string[]; origin: CardOrigin }

/** What a card's data asks (we wrote it; still parsed). */
function clickOf(value: unknown): TeamsClick {
  const parsed = CardValue.safeParse(value)
  if (!parsed.success) return { kind: 'unknown' }
  const v = parsed.data
  switch (v.inviteops) {
    case 'list':
      return { kind: 'page', filter: v.filter, page: v.page }
    case 'list.filter':
      return { kind: 'page', filter: v.filter, page: 1 }
    case 'cancel':
      return { kind: 'cancel', origin: v.origin }
    case 'row':
      return {
        kind: 'row',
        action: v.action,
        userId: v.userId,
        invitationId: v.invitationId ?? null,
        seenExpiresAt: v.expiresAt === undefined ? null : new Date(v.expiresAt * 1000),
        origin: v.origin,
        confirmed: false,
      }
    case 'remove.confirmed':
      return { kind: 'row', action: 'remove', userId: v.userId, invitationId: null, origin: v.origin, confirmed: true }
    case 'edit.save':
      // The multi-select sends group ids as "<id>,<id>" (names may hold commas).
      return { kind: 'edit.save', userId: v.userId, groupIds: (v.groups ?? '').split(',').map((s) => s.trim()).filter(Boolean), origin: v.origin }
    default: {
      const unreachable: never = v
      return unreachable
    }
  }
}

export function createTeamsHandlers(deps: Deps): TeamsHandlers {
  const log = deps.logger.child({ adapter: 'teams' })
  const session = createChatSession(deps, TEAMS, teamsPresenter)

  return {
    async message(activity, io) {
      const tenantId = tenantOf(activity)
      const accountId = tenantId ? await session.linkedAccount(tenantId) : null
      if (!tenantId || !accountId) {
        await io.reply(renderNotLinked(tenantId))
        return
      }
      // Checked on every message and click (docs/security.md). Without a vouched email the core
      // refuses (`auth.not_admin`) and audits the attempt.
      const identity = judgeTeamsMember(await io.getMember(activity.from.id), tenantId)
      if (!identity.ok) log.info({ problem: identity.problem, from: activity.from.aadObjectId ?? activity.from.id }, 'teams member not vouched for')
      const who = session.caller(accountId, {
        actor: teamsActor(activity.from, identity),
        unvouched: identity.ok ? null : describeIdentityProblem(identity.problem),
        timeZone: clientTimeZone(activity),
      })
      const chat = turnIO(activity, io)
      // A click: an Action.Execute's data (handed over by the router) or an Action.Submit's value.
      if (activity.value === undefined || activity.value === null) return session.typed(who, commandText(activity.text ?? ''), chat)
      const click = clickOf(activity.value)
      if (click.kind === 'unknown') log.info('teams card value not recognised')
      if (click.kind !== 'edit.save') return session.click(who, click, chat)
      const saved = await session.saveGroups(who, { userId: click.userId, groupIds: click.groupIds, origin: click.origin }, chat)
      return saved.ok ? saved.after() : chat.replyPrivately(saved.message)
    },
  }
}
