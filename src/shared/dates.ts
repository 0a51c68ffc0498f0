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
const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const

/**
 * The areas of the tz database's Area/Location names. Names outside them are abbreviations
 * (`CET`, `EST`), POSIX rules (`EST5EDT`), fixed offsets (`Etc/GMT+5`, whose sign is inverted)
 * or old country-wide aliases (`US/Eastern`, `Japan`): none names a place whose rules we show.
 */
const AREAS = new Set(['Africa', 'America', 'Antarctica', 'Arctic', 'Asia', 'Atlantic', 'Australia', 'Europe', 'Indian', 'Pacific'])

/** What a zone name may look like before `Intl` sees it: bounded, no offsets, no odd characters. */
const ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/

/**
 * Names come from platforms too (a Teams client states its own), so both caches below are
 * bounded: past this many entries they start afresh rather than grow without end.
 */
const MAX_CACHED = 1_000

/** Formatters are costly to build and immutable: one per zone name, built on first use. */
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
    if (formatters.size >= MAX_CACHED) formatters.clear()
    formatters.set(timeZone, f)
  }
  return f
}

/**
 * The runtime's own name for the zone `name` denotes (`US/Eastern` → `America/New_York`,
 * `europe/berlin` → `Europe/Berlin`), or null when the runtime knows no such zone or the name is
 * not shaped like one (`+02:00`). Never throws.
 *
 * Which of two names of one zone the runtime calls canonical depends on its version: Node 20
 * still files `Asia/Kolkata` under `Asia/Calcutta`, later versions keep the name given. So
 * equality with this value alone cannot decide whether a name is acceptable (`isTimeZone`).
 */
export function canonicalZone(name: unknown): string | null {
  if (typeof name !== 'string' || !ZONE_SHAPE.test(name)) return null
  try {
    const canonical = formatterFor(name).resolvedOptions().timeZone
    return ZONE_SHAPE.test(canonical) ? canonical : null
  } catch {
    return null
  }
}

/**
 * Whether `name` is a time zone to store and show: `UTC`, or an Area/Location name of the tz
 * database this runtime knows, spelt as the database spells it (`Europe/Berlin`,
 * `America/Indiana/Indianapolis`). Refused, as docs/operations.md says: UTC offsets (`+02:00`),
 * abbreviations and POSIX rules (`CET`, `PST`, `EST5EDT`), fixed-offset `Etc/` zones, old
 * country-wide aliases (`US/Eastern`) and other spellings of a name (`europe/berlin`,
 * `Europe/BERLIN`). Never throws.
 */
export function isTimeZone(name: unknown): name is string {
  if (name === UTC) return true
  const canonical = canonicalZone(name)
  if (canonical === null || typeof name !== 'string') return false
  const [area, ...places] = name.split('/')
  if (!area || !AREAS.has(area) || places.length === 0) return false
  if (canonical === name) return true
  // The runtime names this zone otherwise. A respelling of that name is refused; a name of its
  // own (another name of the place, `Asia/Kolkata` where Node 20 says `Asia/Calcutta`) is
  // accepted when each part is spelt the way the database spells places: a capital first, and
  // not all capitals (`Australia/ACT` is an abbreviation).
  if (canonical.toLowerCase() === name.toLowerCase()) return false
  return places.every((p) => /^[A-Z]/.test(p) && (p.length <= 2 || p !== p.toUpperCase()))
}

/**
 * The accepted name to suggest for a refused `name` that denotes a zone we would take under
 * another name (`europe/berlin` → `Europe/Berlin`, `US/Eastern` → `America/New_York`,
 * `Etc/UTC` → `UTC`), or null. Abbreviations get no suggestion: ICU's reading of `EST` is
 * Panama, which is not what a reader in New York means by it.
 */
export function suggestZone(name: unknown): string | null {
  // Accepted already, or the runtime's own name for itself (`Etc/GMT+5`): nothing better to say.
  if (typeof name !== 'string' || knownZone(name) === name) return null
  const canonical = canonicalZone(name)
  if (canonical === null || !isTimeZone(canonical)) return null
  return name.includes('/') || canonical === UTC ? canonical : null
}

/** Verdicts of `knownZone` by name: it runs for every date shown. */
const known = new Map<string, string | null>()

/**
 * The zone to show dates in for a stored or platform-given name: the name itself when
 * `isTimeZone` accepts it; the runtime's name for it when the runtime knows it under another
 * spelling (a platform's `US/Eastern` is shown as `America/New_York`, not as UTC); otherwise
 * null (a value gone stale, or nonsense). Never throws.
 */
export function knownZone(timeZone: unknown): string | null {
  if (typeof timeZone !== 'string') return null
  let zone = known.get(timeZone)
  if (zone === undefined) {
    zone = isTimeZone(timeZone) ? timeZone : canonicalZone(timeZone)
    if (known.size >= MAX_CACHED) known.clear()
    known.set(timeZone, zone)
  }
  return zone
}

/** The zone `knownZone` finds for `timeZone`, or UTC when it finds none. Never throws. */
export function zoneOrUtc(timeZone: string | null | undefined): string {
  return knownZone(timeZone) ?? UTC
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

/**
 * "3 December 2026 at 11:00 Europe/Berlin": the long form of emails and the invitee's page. The
 * time of day in `timeZone` (one not known reads as UTC), the zone always named.
 */
export function formatLongDateTime(date: Date, timeZone: string | null | undefined = UTC): string {
  const zone = zoneOrUtc(timeZone)
  const p = localParts(date, zone)
  return `${p.day} ${LONG_MONTHS[p.month - 1] ?? ''} ${p.year} at ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')} ${zone}`
}
