import { listGroups } from '../accounts/list-groups.ts'
import { listAudit } from '../audit/list-audit.ts'
import type { Deps } from '../deps.ts'
import { addInvitation } from '../invitations/add-invitation.ts'
import { copyInvitationLink } from '../invitations/copy-invitation-link.ts'
import { regenerateInvitation } from '../invitations/regenerate-invitation.ts'
import { resendInvitation } from '../invitations/resend-invitation.ts'
import type { Actor } from '../invitations/model.ts'
import { editUserGroups } from '../users/edit-user-groups.ts'
import { listUsers } from '../users/list-users.ts'
import { removeUser } from '../users/remove-user.ts'
import { showUser } from '../users/show-user.ts'
import { clearNoticeDestination, setNoticeDestination, showNoticeDestinations, type NoticeDestinationFailure } from '../notices/notice-destinations.ts'
import { HELP_TEXT, USAGE } from './grammar.ts'
import { parseCommand } from './parse-command.ts'
import type { ChatConversation, Command, CommandOutcome } from './types.ts'

export interface RunCommand {
  accountId: string
  actor: Actor
  command: Command
  /** `remove` acts only when confirmed (a button, `--yes`); otherwise it asks. */
  confirmed?: boolean
  /** For `regenerate` and `resend` from a button: the invitation it refers to (idempotency key). */
  invitationId?: string | null
  /** For `resend` from a button: the expiry its message showed (a later one means it was resent meanwhile). */
  seenExpiresAt?: Date | null
  /**
   * From a button or form: the account's user the command acts on, by id. The use case looks the
   * user up by this id (one lookup, scoped to the account); the command's `email` is then ignored
   * (a button passes ''). An id that is not a uuid or not in the account is refused `user.not_found`.
   */
  targetUserId?: string | null
  /**
   * A re-render after a click (the click itself was audited): `list` and `show` check the
   * administrator as always but write no audit entry of their own.
   */
  quiet?: boolean
  /** The chat conversation the command was typed in (`notices here` stores it); absent in the CLI. */
  conversation?: ChatConversation | null
}

/**
 * Run one command of the grammar as an administrator: the same use cases, rules and audit for
 * Slack, Teams and the CLI. Returns what happened; adapters render it.
 */
export async function runCommand(deps: Deps, run: RunCommand): Promise<CommandOutcome> {
  const { accountId, actor, command } = run
  const base = { accountId, actor }
  const target = { targetUserId: run.targetUserId ?? null }
  switch (command.name) {
    case 'help':
      return { kind: 'help', usage: HELP_TEXT }
    case 'list': {
      const r = await listUsers(deps, { ...base, filter: command.filter, page: command.page, quiet: run.quiet ?? false })
      return r.ok ? { kind: 'list', ...r.value } : { kind: 'refused', command, failure: r }
    }
    case 'show': {
      const r = await showUser(deps, { ...base, ...target, email: command.email, quiet: run.quiet ?? false })
      return r.ok ? { kind: 'show', ...r.value } : { kind: 'refused', command, failure: r }
    }
    case 'add': {
      const r = await addInvitation(deps, { ...base, email: command.email, firstName: command.firstName, lastName: command.lastName, groups: command.groups })
      return r.ok ? { kind: 'added', user: r.value.user } : { kind: 'refused', command, failure: r }
    }
    case 'resend': {
      const r = await resendInvitation(deps, { ...base, ...target, email: command.email, invitationId: run.invitationId ?? null, seenExpiresAt: run.seenExpiresAt ?? null })
      return r.ok ? { kind: 'resent', user: r.value.user } : { kind: 'refused', command, failure: r }
    }
    case 'regenerate': {
      const r = await regenerateInvitation(deps, { ...base, ...target, email: command.email, invitationId: run.invitationId ?? null })
      return r.ok ? { kind: 'regenerated', user: r.value.user } : { kind: 'refused', command, failure: r }
    }
    case 'link': {
      const r = await copyInvitationLink(deps, { ...base, ...target, email: command.email })
      return r.ok ? { kind: 'link', ...r.value } : { kind: 'refused', command, failure: r }
    }
    case 'edit': {
      const r = await editUserGroups(deps, { ...base, ...target, email: command.email, groups: command.groups })
      return r.ok ? { kind: 'edited', user: r.value.user } : { kind: 'refused', command, failure: r }
    }
    case 'remove': {
      if (!run.confirmed) {
        // Show first: the same checks (admin, user exists) and an audit line, without the change.
        const r = await showUser(deps, { ...base, ...target, email: command.email })
        if (!r.ok) return { kind: 'refused', command, failure: r }
        if (r.value.user.status === 'removed') return { kind: 'refused', command, failure: { code: 'user.removed', email: r.value.user.email } }
        return { kind: 'confirm_remove', user: r.value.user }
      }
      const r = await removeUser(deps, { ...base, ...target, email: command.email })
      return r.ok ? { kind: 'removed', user: r.value.user } : { kind: 'refused', command, failure: r }
    }
    case 'groups': {
      const r = await listGroups(deps, base)
      return r.ok ? { kind: 'groups', groups: r.value.groups } : { kind: 'refused', command, failure: r }
    }
    case 'audit': {
      const r = await listAudit(deps, { ...base, email: command.email })
      return r.ok ? { kind: 'audit', ...r.value } : { kind: 'refused', command, failure: r }
    }
    case 'notices':
      return runNotices(deps, run, command)
  }
}

/** `notices here|off|show`: only from a chat conversation, whose platform the destination is for. */
async function runNotices(deps: Deps, run: RunCommand, command: Extract<Command, { name: 'notices' }>): Promise<CommandOutcome> {
  const { accountId, actor, conversation } = run
  const refusedInput = (message: string): CommandOutcome => ({ kind: 'usage', failure: { code: 'command.invalid', subcommand: 'notices', message, usage: USAGE.notices } })
  if (!conversation) return refusedInput('`notices` works only from a chat conversation: type it in the channel that should get the notices')
  const refused = (failure: NoticeDestinationFailure): CommandOutcome =>
    failure.code === 'notices.destination_invalid' ? refusedInput(`this conversation cannot get notices (its ${failure.field} ${failure.reason})`) : { kind: 'refused', command, failure }
  switch (command.action) {
    case 'here': {
      const r = await setNoticeDestination(deps, { accountId, actor, platform: conversation.platform, conversationId: conversation.id, conversationName: conversation.name, reference: conversation.reference })
      return r.ok ? { kind: 'notices_set', ...r.value } : refused(r)
    }
    case 'off': {
      const r = await clearNoticeDestination(deps, { accountId, actor, platform: conversation.platform })
      return r.ok ? { kind: 'notices_off', platform: conversation.platform, previous: r.value.previous } : refused(r)
    }
    case 'show': {
      const r = await showNoticeDestinations(deps, { accountId, actor })
      return r.ok ? { kind: 'notices', destinations: r.value.destinations } : { kind: 'refused', command, failure: r }
    }
  }
}

/** Parse then run: what an adapter calls with the raw text of `/invite …`. */
export async function runCommandText(deps: Deps, run: Omit<RunCommand, 'command'> & { text: string }): Promise<CommandOutcome> {
  const parsed = parseCommand(run.text)
  if (!parsed.ok) return { kind: 'usage', failure: parsed.failure }
  return runCommand(deps, { ...run, command: parsed.command })
}
