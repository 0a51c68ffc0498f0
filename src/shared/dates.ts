/**
 * Dates and times in a reader's time zone (docs/commands.md): chat shows the administrator's own
 * zone where the platform tells it, emails and the invitee page show the account's zone, and the
 * daily digest goes out at 09:00 in the account's zone. Every time of day names its zone, so a
 * message read in another zone cannot be misread.
 *
 * Built on `Intl` (full ICU ships with Node), so zones and their daylight-saving rules come from
 * the runtime's tz database and need no dependency of ours.
 */

export const UTC = 'UTC'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const

/** Formatters are costly to build and immutable: one per zone, built on first use. */
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/**
 * Whether `name` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`). Offsets such
 * as `+02:00` and abbreviations such as `CEST` are refused: they carry no daylight-saving rules.
 */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) return false
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name) || /^[+-]/.test(name)) return false
  try {
    formatterFor(name)
    return true
  } catch {
    return false
  }
}

/** `timeZone` when it is one this runtime knows, else UTC (a stored or platform value gone stale). */
export function zoneOrUtc(timeZone: string | null | undefined): string {
  return timeZone && isTimeZone(timeZone) ? timeZone : UTC
}

/** The wall-clock fields of `date` in `timeZone` (month 1–12). */
export interface LocalParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

export function localParts(date: Date, timeZone: string = UTC): LocalParts {
  const parts: Record<string, number> = {}
  for (const p of formatterFor(zoneOrUtc(timeZone)).formatToParts(date)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value)
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  }
}

/** The calendar day of `date` in `timeZone`, as `YYYY-MM-DD`. */
export function localDate(date: Date, timeZone: string = UTC): string {
  const p = localParts(date, timeZone)
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`
}

/** "3 Dec", or "3 Dec 2027" when the year (in `timeZone`) is not the current one. */
export function formatDay(date: Date, now: Date, timeZone: string = UTC): string {
  const p = localParts(date, timeZone)
  const base = `${p.day} ${MONTHS[p.month - 1] ?? ''}`
  return p.year === localParts(now, timeZone).year ? base : `${base} ${p.year}`
}

/** "3 Dec, 14:05 UTC", "3 Dec, 15:05 Europe/Berlin": the time of day always names its zone. */
export function formatDayTime(date: Date, now: Date, timeZone: string = UTC): string {
  const zone = zoneOrUtc(timeZone)
  const p = localParts(date, zone)
  return `${formatDay(date, now, zone)}, ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')} ${zone}`
}
