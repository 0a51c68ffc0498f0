import { describe, expect, test } from 'vitest'
import { parseCommand, tokenize, unwrapMailtoLinks } from '../../src/commands/parse-command.ts'

describe('parseCommand: real inputs', () => {
  test.each([
    ['', { name: 'help' }],
    ['help', { name: 'help' }],
    ['list', { name: 'list', filter: 'all', page: 1 }],
    ['list expired', { name: 'list', filter: 'expired', page: 1 }],
    ['LIST Invited page 3', { name: 'list', filter: 'invited', page: 3 }],
    ['list --page 2', { name: 'list', filter: 'all', page: 2 }],
    ['regenerate bob@x.com', { name: 'regenerate', email: 'bob@x.com' }],
    ['new bob@x.com', { name: 'regenerate', email: 'bob@x.com' }],
    ['regenerate BOB@EXAMPLE.COM', { name: 'regenerate', email: 'bob@example.com' }],
    ['link bob@x.com', { name: 'link', email: 'bob@x.com' }],
    ['show bob@bücher.de', { name: 'show', email: 'bob@xn--bcher-kva.de' }],
    ['add bob@x.com --name "Bob Smith"', { name: 'add', email: 'bob@x.com', firstName: 'Bob', lastName: 'Smith', groups: [] }],
    ['add bob@x.com --name “Bob van Dam” --group Engineering --group Admins', { name: 'add', email: 'bob@x.com', firstName: 'Bob', lastName: 'van Dam', groups: ['Engineering', 'Admins'] }],
    ['add bob@x.com —name="Zoë Ärger" --group=Sales,Support', { name: 'add', email: 'bob@x.com', firstName: 'Zoë', lastName: 'Ärger', groups: ['Sales', 'Support'] }],
    ['add bob@x.com', { name: 'add', email: 'bob@x.com', firstName: null, lastName: null, groups: [] }],
    // Angle brackets, ampersands and asterisks are text in a name: every renderer escapes them.
    ['add bob@x.com --name "Tom & Jerry"', { name: 'add', email: 'bob@x.com', firstName: 'Tom', lastName: '& Jerry', groups: [] }],
    ['add bob@x.com --name "Bob <script> *x*"', { name: 'add', email: 'bob@x.com', firstName: 'Bob', lastName: '<script> *x*', groups: [] }],
    ['add bob@x.com --name "  Bob   de  Vries "', { name: 'add', email: 'bob@x.com', firstName: 'Bob', lastName: 'de Vries', groups: [] }],
    ['edit bob@x.com --group "Customer Success"', { name: 'edit', email: 'bob@x.com', groups: ['Customer Success'] }],
    ['remove bob@x.com', { name: 'remove', email: 'bob@x.com' }],
    ['groups', { name: 'groups' }],
    ['audit', { name: 'audit', email: null }],
    ['audit bob@x.com', { name: 'audit', email: 'bob@x.com' }],
    ['/invite list active', { name: 'list', filter: 'active', page: 1 }],
  ])('%j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command })
  })
})

describe('parseCommand: malformed inputs get the usage of their subcommand', () => {
  test.each([
    ['frobnicate', 'command.unknown', null, /unknown command `frobnicate`/],
    ['regenerate', 'command.invalid', 'regenerate', /email address is missing/],
    ['regenerate bob', 'command.invalid', 'regenerate', /not a valid address/],
    ['regenerate bob@x.com\r\nBcc: eve@evil.com', 'command.invalid', 'regenerate', /unexpected/],
    ['regenerate "bob@x.com\r\nBcc: eve@evil.com"', 'command.invalid', 'regenerate', /line break or control character/],
    ['resend a@x.com,b@x.com', 'command.invalid', 'resend', /single address/],
    ['resend "a@x.com; b@x.com"', 'command.invalid', 'resend', /single address/],
    ['resend a@x.com b@x.com', 'command.invalid', 'resend', /unexpected `b@x.com`/],
    ['add bob@x.com --name Bob', 'command.invalid', 'add', /first and a last name/],
    ['add bob@x.com --name', 'command.invalid', 'add', /--name needs a value/],
    ['add bob@x.com --name "Eve Smith\n*URGENT* click https://evil.example/x"', 'command.invalid', 'add', /--name must be on one line/],
    ['add bob@x.com --name "Eve Smith\r*URGENT*"', 'command.invalid', 'add', /--name must be on one line/],
    ['add bob@x.com --name "Eve Smith\u2028*URGENT*"', 'command.invalid', 'add', /--name must be on one line/],
    ['add bob@x.com --name "Eve\u0000 Smith"', 'command.invalid', 'add', /--name contains control characters/],
    ['add bob@x.com --name "Eve\tSmith"', 'command.invalid', 'add', /--name contains control characters/],
    ['add bob@x.com --name "Eve \u202eSmith"', 'command.invalid', 'add', /--name contains invisible characters that change the reading direction/],
    [`add bob@x.com --name "Eve ${'s'.repeat(101)}"`, 'command.invalid', 'add', /the last name is too long \(at most 100 characters\)/],
    [`add bob@x.com --name "${'e'.repeat(101)} Smith"`, 'command.invalid', 'add', /the first name is too long/],
    ['add bob@x.com --name "Eve Smith" --group "Sales\nTeam"', 'command.invalid', 'add', /the group name `Sales\?Team` must be on one line/],
    [`add bob@x.com --name "Eve Smith" --group "${'g'.repeat(101)}"`, 'command.invalid', 'add', /is too long \(at most 100 characters\)/],
    ['edit bob@x.com --group "Sales\u0007"', 'command.invalid', 'edit', /the group name `Sales\?` contains control characters/],
    ['add bob@x.com --colour blue', 'command.invalid', 'add', /unknown option --colour/],
    ['add --name "Bob Smith"', 'command.invalid', 'add', /email address is missing/],
    ['edit bob@x.com', 'command.invalid', 'edit', /at least one group/],
    ['list someday', 'command.invalid', 'list', /unknown filter/],
    ['list page 0', 'command.invalid', 'list', /page must be a number/],
    ['list --group x', 'command.invalid', 'list', /--group does not apply/],
    ['show josé@x.com', 'command.invalid', 'show', /plain ASCII/],
    ['show bob@-x.com', 'command.invalid', 'show', /not a valid address/],
    ['add bob@x.com --name "Bob Smith', 'command.invalid', null, /quote is not closed/],
    ['x'.repeat(10_000), 'command.invalid', null, /too long/],
    ['😀 regenerate', 'command.unknown', null, /unknown command/],
    // Slack's form is read at the edges; here it is text someone typed, and not an address.
    ['regenerate <mailto:Bob@X.com|Bob@X.com>', 'command.invalid', 'regenerate', /single address/],
    ['add <mailto:a@x.test|b@y.test> --name "A B"', 'command.invalid', 'add', /`<mailto:a@x\.test\|b@y\.test>` must be a single address/],
    ['resend <mailto:bob@x.com>', 'command.invalid', 'resend', /not a valid address/],
  ])('%j', (text, code, subcommand, message) => {
    const r = parseCommand(text)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.failure.code).toBe(code)
    expect(r.failure.subcommand).toBe(subcommand)
    expect(r.failure.message).toMatch(message)
    expect(r.failure.usage).toContain('/invite')
    // A message shows the input back without control characters (it reaches chat and terminals).
    expect(r.failure.message).not.toMatch(/[\r\n]/)
  })
})

describe('tokenize and chat formatting', () => {
  test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])('`%s` is an unknown command, not one of Object\'s', (word) => {
    expect(parseCommand(word)).toMatchObject({ ok: false, failure: { code: 'command.unknown' } })
  })

  test('quotes group words, typographic quotes too', () => {
    expect(tokenize(`add a@b.c --name "Ada Lovelace" --group 'Big Team' x`)).toEqual(['add', 'a@b.c', '--name', 'Ada Lovelace', '--group', 'Big Team', 'x'])
    expect(tokenize('a “b c” d')).toEqual(['a', 'b c', 'd'])
    expect(tokenize('a "b')).toBeNull()
    expect(tokenize('   ')).toEqual([])
  })
  test('Slack mailto links pasted at an edge unwrap to the address, then parse', () => {
    expect(unwrapMailtoLinks('<mailto:a@b.com|a@b.com>')).toBe('a@b.com')
    expect(unwrapMailtoLinks('<mailto:a@b.com>')).toBe('a@b.com')
    expect(unwrapMailtoLinks('a@b.com')).toBe('a@b.com')
    expect(unwrapMailtoLinks('add <MAILTO:a@b.com|a@b.com> --name "A <b> C"')).toBe('add a@b.com --name "A <b> C"')
    expect(parseCommand(unwrapMailtoLinks('regenerate <mailto:Bob@X.com|Bob@X.com>'))).toEqual({ ok: true, command: { name: 'regenerate', email: 'bob@x.com' } })
    expect(parseCommand(unwrapMailtoLinks('resend <mailto:bob@x.com>'))).toEqual({ ok: true, command: { name: 'resend', email: 'bob@x.com' } })
  })
})
