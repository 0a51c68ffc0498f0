/**
 * Slack's text format both ways: what we put in mrkdwn (esc, escName) and what a slash command's
 * text means (commandTextFromSlack, https://docs.slack.dev/messaging/formatting-message-text).
 */
import { describe, expect, test } from 'vitest'
import { commandTextFromSlack, esc, escName } from '../../adapters/slack/format.ts'
import { parseCommand } from '../../src/commands/parse-command.ts'

describe('commandTextFromSlack: un-escapes exactly once, after reading the <…> forms', () => {
  test.each([
    ['add tom@x.com --name "Tom &amp; Jerry"', 'add tom@x.com --name "Tom & Jerry"'],
    // A literal `&lt;` typed by the user arrives as `&amp;lt;`: it stays the text `&lt;`.
    ['add a@x.com --name "Eve &amp;lt;b&amp;gt;"', 'add a@x.com --name "Eve &lt;b&gt;"'],
    ['&amp;amp;', '&amp;'],
    ['&amp;amp;lt;', '&amp;lt;'],
    ['a &lt;b&gt; c', 'a <b> c'],
    ['&quot;x&quot; &#39; &nbsp;', '&quot;x&quot; &#39; &nbsp;'], // Slack escapes only & < >
    ['regenerate <mailto:bob@acme.test|bob@acme.test>', 'regenerate bob@acme.test'],
    ['resend <mailto:Bob@X.com>', 'resend Bob@X.com'],
    ['add <mailto:a&amp;b@x.com|a&amp;b@x.com>', 'add a&b@x.com'],
    ['add a@x.com --name "Eve <https://evil.example/x?a=1&amp;b=2>"', 'add a@x.com --name "Eve https://evil.example/x?a=1&b=2"'],
    ['add a@x.com --name "Eve <https://evil.example|here>"', 'add a@x.com --name "Eve here"'],
    ['ask <@U123ABC|alice> and <@U999>', 'ask @alice and @U999'],
    ['in <#C123|general> and <#C999>', 'in #general and #C999'],
    ['<!here> <!channel> <!subteam^S123|@oncall> <!date^1392734382^{date}|Feb 18th>', '@here @channel @oncall Feb 18th'],
    // A `<` decoded from `&lt;` never starts a form: the forms were read first.
    ['&lt;mailto:x@y.com|z&gt;', '<mailto:x@y.com|z>'],
    ['list expired', 'list expired'],
  ])('%j → %j', (raw, typed) => {
    expect(commandTextFromSlack(raw)).toBe(typed)
  })

  test('the name with an ampersand reaches the parser as typed', () => {
    const parsed = parseCommand(commandTextFromSlack('add tom@x.com --name "Tom &amp; Jerry"'))
    expect(parsed).toEqual({ ok: true, command: { name: 'add', email: 'tom@x.com', firstName: 'Tom', lastName: '& Jerry', groups: [] } })
  })
})

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
