/**
 * The two small interfaces a chat platform implements for the chat session (session.ts,
 * docs/architecture.md): a presenter, pure, from the core's outcomes to the platform's messages;
 * and an I/O port over one request, which delivers them. Everything else of the flow is the
 * session's, written once for every platform.
 */
import type { ChatConversation, CommandOutcome, ListFilter } from '../../src/commands/types.ts'
import type { Actor, GroupView, UserView } from '../../src/invitations/model.ts'

/** The kinds of notice with buttons (docs/notices.md): what a notice's rows offer and how it is re-rendered after a click. */
export const noticeKinds = ['expired', 'requested', 'expiring_soon'] as const
export type NoticeKind = (typeof noticeKinds)[number]

/**
 * Where a button was: a list page (its filter and page), a user's card, a channel notice (on
 * platforms that re-render a notice, which kind and the users of its rows, at most 10), or a
 * one-off reply (a prompt).
 */
export type ChatOrigin =
  | { kind: 'list'; filter: ListFilter; page: number }
  | { kind: 'show'; userId: string }
  | { kind: 'notice'; notice?: NoticeKind; userIds?: string[] }
  | { kind: 'reply' }

/** Who is calling, on a linked account. */
export interface ChatCaller {
  accountId: string
  actor: Actor
  /** Why the platform could not vouch for the caller's email, in its words; null when it did. */
  unvouched: string | null
  /** The reader's time zone (IANA name; UTC when the platform does not say). */
  timeZone: string
}

/** What a presenter knows when it renders. */
export interface PresentContext {
  now: Date
  /** The reader's zone: every date is shown in it, and every time of day names it. */
  timeZone: string
  /** Who acted (confirmations name them). */
  actor: Actor
  /** Where a click came from, carried on by prompts (removal, edit). */
  origin: ChatOrigin
}

/** How one outcome is shown. */
export interface Presented<M> {
  /** For the caller alone (a list, a refusal, help, a link secret); null when `public` says it all. */
  private: M | null
  /** For the conversation: the outcome changed something. Never a link secret. */
  public: M | null
  /** One line, for the banner of a message updated in place after a click. */
  summary: string
}

/** What re-rendering a notice after a click needs. */
export interface NoticeRefresh {
  origin: Extract<ChatOrigin, { kind: 'notice' }>
  /** The notice's users as they are now (empty where the platform's origin does not name them). */
  users: UserView[]
  banner: string
  /** The user of the row clicked. */
  clickedUserId: string | null
  /** The platform's click as it came (Slack sends the message back: its other rows stay as they were). */
  source: unknown
  ctx: PresentContext
}

/**
 * A platform's words and formats. Pure: the same input gives the same message, nothing is sent.
 * `M` is one message (Block Kit, an Adaptive Card, text); `F` the edit form (Slack: a modal).
 */
export interface ChatPresenter<M, F = M> {
  /** Every outcome of the core: one exhaustive switch per platform. */
  outcome(outcome: CommandOutcome, ctx: PresentContext): Presented<M>
  /** A list page, with a banner after a click. */
  list(list: Extract<CommandOutcome, { kind: 'list' }>, ctx: PresentContext, banner?: string): M
  /** A user's card, with a banner after a click. */
  show(shown: Extract<CommandOutcome, { kind: 'show' }>, ctx: PresentContext, banner?: string): M
  /** A notice re-rendered after a click; null when the platform cannot (the banner alone then replaces it). */
  notice(refresh: NoticeRefresh): M | null
  /** A message replaced by what happened: no buttons left, so nobody acts twice. */
  bannerOnly(banner: string): M
  /** A short, harmless answer to input we could not use, or a refusal's reason. */
  problem(text: string): M
  /** The edit form: the account's groups, the user's ticked. */
  editForm(user: UserView, groups: GroupView[], ctx: PresentContext): F
  /** Said where a link was asked for, when the link itself went to a private chat. */
  linkSentPrivately(email: string, ctx: PresentContext): M
  /** A banner line: `done` after a change, `info` when someone acted first. */
  banner(tone: 'done' | 'info', summary: string): string
  /**
   * Said to the administrator alone after `notices here` in a conversation the app cannot post
   * in (Slack: not a member of the channel): the notices cannot arrive until they add it. The
   * destination is kept. Absent where the platform cannot tell.
   */
  noticesNeedMembership?(ctx: PresentContext): M
}

/**
 * Delivery over one request (a typed command, a click, a form), implemented by each platform's
 * edge over its transport. Each call has the platform's deadline.
 */
export interface ChatIO<M, F = M> {
  /** To the caller alone where the platform can (Slack: ephemeral; Teams: the conversation, or the clicker alone after an Action.Execute). */
  replyPrivately(message: M): Promise<void>
  /**
   * To the conversation: the confirmation of a change. `not_member` when the app may not post
   * there itself (the platform's edge then confirmed another way where it can).
   */
  post(message: M): Promise<void | 'not_member'>
  /**
   * Replaces the message a click came from (for everyone who sees it; with `onlyForCaller`, for
   * the caller alone where the platform can, else in a new private reply).
   */
  update(message: M, opts?: { onlyForCaller?: boolean }): Promise<void>
  /** Opens the edit form; false when it cannot (the caller is then told the command to type). */
  openForm(form: F): Promise<boolean>
  /** A link secret, where only the caller reads it: `here` in reply, or `elsewhere` (a private chat). */
  sendSecret(message: M): Promise<'here' | 'elsewhere'>
  /**
   * Whether list and user cards are shared with the conversation (Teams) rather than seen by the
   * caller alone (Slack's ephemeral messages). A shared card is never rewritten by a refusal, and
   * the card updated after a click is itself the confirmation.
   */
  readonly sharedCards: boolean
  /** The conversation of this request (what `/invite notices here` stores); null when unknown. */
  conversation(): ChatConversation | null
}
