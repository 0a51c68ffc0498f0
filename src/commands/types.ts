import type { ChatPlatform } from '../chat/platform.ts'
import type { LifecycleFailure } from '../invitations/failures.ts'
import type { AuditEntry, DisplayStatus, GroupView, RowAction, UserView } from '../invitations/model.ts'
import type { NoticeDestinationView } from '../notices/notice-destinations.ts'

/** `/invite list` filters (docs/commands.md). */
export type ListFilter = DisplayStatus | 'all'

/** A parsed `/invite …` command: one grammar for Slack, Teams and the CLI (docs/commands.md). */
export type Command =
  | { name: 'help' }
  | { name: 'list'; filter: ListFilter; page: number }
  | { name: 'show'; email: string }
  | { name: 'add'; email: string; firstName: string | null; lastName: string | null; groups: string[] }
  | { name: 'resend'; email: string }
  | { name: 'regenerate'; email: string }
  | { name: 'link'; email: string }
  | { name: 'edit'; email: string; groups: string[] }
  | { name: 'remove'; email: string }
  | { name: 'groups' }
  | { name: 'audit'; email: string | null }
  /** `notices here` / `notices off` / `notices`: where this platform's notices go (docs/notices.md). */
  | { name: 'notices'; action: NoticesAction }

/** What `/invite notices …` asks: make this conversation the destination, stop notices, or say where they go. */
export type NoticesAction = 'here' | 'off' | 'show'

/**
 * The chat conversation a command was typed in, as its platform names it: what `/invite notices
 * here` stores. `reference` is whatever the platform needs to post there unprompted (Teams: the
 * conversation reference), null when the id suffices (Slack).
 */
export interface ChatConversation {
  platform: ChatPlatform
  id: string
  name: string | null
  reference: unknown
}

export type CommandName = Command['name']

/** Why text did not parse: the adapter shows `usage` (never a stack trace). */
export interface ParseFailure {
  code: 'command.unknown' | 'command.invalid'
  /** The subcommand the text named, when it named a known one. */
  subcommand: CommandName | null
  /** One sentence on what was wrong, without platform wording ("`--name` needs a first and last name"). */
  message: string
  /** The usage line of that subcommand, or of all of them. */
  usage: string
}

/**
 * What running a command produced. Adapters render each kind in their own idiom; `refused`
 * carries the lifecycle failure with its stable code.
 */
export type CommandOutcome =
  | { kind: 'help'; usage: string }
  | { kind: 'usage'; failure: ParseFailure }
  | { kind: 'refused'; command: Command; failure: LifecycleFailure }
  | { kind: 'list'; filter: ListFilter; page: number; pageCount: number; total: number; pageSize: number; users: UserView[] }
  | { kind: 'show'; user: UserView; history: AuditEntry[] }
  | { kind: 'added'; user: UserView }
  | { kind: 'resent'; user: UserView }
  | { kind: 'regenerated'; user: UserView }
  | { kind: 'link'; user: UserView; url: string; expiresAt: Date }
  | { kind: 'edited'; user: UserView }
  /** `remove` was asked without confirmation: the adapter asks (button, `--yes`). */
  | { kind: 'confirm_remove'; user: UserView }
  | { kind: 'removed'; user: UserView }
  | { kind: 'groups'; groups: GroupView[] }
  | { kind: 'audit'; email: string | null; entries: AuditEntry[] }
  /** `notices here`: this conversation now gets the platform's notices (`previous`: where they went before). */
  | { kind: 'notices_set'; destination: NoticeDestinationView; previous: NoticeDestinationView | null }
  /** `notices off`: the platform's notices stopped (`previous`: where they went, null when nowhere). */
  | { kind: 'notices_off'; platform: ChatPlatform; previous: NoticeDestinationView | null }
  /** `notices`: where the account's notices go, on every platform. */
  | { kind: 'notices'; destinations: NoticeDestinationView[] }

/**
 * The command a row button runs on the user `email`, or `null` for `edit`, which first asks which
 * groups (a form, on every platform).
 */
export function rowActionCommand(action: RowAction, email: string): Command | null {
  switch (action) {
    case 'resend':
    case 'regenerate':
    case 'link':
    case 'remove':
      return { name: action, email }
    case 'edit':
      return null
    default: {
      const unreachable: never = action
      return unreachable
    }
  }
}
