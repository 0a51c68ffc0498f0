import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalZone, formatDayTime, formatLongDateTime, isTimeZone, knownZone, localDate, suggestZone, zoneOrUtc } from '../../src/shared/dates.ts'

/** Every zone this runtime lists (its canonical names). */
const listed = Intl.supportedValuesOf('timeZone')

/** Strings made of the pieces zone names are made of, so generated input reaches every branch. */
const zoneLike = fc
  .array(
    fc.oneof(
      fc.constantFrom('Europe', 'europe', 'EUROPE', 'Berlin', 'berlin', 'America', 'Indiana', 'Indianapolis', 'Asia', 'Kolkata', 'Calcutta', 'US', 'Eastern'),
      fc.constantFrom('Etc', 'GMT', 'UTC', 'utc', 'CET', 'EST', 'EST5EDT', 'Australia', 'ACT', 'Port-au-Prince', 'Isle_of_Man'),
      fc.constantFrom('/', '/', '+', '-', '_', ':', '0', '5', '14', ' ', '\u0000', 'é', '..'),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''))

/** `name` with the letters flagged in `mask` swapped to the other case. */
function respell(name: string, mask: boolean[]): string {
  return [...name].map((c, i) => (mask[i % mask.length] ? (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) : c)).join('')
}

describe('isTimeZone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'America/Indiana/Indianapolis', 'Asia/Kolkata', 'Europe/Kyiv', 'America/Argentina/Buenos_Aires', 'America/Port-au-Prince', 'Antarctica/DumontDUrville'])(
    'accepts %s',
    (name) => {
      expect(isTimeZone(name)).toBe(true)
    },
  )

  it.each([
    ['an abbreviation', 'CET'],
    ['an abbreviation', 'PST'],
    ['an abbreviation', 'EST'],
    ['a POSIX rule', 'EST5EDT'],
    ['another spelling of UTC', 'utc'],
    ['another name of UTC', 'Etc/UTC'],
    ['another name of UTC', 'GMT'],
    ['a fixed offset', 'Etc/GMT+5'],
    ['a UTC offset', '+02:00'],
    ['a country-wide alias', 'US/Eastern'],
    ['a country-wide alias', 'Japan'],
    ['an abbreviation under an area', 'Australia/ACT'],
    ['another spelling', 'europe/berlin'],
    ['another spelling', 'Europe/BERLIN'],
    ['another spelling', 'America/Port-Au-Prince'],
    ['another spelling of a name the runtime files elsewhere', 'asia/kolkata'],
    ['no such place', 'Mars/Olympus_Mons'],
    ['an area alone', 'Europe'],
    ['empty', ''],
    ['too long', `Europe/${'A'.repeat(80)}`],
  ])('refuses %s: %s', (_why, name) => {
    expect(isTimeZone(name)).toBe(false)
  })

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 0, {}, ['UTC'], { toString: () => 'UTC' }]) expect(isTimeZone(value)).toBe(false)
  })

  it("accepts every zone the runtime lists, whatever its version's canonical names", () => {
    expect(listed.filter((name) => !isTimeZone(name))).toEqual([])
  })

  it('refuses every other spelling of a listed name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...listed), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }).filter((m) => m.some(Boolean)), (name, mask) => {
        const other = respell(name, mask)
        fc.pre(other !== name)
        expect(isTimeZone(other)).toBe(false)
      }),
    )
  })
})

describe('knownZone and zoneOrUtc', () => {
  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['America/Indiana/Indianapolis', 'America/Indiana/Indianapolis'],
    ['US/Eastern', 'America/New_York'],
    ['europe/berlin', 'Europe/Berlin'],
    ['Etc/UTC', 'UTC'],
  ])('a stored or platform-given %s is shown as %s', (given, shown) => {
    expect(knownZone(given)).toBe(shown)
    expect(zoneOrUtc(given)).toBe(shown)
  })

  it.each([null, undefined, '', 'Mars/Olympus_Mons', '+02:00', 'Europe/Berlin\u0000'])('%j is not a zone: UTC', (given) => {
    expect(knownZone(given)).toBeNull()
    expect(zoneOrUtc(given)).toBe('UTC')
  })

  it('a legacy alias is shown in its zone, not in UTC', () => {
    const at = new Date('2026-07-03T16:00:00Z')
    expect(formatLongDateTime(at, 'US/Eastern')).toBe('3 July 2026 at 12:00 America/New_York')
  })
})

describe('suggestZone', () => {
  it.each([
    ['europe/berlin', 'Europe/Berlin'],
    ['US/Eastern', 'America/New_York'],
    ['Etc/UTC', 'UTC'],
    ['utc', 'UTC'],
    ['CET', null],
    ['EST', null],
    ['Etc/GMT+5', null],
    ['Mars/Olympus_Mons', null],
    ['Europe/Berlin', null],
  ])('%s: %s', (given, suggested) => {
    expect(suggestZone(given)).toBe(suggested)
  })

  it('suggests only names it accepts', () => {
    fc.assert(
      fc.property(fc.oneof(zoneLike, fc.string({ maxLength: 40 })), (name) => {
        const suggested = suggestZone(name)
        if (suggested !== null) expect(isTimeZone(suggested)).toBe(true)
      }),
    )
  })
})

describe('formatLongDateTime', () => {
  const at = new Date('2026-12-03T10:00:00Z')
  it.each([
    ['UTC', '3 December 2026 at 10:00 UTC'],
    ['Europe/Berlin', '3 December 2026 at 11:00 Europe/Berlin'],
    ['Asia/Kolkata', '3 December 2026 at 15:30 Asia/Kolkata'],
    ['America/New_York', '3 December 2026 at 05:00 America/New_York'],
    ['Pacific/Kiritimati', '4 December 2026 at 00:00 Pacific/Kiritimati'],
  ])('%s', (zone, shown) => {
    expect(formatLongDateTime(at, zone)).toBe(shown)
  })

  it('follows daylight saving', () => {
    expect(formatLongDateTime(new Date('2026-07-03T10:00:00Z'), 'Europe/Berlin')).toBe('3 July 2026 at 12:00 Europe/Berlin')
  })

  it("says what Intl's long English date and short time say, with the zone named", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }), fc.constantFrom(...listed), (date, zone) => {
        const intl = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: zone }).format(date)
        expect(formatLongDateTime(date, zone)).toBe(`${intl} ${zone}`)
      }),
    )
  })
})

describe('generated input', () => {
  it('no string throws, and every zone given back is one the runtime knows', () => {
    const date = new Date('2026-03-29T01:30:00Z')
    fc.assert(
      fc.property(fc.oneof(zoneLike, fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })), (name) => {
        const accepted = isTimeZone(name)
        const zone = zoneOrUtc(name)
        expect(canonicalZone(zone)).not.toBeNull()
        if (accepted) expect(zone).toBe(name)
        expect(formatLongDateTime(date, name).endsWith(` ${zone}`)).toBe(true)
        expect(formatDayTime(date, date, name).endsWith(` ${zone}`)).toBe(true)
        expect(localDate(date, name)).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      }),
      { numRuns: 2_000 },
    )
  })

})
