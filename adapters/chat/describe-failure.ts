/**
 * The words Slack and Teams give every refusal of the core, naming the right action where there is
 * one (docs/lifecycle.md): one exhaustive switch for both chat platforms, each supplying its markup
 * (escaping, inline code, emphasis) and its names. The CLI words them for a terminal itself.
 */
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import type { EmailProblem } from '../../src/shared/email-address.ts'
import { formatDay, formatDayTime } from '../../src/shared/dates.ts'

/** How a chat platform marks text up, and what it calls things. */
export interface ChatStyle {
  /** Escapes an email address or a code for the platform's markup, on one line. */
  esc(text: string): string
  /** Escapes a name someone chose (a group's, a person's) so it shows as plain text: no markup, no link. */
  escName(text: string): string
  /** Inline code (a command to type); escapes its content itself. */
  code(text: string): string
  /** Emphasis around already escaped text. */
  strong(text: string): string
  /** "Slack", "Teams". */
  platform: string
  /** What is linked to an account: "workspace", "tenant". */
  place: string
  /** The operator command that links it, after `inviteops `: "slack connect". */
  connect: string
}

/** Words for every refusal of the core, naming the right action where there is one (docs/lifecycle.md). */
export function describeFailure(failure: LifecycleFailure, now: Date, style: ChatStyle, timeZone?: string): string {
  const { esc, escName, code, strong } = style
  const day = (date: Date) => formatDay(date, now, timeZone)
  const dayTime = (date: Date) => formatDayTime(date, now, timeZone)
  switch (failure.code) {
    case 'auth.not_admin':
      return `Only an active administrator of this account can do that. If you are one, check that your ${style.platform} email is the one your account knows.`
    case 'account.not_found':
      return `The account linked to this ${style.place} no longer exists. Ask your operator to link it again with \`inviteops ${style.connect}\`.`
    case 'email.invalid':
      return `${code(failure.input.slice(0, 200))} is not an address I can send to: ${describeEmailProblem(failure.reason)}.`
    case 'user.name_required':
      return `To invite ${esc(failure.email)}, give their name: ${code(`/invite add ${failure.email} --name "First Last"`)}.`
    case 'group.required':
      return 'Every user needs at least one group: add `--group <name>`. `/invite groups` lists them.'
    case 'group.not_found':
      return `No group named ${failure.missing.map((g) => strong(escName(g))).join(', ')}. Groups of this account: ${failure.available.map(escName).join(', ') || 'none yet'}.`
    case 'user.not_found':
      // Named by a button's id rather than an address: the user is gone from this account.
      if (failure.email === '') return 'I cannot find that user in this account any more: `/invite list` gives a fresh list.'
      return `${esc(failure.email)} is not a user of this account. Invite them with ${code(`/invite add ${failure.email} --name "First Last"`)}.`
    case 'user.already_invited':
      return `${esc(failure.email)} already has an invitation, valid until ${day(failure.expiresAt)}: use ${code(`/invite resend ${failure.email}`)} to send it again.`
    case 'user.already_active':
      return `${esc(failure.email)} is already an active user${failure.joinedAt ? ` (joined ${day(failure.joinedAt)})` : ''}.`
    case 'user.removed':
      return `${esc(failure.email)} was removed from this account. To bring them back, invite them again with ${code(`/invite add ${failure.email} --name "First Last"`)}.`
    case 'user.declined':
      return `${esc(failure.email)} declined the invitation. To ask again, invite them with ${code(`/invite add ${failure.email} --name "First Last"`)}.`
    case 'invitation.expired':
      return `The invitation to ${esc(failure.email)} expired on ${day(failure.expiredAt)}: use ${code(`/invite regenerate ${failure.email}`)} to send a new one.`
    case 'invitation.still_valid':
      return `The invitation to ${esc(failure.email)} is still valid until ${day(failure.expiresAt)}: use ${code(`/invite resend ${failure.email}`)} to send it again.`
    case 'invitation.already_replaced':
      return `A new invitation was already sent to ${esc(failure.email)}${failure.by ? ` by ${esc(failure.by)}` : ''} on ${dayTime(failure.at)}; it is valid until ${day(failure.expiresAt)}. Nothing more to do.`
    case 'invitation.already_resent':
      return `The invitation to ${esc(failure.email)} was already sent again${failure.by ? ` by ${esc(failure.by)}` : ''} on ${dayTime(failure.at)}; it is valid until ${day(failure.expiresAt)}. No second email was sent.`
    case 'user.cannot_remove_self':
      return 'You cannot remove yourself: ask another administrator.'
    case 'user.last_admin':
      return `${esc(failure.email)} is the last administrator of this account and cannot be removed. Make someone else an administrator first.`
    case 'limit.admin_sends':
      return `You have reached your limit of ${failure.limit} invitation emails per hour. Try again after ${dayTime(failure.retryAt)}.`
    case 'limit.recipient_sends':
      return `${esc(failure.email)} has already received ${failure.limit} emails today, the most allowed. Try again after ${dayTime(failure.retryAt)}.`
    case 'email.suppressed':
      return `Emails to ${esc(failure.email)} are blocked (${esc(failure.reason)}): ask them for another address.`
    default: {
      const unreachable: never = failure
      return unreachable
    }
  }
}

/** Why an address was refused, in words (one switch, like the failure codes). */
export function describeEmailProblem(problem: EmailProblem): string {
  switch (problem) {
    case 'empty':
      return 'it is empty'
    case 'too_long':
      return 'it is too long'
    case 'control_characters':
      return 'it contains line breaks or control characters'
    case 'several_addresses':
      return 'give one address at a time'
    case 'malformed':
      return 'it does not look like name@example.com'
    case 'not_ascii':
      return 'the part before the @ must be plain ASCII'
    default: {
      const unreachable: never = problem
      return unreachable
    }
  }
}
