import { describe, expect, test } from 'vitest'
import { checkName, NAME_LIMITS, nameCharacterProblem, oneLine } from '../../src/shared/names.ts'

describe('the name rule', () => {
  test.each([
    ['personPart', '  Ada ', 'Ada'],
    ['personPart', 'van der Berg', 'van der Berg'],
    ['personPart', 'Zoë Ärger-Øst', 'Zoë Ärger-Øst'],
    ['personPart', 'O’Brien & Sons <Ltd> *x*', 'O’Brien & Sons <Ltd> *x*'],
    ['personPart', 'محمد', 'محمد'],
    ['personPart', '👩‍🔬', '👩‍🔬'], // a zero-width joiner inside an emoji is not a control character
    ['group', 'R&D', 'R&D'],
    ['account', 'Acme, Inc.', 'Acme, Inc.'],
  ] as const)('%s %j is accepted as %j', (kind, input, name) => {
    expect(checkName(kind, input)).toEqual({ ok: true, name })
  })

  test.each([
    ['personPart', '', 'empty'],
    ['personPart', '   ', 'empty'],
    ['personPart', 'Smith\n*URGENT*', 'line_break'],
    ['personPart', 'Smith\r\nBcc', 'line_break'],
    ['personPart', 'Smith\u2028x', 'line_break'],
    ['personPart', 'Smith\u2029x', 'line_break'],
    ['personPart', 'Smith\u0085x', 'line_break'],
    ['personPart', 'Smith\u000bx', 'line_break'],
    ['personPart', 'Smith\tx', 'control_characters'],
    ['personPart', 'Smith\u0000', 'control_characters'],
    ['personPart', 'Smith\u001b[31m', 'control_characters'],
    ['personPart', 'Smith\u007f', 'control_characters'],
    ['personPart', 'Smith\u009b', 'control_characters'],
    ['personPart', 'Smith\ud800', 'control_characters'],
    ['personPart', 'Smith\u202eevil', 'bidi_controls'],
    ['personPart', 'Smith\u2066x\u2069', 'bidi_controls'],
    ['group', 'Sales\nTeam', 'line_break'],
    ['account', 'Acme\u0007', 'control_characters'],
  ] as const)('%s %j is refused: %s', (kind, input, problem) => {
    expect(checkName(kind, input)).toEqual({ ok: false, problem, limit: NAME_LIMITS[kind] })
  })

  test('limits count characters (code points), as the database does', () => {
    expect(checkName('personPart', 'é'.repeat(100))).toMatchObject({ ok: true })
    expect(checkName('personPart', '😀'.repeat(100))).toMatchObject({ ok: true }) // 200 UTF-16 units
    expect(checkName('personPart', 'é'.repeat(101))).toMatchObject({ ok: false, problem: 'too_long', limit: 100 })
    expect(checkName('group', 'g'.repeat(100))).toMatchObject({ ok: true })
    expect(checkName('group', 'g'.repeat(101))).toMatchObject({ ok: false, problem: 'too_long' })
    expect(checkName('account', 'a'.repeat(200))).toMatchObject({ ok: true })
    expect(checkName('account', 'a'.repeat(201))).toMatchObject({ ok: false, problem: 'too_long', limit: 200 })
  })

  test('character problems are found whatever the length', () => {
    expect(nameCharacterProblem('Eve Smith')).toBeNull()
    expect(nameCharacterProblem(`${'x'.repeat(500)}\n`)).toBe('line_break')
  })
})

describe('oneLine (for display)', () => {
  test('every line break, control and bidirectional control becomes a space', () => {
    expect(oneLine('Smith\n*URGENT*\r\n\u2028x\u2029y\u0085z\tq\u001b[2J\u202eevil\u2066')).toBe('Smith *URGENT*   x y z q [2J evil ')
  })
  test('anything else is left alone', () => {
    expect(oneLine('Zoë <b> & 👩‍🔬 *x*')).toBe('Zoë <b> & 👩‍🔬 *x*')
  })
})
