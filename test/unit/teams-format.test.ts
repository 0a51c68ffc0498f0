/** Escaping names and other text for Teams markdown (messages and Adaptive Cards). */
import { describe, expect, test } from 'vitest'
import { esc, escCard, escCardName, escName } from '../../adapters/teams/format.ts'

describe('escaping for Teams markdown', () => {
  const hostile = 'Eve Smith\n*URGENT* click https://evil.example/x <https://evil.example|here> [here](https://evil.example) &amp; _x_ ~y~ `z` # h'

  test('escCardName: one line, every markdown character escaped, no link', () => {
    const out = escCardName(hostile)
    expect(out).not.toMatch(/[\r\n]/)
    // Every markdown character carries its backslash.
    expect(out.replace(/\\[\\`*_{}[\]()#+!|~]/g, '')).not.toMatch(/[\\`*_{}[\]()#+!|~]/)
    expect(out).not.toMatch(/https?:\/\//)
    expect(out).not.toMatch(/evil\.example/)
    expect(out.replace(/\u2060/g, '')).toBe(
      'Eve Smith \\*URGENT\\* click https://evil.example/x <https://evil.example\\|here> \\[here\\]\\(https://evil.example\\) &amp; \\_x\\_ \\~y\\~ \\`z\\` \\# h',
    )
  })

  test('escName (messages): entities too, since Teams messages render some HTML', () => {
    const out = escName(hostile)
    expect(out).not.toMatch(/[<>\r\n]/)
    expect(out).toContain('&amp;amp;')
    expect(out).toContain('&lt;https:')
  })

  test.each([
    ['- item', '\\- item'],
    ['1. item', '1\\. item'],
    ['12) item', '12\\) item'],
    ['> quote', '\\> quote'],
    ['+ item', '\\+ item'],
    ['Anne-Marie', 'Anne-Marie'],
    ['--name x', '--name x'],
    ['-', '\\-'],
    ['- - -', '\\- - -'],
    ['---', '\\---'],
    ['2026 plans', '2026 plans'],
  ])('a list or quote marker at the start is escaped: %j → %j', (input, output) => {
    expect(escCard(input)).toBe(output)
  })

  test('an address is escaped but never broken up (it stays copyable)', () => {
    expect(escCard('john_doe@www.acme.test')).toBe('john\\_doe@www.acme.test')
    expect(esc('a&b@acme.test')).toBe('a&amp;b@acme.test')
  })
})
