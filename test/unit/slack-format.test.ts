/** What we put in Slack mrkdwn (esc, escName): https://docs.slack.dev/messaging/formatting-message-text */
import { describe, expect, test } from 'vitest'
import { esc, escName } from '../../adapters/slack/format.ts'

describe('escaping for mrkdwn', () => {
  const hostile = 'Eve Smith\n*URGENT* click https://evil.example/x <https://evil.example|here> &amp; _x_ ~y~ `z` ＊w＊'

  test('esc: the three control characters as entities, on one line', () => {
    expect(esc('a&b <c> d\ne')).toBe('a&amp;b &lt;c&gt; d e')
    expect(esc('john_doe*x@acme.test')).toBe('john_doe*x@acme.test') // an address stays copyable
  })

  test('escName: no markup, no line break, no link', () => {
    const out = escName(hostile)
    expect(out).not.toMatch(/[\r\n]/)
    expect(out).not.toMatch(/[*_~`＊<>]/)
    expect(out).not.toMatch(/https?:\/\//)
    expect(out).not.toMatch(/evil\.example/)
    expect(out).toContain('&lt;https:')
    expect(out).toContain('&amp;amp;') // the literal "&amp;" shows as typed
    expect(out.replace(/\u2060/g, '')).toBe(
      'Eve Smith \u2217URGENT\u2217 click https://evil.example/x &lt;https://evil.example|here&gt; &amp;amp; \u02cdx\u02cd \u223cy\u223c \u02cbz\u02cb \ufe61w\ufe61',
    )
  })

  test('escName: a leading > cannot open a block quote', () => {
    expect(escName('> quoted')).toBe('\u00ad&gt; quoted')
    expect(escName('＞ quoted')).toBe('\u00ad＞ quoted')
    expect(escName('a > b')).toBe('a &gt; b')
  })

  test('escName: www and bare domains are broken too, invisibly', () => {
    expect(escName('www.evil.example')).toBe('www.\u2060evil.\u2060example')
    expect(escName('J. R. R. Tolkien')).toBe('J. R. R. Tolkien')
  })
})
