/**
 * What the Teams adapter does with an authenticated, zod-parsed message activity: find the linked
 * account, find who is asking, build the command, run it in the core, render, deliver. Transport
 * (botbuilder, HTTP) stays in router.ts; Teams I/O goes through the `TeamsIO` port (turn-io.ts)
 * so the flow reads top to bottom and botbuilder stays at the edge (docs/platform-notes.md).
 *
 * Where answers go:
 *  - a typed command is answered in the conversation it came from (Teams has no ephemeral
 *    messages: everything there is visible to its members);
 *  - a link secret is never posted where others can read it: asked in a channel or group chat,
 *    it goes to a 1:1 chat with the administrator and the channel is told so (docs/lifecycle.md);
 *  - a card click updates the card in place (`updateActivity` on `replyToId`): the list keeps its
 *    filter and page, with a banner saying what happened.
 */
import { findChatConnection } from '../../src/accounts/chat-connections.ts'
import { unwrapMailtoLinks } from '../../src/commands/parse-command.ts'
import { runCommand, runCommandText } from '../../src/commands/run-command.ts'
import { rowActionCommand, type CommandOutcome, type ListFilter } from '../../src/commands/types.ts'
import type { Deps } from '../../src/deps.ts'
import { alreadySettled } from '../../src/invitations/failures.ts'
import type { Actor, RowAction, UserView } from '../../src/invitations/model.ts'
import { queryUserViews } from '../../src/users/user-repository.ts'
import { judgeTeamsMember, teamsActor, type TeamsIdentity } from './identity.ts'
import {
  describeIdentityProblem,
  renderBannerOnly,
  renderEditCard,
  renderLinkSentPrivately,
  renderList,
  renderNotLinked,
  renderOutcome,
  renderProblem,
  renderShow,
  type TeamsMessage,
} from './render.ts'
import { CardValue, isPersonal, tenantOf, type CardOrigin, type MessageActivity } from './schemas.ts'

/** The Teams calls the adapter makes, over one turn; implemented with botbuilder in turn-io.ts. */
export interface TeamsIO {
  /** `TeamsInfo.getMember`; `undefined` when the lookup failed (logged by the implementation). */
  getMember(userId: string): Promise<unknown>
  /** A new message in the conversation of the activity. */
  reply(message: TeamsMessage): Promise<void>
  /** Replaces a message the bot posted earlier (the card a button was on). */
  update(activityId: string, message: TeamsMessage): Promise<void>
  /** A message in a 1:1 chat with `userId`, created through the connector. */
  sendPrivately(userId: string, message: TeamsMessage): Promise<void>
}

export interface TeamsHandlers {
  message(activity: MessageActivity, io: TeamsIO): Promise<void>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface Caller {
  accountId: string
  actor: Actor
  identity: TeamsIdentity
  name: string
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

export function createTeamsHandlers(deps: Deps): TeamsHandlers {
  const log = deps.logger.child({ adapter: 'teams' })

  /** The linked account and the actor; `null` after telling an unlinked tenant what to do. */
  async function caller(activity: MessageActivity, io: TeamsIO): Promise<Caller | null> {
    const tenantId = tenantOf(activity)
    const link = tenantId ? await findChatConnection(deps.db, 'teams', tenantId) : null
    if (!tenantId || !link) {
      log.info({ tenantId }, 'teams message from an unlinked tenant')
      await io.reply(renderNotLinked(tenantId))
      return null
    }
    // Checked on every message and click (docs/security.md). Without a vouched email the core refuses
    // (`auth.not_admin`) and audits the attempt.
    const identity = judgeTeamsMember(await io.getMember(activity.from.id), tenantId)
    if (!identity.ok) log.info({ problem: identity.problem, from: activity.from.aadObjectId ?? activity.from.id }, 'teams member not vouched for')
    return { accountId: link.accountId, actor: teamsActor(activity.from, identity), identity, name: activity.from.name ?? 'An administrator' }
  }

  /** A not-admin refusal for someone Teams could not vouch for says why. */
  function explain(outcome: CommandOutcome, who: Caller): CommandOutcome | { problem: string } {
    if (outcome.kind === 'refused' && outcome.failure.code === 'auth.not_admin' && !who.identity.ok) {
      return { problem: `${describeIdentityProblem(who.identity.problem)} Only an active administrator of this account can manage invitations.` }
    }
    return outcome
  }

  /** Sends a link where only the administrator reads it; in a channel, says where it went. */
  async function deliverLink(message: TeamsMessage, email: string, who: Caller, activity: MessageActivity, io: TeamsIO): Promise<void> {
    if (isPersonal(activity)) {
      await io.reply(message)
      return
    }
    await io.sendPrivately(activity.from.id, message)
    await io.reply(renderLinkSentPrivately(email, who.name))
  }

  async function typed(activity: MessageActivity, who: Caller, io: TeamsIO): Promise<void> {
    const outcome = await runCommandText(deps, { accountId: who.accountId, actor: who.actor, text: commandText(activity.text ?? '') })
    const explained = explain(outcome, who)
    if ('problem' in explained) {
      await io.reply(renderProblem(explained.problem))
      return
    }
    const rendered = renderOutcome(explained, { now: deps.clock.now(), actorName: who.name })
    if (explained.kind === 'link') await deliverLink(rendered.message, explained.user.email, who, activity, io)
    else await io.reply(rendered.message)
  }

  async function listPage(who: Caller, filter: ListFilter, page: number): Promise<CommandOutcome> {
    return runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'list', filter, page } })
  }

  /** The account's user behind an id from a card, or null (another account's id included). */
  async function userById(accountId: string, userId: string): Promise<UserView | null> {
    if (!UUID.test(userId)) return null
    const { users } = await queryUserViews(deps.db, accountId, { now: deps.clock.now(), userIds: [userId] })
    return users[0] ?? null
  }

  /** Replaces the card a click came from; without a `replyToId` the answer is a new message. */
  async function replaceCard(activity: MessageActivity, io: TeamsIO, message: TeamsMessage): Promise<void> {
    if (activity.replyToId) await io.update(activity.replyToId, message)
    else await io.reply(message)
  }

  /**
   * Re-renders the card a click came from with a banner saying what happened. The card is shared
   * (Teams has no private replies), so it changes only for an administrator: anyone else's click
   * is refused in a new message and the card stays as it was.
   */
  async function refreshOrigin(who: Caller, origin: CardOrigin, banner: string, activity: MessageActivity, io: TeamsIO): Promise<void> {
    const now = deps.clock.now()
    switch (origin.kind) {
      case 'list': {
        const list = await listPage(who, origin.filter, origin.page)
        if (list.kind === 'list') return replaceCard(activity, io, renderList(list, now, banner))
        if (list.kind === 'refused') return refuse(list, who, io)
        break
      }
      case 'show': {
        const user = await userById(who.accountId, origin.userId)
        const shown = user ? await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'show', email: user.email } }) : null
        if (shown?.kind === 'show') return replaceCard(activity, io, renderShow(shown.user, shown.history, now, banner))
        if (shown?.kind === 'refused') return refuse(shown, who, io)
        break
      }
      case 'reply': {
        // A one-off prompt carries no query to re-run: ask the core who this is (audited).
        const allowed = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'groups' } })
        if (allowed.kind === 'refused') return refuse(allowed, who, io)
        break
      }
      default: {
        const unreachable: never = origin
        return unreachable
      }
    }
    // A one-off prompt: replaced by what happened, so its buttons are gone.
    await replaceCard(activity, io, renderBannerOnly(banner))
  }

  /** Tells the clicker alone-ish (a new message) why nothing happened; the shared card stays. */
  async function refuse(outcome: CommandOutcome, who: Caller, io: TeamsIO): Promise<void> {
    const explained = explain(outcome, who)
    await io.reply('problem' in explained ? renderProblem(explained.problem) : renderOutcome(explained, { now: deps.clock.now(), actorName: who.name }).message)
  }

  async function openEditCard(who: Caller, user: UserView, origin: CardOrigin, activity: MessageActivity, io: TeamsIO): Promise<void> {
    // Through the core: the administrator check and the audit apply to opening the form too.
    const groups = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'groups' } })
    if (groups.kind !== 'groups') return refuse(groups, who, io)
    await replaceCard(activity, io, renderEditCard(user, groups.groups, origin))
  }

  /** One row action on the user a card names; `confirmed` only from the removal card's Remove. */
  async function rowAction(who: Caller, action: RowAction, userId: string, invitationId: string | null, origin: CardOrigin, confirmed: boolean, activity: MessageActivity, io: TeamsIO): Promise<void> {
    const user = await userById(who.accountId, userId)
    if (!user) {
      log.warn({ userId, accountId: who.accountId }, 'teams click on a user outside the linked account')
      await io.reply(renderProblem('I cannot find that user in this account any more. Send `/invite list` for a fresh list.'))
      return
    }
    const email = user.email
    const command = rowActionCommand(action, email)
    if (!command) return openEditCard(who, user, origin, activity, io)
    const outcome = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command, confirmed, invitationId })
    const explained = explain(outcome, who)
    if ('problem' in explained) {
      await io.reply(renderProblem(explained.problem))
      return
    }
    const rendered = renderOutcome(explained, { now: deps.clock.now(), actorName: who.name, origin })
    switch (explained.kind) {
      case 'link':
        // Never into the shared card: a new message in the right place.
        return deliverLink(rendered.message, email, who, activity, io)
      case 'confirm_remove':
        // The second card asks before acting; it carries the origin so Cancel brings the list back.
        return replaceCard(activity, io, rendered.message)
      case 'refused':
        // Someone acted first: the card is stale, show what happened. Anything else (not an
        // administrator, a send limit) is said in a new message and the shared card stays.
        if (alreadySettled(explained.failure.code)) return refreshOrigin(who, origin, `ℹ️ ${rendered.summary}`, activity, io)
        return io.reply(rendered.message)
      default:
        return refreshOrigin(who, origin, `✅ ${rendered.summary}`, activity, io)
    }
  }

  async function click(activity: MessageActivity, who: Caller, io: TeamsIO): Promise<void> {
    const parsed = CardValue.safeParse(activity.value)
    if (!parsed.success) {
      log.info({ issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'teams card value not recognised')
      await io.reply(renderProblem('That button is not one I know (perhaps from an older version of this app). Nothing was done: send `/invite list` for fresh buttons.'))
      return
    }
    const value = parsed.data
    const now = deps.clock.now()
    switch (value.inviteops) {
      case 'list':
      case 'list.filter': {
        const list = await listPage(who, value.filter, value.inviteops === 'list' ? value.page : 1)
        if (list.kind === 'list') return replaceCard(activity, io, renderList(list, now))
        return refuse(list, who, io)
      }
      case 'cancel':
        return refreshOrigin(who, value.origin, 'Nothing was changed.', activity, io)
      case 'row':
        return rowAction(who, value.action, value.userId, value.invitationId ?? null, value.origin, false, activity, io)
      case 'remove.confirmed':
        return rowAction(who, 'remove', value.userId, null, value.origin, true, activity, io)
      case 'edit.save': {
        const user = await userById(who.accountId, value.userId)
        if (!user) {
          await io.reply(renderProblem('I cannot find that user in this account any more. Send `/invite list` for a fresh list.'))
          return
        }
        // The form sends group ids; names are what the grammar takes. An id that is not one of
        // this account's groups is dropped, and the core refuses an empty choice.
        const listed = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'groups' } })
        if (listed.kind !== 'groups') return refuse(listed, who, io)
        const chosen = new Set((value.groups ?? '').split(',').map((s) => s.trim()))
        const names = listed.groups.filter((g) => chosen.has(g.id)).map((g) => g.name)
        const outcome = await runCommand(deps, { accountId: who.accountId, actor: who.actor, command: { name: 'edit', email: user.email, groups: names } })
        if (outcome.kind !== 'edited') return refuse(outcome, who, io)
        return refreshOrigin(who, value.origin, `✅ ${renderOutcome(outcome, { now, actorName: who.name }).summary}`, activity, io)
      }
      default: {
        const unreachable: never = value
        return unreachable
      }
    }
  }

  return {
    async message(activity, io) {
      const who = await caller(activity, io)
      if (!who) return
      // Action.Submit sends a message with `value` and no text (or the card's title as text on some clients).
      if (activity.value !== undefined && activity.value !== null) return click(activity, who, io)
      return typed(activity, who, io)
    },
  }
}

