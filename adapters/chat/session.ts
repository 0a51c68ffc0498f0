/**
 * The chat session: what every chat platform does with a request once its edge has verified and
 * parsed it, written once (docs/architecture.md). Who is calling (the linked account, the email
 * the platform vouches for), running the command in the core, explaining a refusal, list pages,
 * row buttons (by ids: the core looks the user up by `targetUserId`), re-rendering the message a
 * click came from (quietly: the click was audited, the re-render is not), the edit form, remove's
 * confirmation, the link secret that never goes where others read it, confirmations of changes.
 *
 * A platform brings two small things (adapters/chat/ports.ts): a presenter (outcome → its
 * message format, pure) and an I/O port over one request (reply privately, post to the
 * conversation, update the message a click came from, open a form). Slack and Teams keep only
 * transport, verification, payload parsing, identity lookup, rendering and delivery.
 */
import { linkedAccountId } from '../../src/accounts/linked-account.ts'
import type { FirstTimeAndLinks } from '../../src/chat/deliveries.ts'
import type { ChatPlatform } from '../../src/chat/platform.ts'
import { runCommand, runCommandText, type RunCommand } from '../../src/commands/run-command.ts'
import { rowActionCommand, type Command, type CommandOutcome, type ListFilter } from '../../src/commands/types.ts'
import type { Deps } from '../../src/deps.ts'
import { alreadySettled } from '../../src/invitations/failures.ts'
import type { Actor, RowAction } from '../../src/invitations/model.ts'
import { zoneOrUtc } from '../../src/shared/dates.ts'
import { usersByIds } from '../../src/users/users-by-ids.ts'
import type { ChatCaller, ChatIO, ChatOrigin, ChatPresenter, NoticeRefresh, PresentContext } from './ports.ts'

/** What a click asks, once the platform's edge has parsed its button's data. */
export type ChatClick =
  /** A row action; `confirmed` only from the confirmation of a removal. `source`: the platform's click, for its presenter. */
  | {
      kind: 'row'
      action: RowAction
      userId: string
      /** The invitation the button was about (regenerate, resend), and the expiry it showed (resend). */
      invitationId: string | null
      seenExpiresAt?: Date | null
      origin: ChatOrigin
      confirmed: boolean
      source?: unknown
    }
  /** Paging and the status filter of a list. */
  | { kind: 'page'; filter: ListFilter; page: number }
  /** Back out of a removal or an edit: the message it came from is shown again. */
  | { kind: 'cancel'; origin: ChatOrigin; source?: unknown }
  /** A button we did not write (another app's, an older version's). */
  | { kind: 'unknown' }
  /** One of ours whose data is not what it should be. */
  | { kind: 'stale' }

/** What saving the edit form did: a refusal to show in the form, or the confirmations to send. */
export type SaveResult<M> = { ok: true; after: () => Promise<void> } | { ok: false; error: string; message: M }

/** Who is asking, as the platform's edge found out (its identity lookup). */
export interface Identified {
  actor: Actor
  /** Why the platform could not vouch for an email, in its words; null when it did. */
  unvouched: string | null
  /** The reader's time zone where the platform tells it (an IANA name), else null. */
  timeZone: string | null
}

/** Links read already in this request's delivery-ledger statement (`firstTimeWithLinks`). */
export type KnownLinks = Pick<FirstTimeAndLinks, 'links' | 'looked'>

export interface ChatSession<M, F> {
  /**
   * The account linked to the platform's workspace or tenant `externalId`, or null. `known`: the
   * links this request's ledger statement read a moment ago; an id it read is answered from it,
   * any other is read now.
   */
  linkedAccount(externalId: string, known?: KnownLinks | null): Promise<string | null>
  /** The caller of one request, on a linked account. */
  caller(accountId: string, who: Identified): ChatCaller
  /** `/invite …` as typed (the platform's own markup already read back into plain text). */
  typed(who: ChatCaller, text: string, io: ChatIO<M, F>): Promise<void>
  /** A click on one of our buttons. */
  click(who: ChatCaller, click: ChatClick, io: ChatIO<M, F>): Promise<void>
  /** The edit form saved, with the groups chosen (by id or by name, as the platform's form sends them). */
  saveGroups(who: ChatCaller, input: { userId: string; groupIds?: readonly string[]; groupNames?: readonly string[]; origin: ChatOrigin }, io: ChatIO<M, F>): Promise<SaveResult<M>>
}

/** The words of the session itself (the outcomes are worded by each presenter). */
export const SESSION_WORDS = {
  unknownButton: 'That button is not one I know (perhaps from an older version of this app). Nothing was done: `/invite list` gives fresh buttons.',
  staleButton: 'That button does not carry what I expected, so nothing was done. `/invite list` gives fresh buttons.',
  nothingChanged: 'Nothing was changed.',
  unknownForm: 'This form is not one I know: close it and try again from `/invite list`.',
  editByCommand: (email: string) => `Use \`/invite edit ${email} --group <name>\` to change the groups.`,
} as const

/** The session of one platform: its name (for the linked accounts) and its presenter. */
export function createChatSession<M, F>(deps: Deps, platform: ChatPlatform, presenter: ChatPresenter<M, F>): ChatSession<M, F> {
  const log = deps.logger.child({ adapter: platform })

  function ctx(who: ChatCaller, origin: ChatOrigin = { kind: 'reply' }): PresentContext {
    return { now: deps.clock.now(), timeZone: who.timeZone, actor: who.actor, origin }
  }

  function run(who: ChatCaller, command: Command, extra: Omit<RunCommand, 'accountId' | 'actor' | 'command'> = {}): Promise<CommandOutcome> {
    return runCommand(deps, { accountId: who.accountId, actor: who.actor, command, ...extra })
  }

  /** A not-admin refusal of someone the platform could not vouch for says why, in the platform's words. */
  function unvouched(outcome: CommandOutcome, who: ChatCaller): string | null {
    if (outcome.kind === 'refused' && outcome.failure.code === 'auth.not_admin' && who.unvouched) {
      return `${who.unvouched} Only an active administrator of this account can manage invitations.`
    }
    return null
  }

  /** Says a refusal (or any outcome that changes nothing) to the caller alone. */
  async function tell(who: ChatCaller, outcome: CommandOutcome, io: ChatIO<M, F>, origin?: ChatOrigin): Promise<void> {
    const problem = unvouched(outcome, who)
    if (problem) return io.replyPrivately(presenter.problem(problem))
    const shown = presenter.outcome(outcome, ctx(who, origin))
    await io.replyPrivately(shown.private ?? shown.public ?? presenter.problem(shown.summary))
  }

  /** A link secret: where only the caller reads it; if that is elsewhere, the conversation hears where it went. */
  async function secret(who: ChatCaller, outcome: Extract<CommandOutcome, { kind: 'link' }>, io: ChatIO<M, F>): Promise<void> {
    const shown = presenter.outcome(outcome, ctx(who))
    if (!shown.private) return
    const where = await io.sendSecret(shown.private)
    if (where === 'elsewhere') await io.replyPrivately(presenter.linkSentPrivately(outcome.user.email, ctx(who)))
  }

  /** What a fresh request (typed) produced: privately what only the caller needs, publicly what changed. */
  async function deliver(who: ChatCaller, outcome: CommandOutcome, io: ChatIO<M, F>): Promise<void> {
    const problem = unvouched(outcome, who)
    if (problem) return io.replyPrivately(presenter.problem(problem))
    if (outcome.kind === 'link') return secret(who, outcome, io)
    const shown = presenter.outcome(outcome, ctx(who))
    if (shown.private) await io.replyPrivately(shown.private)
    if (!shown.public) return
    const posted = await io.post(shown.public)
    // The destination stays (they may add the app next), but nothing will arrive until they do.
    if (posted === 'not_member' && outcome.kind === 'notices_set' && presenter.noticesNeedMembership) await io.replyPrivately(presenter.noticesNeedMembership(ctx(who)))
  }

  /**
   * Re-renders the message a click came from with a banner saying what happened: the list keeps
   * its filter and page, a card shows the user as they are now, a notice its rows as they are now
   * (the clicked one with the banner). `checked`: the click already proved an administrator;
   * otherwise (a Cancel) the core is asked first, audited, since re-renders are quiet and a
   * prompt carries no query to re-run.
   *
   * A notice is shared by its channel: it is re-rendered (banner and announcement included) in the
   * account's time zone, as it was posted, never in the clicker's. `said` words the banner and
   * `announce` (posted first where cards are not shared) in the zone of the message they go with.
   */
  async function refresh(
    who: ChatCaller,
    origin: ChatOrigin,
    said: (context: PresentContext) => string,
    io: ChatIO<M, F>,
    opts: { checked: boolean; clickedUserId?: string; source?: unknown; announce?: (context: PresentContext) => M | null },
  ): Promise<void> {
    if (!opts.checked) {
      // Nothing proved an administrator yet (a Cancel): ask the core, audited, before anything is replaced.
      const allowed = await run(who, { name: 'groups' })
      if (allowed.kind === 'refused') return tell(who, allowed, io)
    }
    let context = ctx(who, origin)
    let notice: NoticeRefresh | null = null
    if (origin.kind === 'notice') {
      // One quiet read: the notice's users as they are now and the account's zone.
      const now = await usersByIds(deps, { accountId: who.accountId, actor: who.actor, userIds: origin.userIds ?? [] })
      if (!now.ok) return tell(who, { kind: 'refused', command: { name: 'list', filter: 'all', page: 1 }, failure: now }, io)
      context = { ...context, timeZone: zoneOrUtc(now.value.accountTimeZone) }
      notice = { origin, users: now.value.users, banner: '', clickedUserId: opts.clickedUserId ?? null, source: opts.source, ctx: context }
    }
    const banner = said(context)
    const announcement = opts.announce?.(context)
    if (announcement && !io.sharedCards) await io.post(announcement)
    switch (origin.kind) {
      case 'list': {
        const list = await run(who, { name: 'list', filter: origin.filter, page: origin.page }, { quiet: true })
        if (list.kind === 'list') return io.update(presenter.list(list, context, banner))
        if (list.kind === 'refused') return tell(who, list, io)
        break
      }
      case 'show': {
        const shown = await run(who, { name: 'show', email: '' }, { targetUserId: origin.userId, quiet: true })
        if (shown.kind === 'show') return io.update(presenter.show(shown, context, banner))
        if (shown.kind === 'refused' && shown.failure.code === 'auth.not_admin') return tell(who, shown, io)
        break
      }
      case 'notice': {
        const updated = notice && presenter.notice({ ...notice, banner })
        if (updated) return io.update(updated)
        break
      }
      case 'reply':
        break
      default: {
        const unreachable: never = origin
        return unreachable
      }
    }
    // A one-off prompt: replaced by what happened, so its buttons are gone.
    await io.update(presenter.bannerOnly(banner))
  }

  async function openEditForm(who: ChatCaller, userId: string, origin: ChatOrigin, io: ChatIO<M, F>): Promise<void> {
    // Both through the core: the administrator check and the audit apply to opening the form too.
    const shown = await run(who, { name: 'show', email: '' }, { targetUserId: userId })
    if (shown.kind !== 'show') return tell(who, shown, io)
    const groups = await run(who, { name: 'groups' })
    if (groups.kind !== 'groups') return tell(who, groups, io)
    const opened = await io.openForm(presenter.editForm(shown.user, groups.groups, ctx(who, origin)))
    if (!opened) await io.replyPrivately(presenter.problem(SESSION_WORDS.editByCommand(shown.user.email)))
  }

  /** One row action on the user a button names, by id. */
  async function rowAction(who: ChatCaller, click: Extract<ChatClick, { kind: 'row' }>, io: ChatIO<M, F>): Promise<void> {
    const { origin } = click
    const command = rowActionCommand(click.action, '')
    if (!command) return openEditForm(who, click.userId, origin, io)
    const outcome = await run(who, command, { confirmed: click.confirmed, invitationId: click.invitationId, seenExpiresAt: click.seenExpiresAt ?? null, targetUserId: click.userId })
    if (outcome.kind === 'refused' && outcome.failure.code === 'user.not_found') {
      log.warn({ userId: click.userId, accountId: who.accountId }, 'click on a user outside the linked account')
    }
    const problem = unvouched(outcome, who)
    if (problem) return io.replyPrivately(presenter.problem(problem))
    const shown = presenter.outcome(outcome, ctx(who, origin))
    switch (outcome.kind) {
      case 'link':
        // A new message in the right place: never into a message others might see.
        return secret(who, outcome, io)
      case 'confirm_remove':
        // The question replaces the message for the caller alone where the platform can.
        if (shown.private) await io.update(shown.private, { onlyForCaller: true })
        return
      case 'refused': {
        // Someone acted first: the message is stale, show what happened. Anything else (not an
        // administrator, a send limit) is said to the caller; a message the conversation shares stays.
        const privateCard = !io.sharedCards && (origin.kind === 'list' || origin.kind === 'show') && outcome.failure.code !== 'user.not_found'
        if (alreadySettled(outcome.failure.code) || privateCard) {
          return refresh(who, origin, (c) => presenter.banner('info', presenter.outcome(outcome, c).summary), io, { checked: true, clickedUserId: click.userId, source: click.source })
        }
        return tell(who, outcome, io, origin)
      }
      default:
        // Where cards are shared, the card updated in place is the confirmation; elsewhere the conversation is told.
        return refresh(who, origin, (c) => presenter.banner('done', presenter.outcome(outcome, c).summary), io, {
          checked: true,
          clickedUserId: click.userId,
          source: click.source,
          announce: (c) => presenter.outcome(outcome, c).public,
        })
    }
  }

  return {
    async linkedAccount(externalId, known) {
      const accountId = known?.looked.has(externalId) ? (known.links.get(externalId) ?? null) : await linkedAccountId(deps, platform, externalId)
      if (!accountId) log.info({ externalId }, 'request from an unlinked workspace or tenant')
      return accountId
    },

    caller(accountId, who) {
      return { accountId, actor: who.actor, unvouched: who.unvouched, timeZone: zoneOrUtc(who.timeZone) }
    },

    async typed(who, text, io) {
      const outcome = await runCommandText(deps, { accountId: who.accountId, actor: who.actor, text, conversation: io.conversation() })
      await deliver(who, outcome, io)
    },

    async click(who, click, io) {
      switch (click.kind) {
        case 'unknown':
          return io.replyPrivately(presenter.problem(SESSION_WORDS.unknownButton))
        case 'stale':
          return io.replyPrivately(presenter.problem(SESSION_WORDS.staleButton))
        case 'page': {
          const list = await run(who, { name: 'list', filter: click.filter, page: click.page })
          if (list.kind === 'list') return io.update(presenter.list(list, ctx(who, { kind: 'list', filter: click.filter, page: click.page })))
          return tell(who, list, io)
        }
        case 'cancel':
          return refresh(who, click.origin, () => SESSION_WORDS.nothingChanged, io, { checked: false, source: click.source })
        case 'row':
          return rowAction(who, click, io)
        default: {
          const unreachable: never = click
          return unreachable
        }
      }
    },

    async saveGroups(who, input, io) {
      let names = [...(input.groupNames ?? [])]
      if (input.groupIds) {
        // A form that sends group ids (names may hold commas): an id that is not one of this
        // account's groups is dropped, and the core refuses an empty choice.
        const listed = await run(who, { name: 'groups' })
        if (listed.kind !== 'groups') return refusal(listed)
        const chosen = new Set(input.groupIds)
        names = listed.groups.filter((g) => chosen.has(g.id)).map((g) => g.name)
      }
      const outcome = await run(who, { name: 'edit', email: '', groups: names }, { targetUserId: input.userId })
      if (outcome.kind !== 'edited') return refusal(outcome)
      return {
        ok: true,
        after: () =>
          refresh(who, input.origin, (c) => presenter.banner('done', presenter.outcome(outcome, c).summary), io, {
            checked: true,
            clickedUserId: input.userId,
            announce: (c) => presenter.outcome(outcome, c).public,
          }),
      }

      function refusal(outcome: CommandOutcome): SaveResult<M> {
        const problem = unvouched(outcome, who)
        if (problem) return { ok: false, error: problem, message: presenter.problem(problem) }
        const shown = presenter.outcome(outcome, ctx(who, input.origin))
        return { ok: false, error: shown.summary, message: shown.private ?? presenter.problem(shown.summary) }
      }
    },
  }
}
