import type { CommandOutcome } from '../../src/commands/types.ts'
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import type { AuditEntry, UserView } from '../../src/invitations/model.ts'
import type { EmailProblem } from '../../src/shared/email-address.ts'
import { describeNameProblem, oneLine } from '../../src/shared/names.ts'

/** Terminal wording for `inviteops run`: one exhaustive switch per union (docs/architecture.md). */

export function formatDay(d: Date): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d)
}

export function formatTime(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** The Joined cell of docs/commands.md. */
export function joinedCell(u: UserView, now: Date): string {
  switch (u.status) {
    case 'active':
      return u.joinedAt ? `Joined ${formatDay(u.joinedAt)}` : 'Active'
    case 'invited': {
      const days = Math.ceil(((u.invitation?.expiresAt.getTime() ?? now.getTime()) - now.getTime()) / 86_400_000)
      return days <= 1 ? 'Invited · expires within a day' : `Invited · expires in ${days} days`
    }
    case 'expired':
      return u.invitation ? `Invitation expired · ${formatDay(u.invitation.expiresAt)}` : 'Invitation expired'
    case 'declined':
      return 'Declined'
    case 'removed':
      return 'Removed'
  }
}

const EMAIL_PROBLEMS: Record<EmailProblem, string> = {
  empty: 'is empty',
  too_long: 'is too long',
  control_characters: 'contains a line break or control character',
  several_addresses: 'must be one address, not a list',
  malformed: 'is not a valid email address',
  not_ascii: 'must use plain ASCII before the @',
}

/**
 * Why a name was refused, after the words naming it ("--name …"): the wording the chat commands
 * use too, kept under the name `main.ts` imports.
 */
export const nameProblemText = describeNameProblem

export function failureText(f: LifecycleFailure): string {
  switch (f.code) {
    case 'auth.not_admin':
      return 'Only an Active administrator of this account can do that.'
    case 'account.not_found':
      return 'That account does not exist.'
    case 'email.invalid':
      return `"${f.input.slice(0, 80)}" ${EMAIL_PROBLEMS[f.reason]}.`
    case 'user.name_required':
      return `${f.email} is new here: give their name with --name "First Last".`
    case 'group.required':
      return 'Name at least one group with --group.'
    case 'group.not_found':
      return `No group named ${oneLine(f.missing.join(', '))}. Groups: ${oneLine(f.available.join(', ')) || 'none'}.`
    case 'user.not_found':
      return `${f.email} is not a user of this account. Invite them with: add ${f.email} --name "First Last"`
    case 'user.already_invited':
      return `${f.email} is already invited (link valid until ${formatDay(f.expiresAt)}): use resend to email it again.`
    case 'user.already_active':
      return `${f.email} is already Active${f.joinedAt ? ` (joined ${formatDay(f.joinedAt)})` : ''}: there is no invitation to act on.`
    case 'user.removed':
      return `${f.email} was removed from this account: use add to invite them again.`
    case 'user.declined':
      return `${f.email} declined the invitation: use add to invite them again.`
    case 'invitation.expired':
      return `The invitation to ${f.email} expired on ${formatDay(f.expiredAt)}: use regenerate to send a new one.`
    case 'invitation.still_valid':
      return `The invitation to ${f.email} is still valid until ${formatDay(f.expiresAt)}: use resend to email it again.`
    case 'invitation.already_replaced':
      return `A new invitation was already sent to ${f.email}${f.by ? ` by ${f.by}` : ''} at ${formatTime(f.at)}, valid until ${formatDay(f.expiresAt)}.`
    case 'invitation.already_resent':
      return `The invitation to ${f.email} was already sent again${f.by ? ` by ${f.by}` : ''} at ${formatTime(f.at)}, valid until ${formatDay(f.expiresAt)}: no second email was sent.`
    case 'user.cannot_remove_self':
      return 'You cannot remove yourself.'
    case 'user.last_admin':
      return `${f.email} is the last administrator of this account: make someone else an administrator first.`
    case 'limit.admin_sends':
      return `You have sent ${f.limit} emails in the last hour, the limit: try again after ${formatTime(f.retryAt)}.`
    case 'limit.recipient_sends':
      return `${f.email} got ${f.limit} emails today, the limit: try again after ${formatTime(f.retryAt)}.`
    case 'email.suppressed':
      return `Emails to ${f.email} are suppressed (${f.reason}): check the address with them; it cannot receive invitations.`
    default: {
      const unhandled: never = f
      return `Refused (${(unhandled as { code: string }).code}).`
    }
  }
}

// Names and group names are shown through `oneLine`: a name stored before the name rule could hold
// a line break or a terminal escape sequence, which must not forge a line or drive the terminal.
const groupsOf = (u: UserView): string => oneLine(u.groups.join(', '))
const nameOf = (u: UserView): string => oneLine(`${u.firstName} ${u.lastName}`.trim())

function userLine(u: UserView, now: Date): string {
  return `${u.email.padEnd(32)} ${(nameOf(u) || '—').padEnd(24)} ${(groupsOf(u) || '—').padEnd(24)} ${joinedCell(u, now)}`
}

function userDetails(u: UserView, now: Date): string[] {
  const lines = [`${u.email} — ${nameOf(u) || '(no name)'}`, `  status:  ${joinedCell(u, now)}`, `  groups:  ${groupsOf(u) || '—'}`]
  if (u.invitation) {
    const i = u.invitation
    lines.push(`  invited: ${formatTime(i.createdAt)}${i.invitedBy ? ` by ${i.invitedBy}` : ''}; emails sent: ${i.sentCount}`)
    if (i.delivery) lines.push(`  email:   ${i.delivery.status}${i.delivery.messageId ? ` (id ${i.delivery.messageId})` : ''}${i.delivery.detail ? ` — ${oneLine(i.delivery.detail)}` : ''}`)
  }
  lines.push(`  actions: ${u.actions.join(', ') || 'none'}`)
  return lines
}

function auditLine(e: AuditEntry): string {
  const who = e.actor.email ?? `${e.actor.platform}:${e.actor.platformUserId}`
  return `${formatTime(e.at)}  ${who}  ${e.action}${e.targetEmail ? ` ${e.targetEmail}` : ''}  → ${e.resultCode}`
}

/** Text for a terminal, and whether it counts as success (the exit code). */
export function renderOutcome(o: CommandOutcome, now: Date): { ok: boolean; text: string } {
  switch (o.kind) {
    case 'help':
      return { ok: true, text: `Commands:\n${o.usage}` }
    case 'usage':
      return { ok: false, text: `${o.failure.message}.\nUsage: ${o.failure.usage}` }
    case 'refused':
      return { ok: false, text: failureText(o.failure) }
    case 'list': {
      if (o.total === 0) return { ok: true, text: o.filter === 'all' ? 'No users yet.' : `No ${o.filter} users.` }
      const head = `Users (${o.filter}) — page ${o.page} of ${o.pageCount}, ${o.total} in all`
      return { ok: true, text: [head, ...o.users.map((u) => userLine(u, now))].join('\n') }
    }
    case 'show':
      return { ok: true, text: [...userDetails(o.user, now), '  history:', ...o.history.map((e) => `    ${auditLine(e)}`)].join('\n') }
    case 'added':
      return { ok: true, text: `Invited ${o.user.email} (${groupsOf(o.user)}); the link is valid until ${formatDay(o.user.invitation!.expiresAt)}.` }
    case 'resent':
      return { ok: true, text: `Sent the invitation to ${o.user.email} again; valid until ${formatDay(o.user.invitation!.expiresAt)}.` }
    case 'regenerated':
      return { ok: true, text: `Sent a new invitation to ${o.user.email}, valid until ${formatDay(o.user.invitation!.expiresAt)}. The old link no longer works.` }
    case 'link':
      return { ok: true, text: `${o.url}\n(valid until ${formatTime(o.expiresAt)}; keep it private — anyone with it can accept)` }
    case 'edited':
      return { ok: true, text: `${o.user.email} is now in: ${groupsOf(o.user)}.` }
    case 'confirm_remove':
      return { ok: false, text: `This removes ${o.user.email} (${joinedCell(o.user, now)}) from the account. Run again with --yes to confirm.` }
    case 'removed':
      return { ok: true, text: `Removed ${o.user.email}. They were told by email and can be invited again later.` }
    case 'groups':
      return { ok: true, text: o.groups.map((g) => `${oneLine(g.name)}${g.isAdmin ? ' (administrators)' : ''} — ${g.memberCount} member${g.memberCount === 1 ? '' : 's'}`).join('\n') }
    case 'audit':
      return { ok: true, text: o.entries.length === 0 ? 'No audit entries.' : o.entries.map(auditLine).join('\n') }
    // `notices` is refused in the terminal (it needs a chat conversation): these come only from chat.
    case 'notices_set':
      return { ok: true, text: `Notices on ${o.destination.platform} now go to ${oneLine(o.destination.conversationName ?? o.destination.conversationId)}.` }
    case 'notices_off':
      return { ok: true, text: `Notices on ${o.platform} are off.` }
    case 'notices':
      return { ok: true, text: o.destinations.length === 0 ? 'Notices go nowhere yet.' : o.destinations.map((d) => `${d.platform}: ${oneLine(d.conversationName ?? d.conversationId)}`).join('\n') }
    default: {
      const unhandled: never = o
      return { ok: false, text: `Unexpected outcome ${(unhandled as { kind: string }).kind}` }
    }
  }
}
