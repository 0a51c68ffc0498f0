/**
 * The words chat adapters show for a user's status and dates (docs/commands.md): the Joined cell
 * (`Invited · expires in 3 days`, `Invitation expired · 14 Feb`, `Joined 3 Dec`), "valid until
 * 3 Dec", status labels and display names. Plain text: each adapter escapes it for its own markup.
 *
 * Dates are written in the reader's time zone when it is known, else in UTC (src/shared/dates.ts).
 */
import type { DisplayStatus, UserView } from '../invitations/model.ts'
import { formatDay, formatDayTime } from '../shared/dates.ts'

/** "3 Dec", or "3 Dec 2027" when the year is not the current one (in `timeZone`, default UTC). */
export function day(date: Date, now: Date, timeZone?: string): string {
  return formatDay(date, now, timeZone)
}

/** "3 Dec, 14:05 UTC" or "3 Dec, 15:05 Europe/Berlin". */
export function dayTime(date: Date, now: Date, timeZone?: string): string {
  return formatDayTime(date, now, timeZone)
}

/** "in 3 days", "in 5 hours", "in 12 minutes", "in less than a minute". */
export function inDuration(until: Date, now: Date): string {
  const ms = until.getTime() - now.getTime()
  const minutes = Math.floor(ms / 60_000)
  const hours = Math.floor(ms / 3_600_000)
  const days = Math.floor(ms / 86_400_000)
  if (days >= 1) return `in ${days} ${days === 1 ? 'day' : 'days'}`
  if (hours >= 1) return `in ${hours} ${hours === 1 ? 'hour' : 'hours'}`
  if (minutes >= 1) return `in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`
  return 'in less than a minute'
}

/** Status words, as the web Users page shows them. */
export function statusLabel(status: DisplayStatus): string {
  switch (status) {
    case 'invited':
      return 'Invited'
    case 'expired':
      return 'Invitation expired'
    case 'active':
      return 'Active'
    case 'declined':
      return 'Declined'
    case 'removed':
      return 'Removed'
    default: {
      const unreachable: never = status
      return unreachable
    }
  }
}

/** The Joined cell of docs/commands.md. */
export function joinedCell(user: UserView, now: Date, timeZone?: string): string {
  switch (user.status) {
    case 'active':
      return user.joinedAt ? `Joined ${day(user.joinedAt, now, timeZone)}` : 'Active'
    case 'invited':
      return user.invitation ? `Invited · expires ${inDuration(user.invitation.expiresAt, now)}` : 'Invited'
    case 'expired':
      return user.invitation ? `Invitation expired · ${day(user.invitation.expiresAt, now, timeZone)}` : 'Invitation expired'
    case 'declined':
    case 'removed':
      return statusLabel(user.status)
    default: {
      const unreachable: never = user.status
      return unreachable
    }
  }
}

/** "Bob Smith", or the email when the name is not known yet. */
export function displayName(user: UserView): string {
  const name = `${user.firstName} ${user.lastName}`.trim()
  return name === '' ? user.email : name
}
