/** Teams text both ways: decoding a typed message (commandText) and escaping names for markdown. */
import { describe, expect, test } from 'vitest'
import { esc, escCard, escCardName, escName } from '../../adapters/teams/format.ts'
import { commandText } from '../../adapters/teams/interactions.ts'

describe('commandText decodes HTML character references exactly once', () => {
  test.each([
    ['add tom@x.com --name &quot;Tom &amp; Jerry&quot;', 'add tom@x.com --name "Tom & Jerry"'],
    // Someone typed `&lt;`: Teams sends `&amp;lt;`, which is the text `&lt;`, not `<`.
    ['add a@x.com --name "Eve &amp;lt;b&amp;gt;"', 'add a@x.com --name "Eve &lt;b&gt;"'],
    ['&amp;amp;', '&amp;'],
    ['&amp;quot;', '&quot;'],
    ['&amp;nbsp;x', '&nbsp;x'],
    ['&lt;b&gt; &#39;x&#39; &apos;y&apos; &#x41;&#65;', "<b> 'x' 'y' AA"],
    ['a&nbsp;b', 'a b'],
    ['&unknown; &#0; &#xD800; &#1114112;', '&unknown; &#0; &#xD800; &#1114112;'],
    ['<at>InviteOps</at> show bob@acme.test', 'show bob@acme.test'],
  ])('%j → %j', (raw, typed) => {
    expect(commandText(raw)).toBe(typed)
  })
})

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
