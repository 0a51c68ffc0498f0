import { describe, expect, test } from 'vitest'
import { loadConfig, senderAddress } from '../../src/config.ts'
import { brandingOf } from '../../src/deps.ts'

/** The problems `env` gets, or [] when it loads. */
function problems(env: NodeJS.ProcessEnv): string[] {
  const loaded = loadConfig(env)
  return loaded.ok ? [] : loaded.problems
}

function loaded(env: NodeJS.ProcessEnv) {
  const result = loadConfig(env)
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.config
}

const PRODUCTION = { NODE_ENV: 'production', INVITE_SECRET: 'x'.repeat(32), PUBLIC_BASE_URL: 'https://invites.acme.example' }

describe('branding variables', () => {
  test("unset, today's words: InviteOps, no links, no hand-over", () => {
    const config = loaded({})
    expect(config.branding).toEqual({ productName: 'InviteOps', termsUrl: null, privacyUrl: null, supportEmail: null, signInUrl: null })
    expect(config.service.acceptRedirectUrl).toBeNull()
    expect(config.service.emailFrom).toBe('InviteOps <invitations@localhost>')
    expect(brandingOf({})).toEqual(config.branding)
  })

  test('set, every one reaches the service', () => {
    const config = loaded({
      PRODUCT_NAME: '  Acme Cloud ',
      TERMS_URL: 'https://acme.example/terms',
      PRIVACY_URL: 'https://acme.example/privacy',
      SUPPORT_EMAIL: ' Help@Acme.Example ',
      SIGN_IN_URL: 'https://app.acme.example/login',
      ACCEPT_REDIRECT_URL: 'https://app.acme.example/signup?from=invite',
    })
    expect(config.branding).toEqual({
      productName: 'Acme Cloud',
      termsUrl: 'https://acme.example/terms',
      privacyUrl: 'https://acme.example/privacy',
      supportEmail: 'help@acme.example',
      signInUrl: 'https://app.acme.example/login',
    })
    expect(config.service.branding).toEqual(config.branding)
    expect(config.service.acceptRedirectUrl).toBe('https://app.acme.example/signup?from=invite')
    expect(config.service.emailFrom).toBe('Acme Cloud <invitations@localhost>')
  })

  test('blank values read as unset', () => {
    expect(loaded({ PRODUCT_NAME: '   ', TERMS_URL: '', ACCEPT_REDIRECT_URL: ' ' }).branding.productName).toBe('InviteOps')
  })

  test.each([
    ['PRODUCT_NAME', 'Acme\nClick https://evil.example', 'PRODUCT_NAME must be one line'],
    ['PRODUCT_NAME', 'Acme\u0007', 'PRODUCT_NAME must not contain control characters'],
    ['PRODUCT_NAME', 'Acme\u202eemca', 'PRODUCT_NAME must not contain control characters'],
    ['PRODUCT_NAME', 'A'.repeat(61), 'PRODUCT_NAME must be at most 60 characters'],
    ['TERMS_URL', 'javascript:alert(1)', 'TERMS_URL must be an absolute http(s) URL'],
    ['PRIVACY_URL', '/privacy', 'PRIVACY_URL must be an absolute http(s) URL'],
    ['SIGN_IN_URL', 'ftp://acme.example/login', 'SIGN_IN_URL must be an absolute http(s) URL'],
    ['ACCEPT_REDIRECT_URL', 'https://user:pw@app.acme.example/signup', 'ACCEPT_REDIRECT_URL must not carry a user name or password'],
    ['ACCEPT_REDIRECT_URL', `https://acme.example/${'x'.repeat(2000)}`.slice(0, 2001), 'ACCEPT_REDIRECT_URL must be at most 2000 characters'],
    ['SUPPORT_EMAIL', 'help@acme.example, boss@acme.example', 'SUPPORT_EMAIL must be one email address, such as support@example.com'],
    ['SUPPORT_EMAIL', 'help\r\nBcc: x@evil.example', 'SUPPORT_EMAIL must be one email address, such as support@example.com'],
  ])('%s: %j is refused with a clear message', (name, value, message) => {
    expect(problems({ [name]: value })).toEqual([message])
  })

  test('in production every URL must be https, each named, all reported together', () => {
    expect(problems({ ...PRODUCTION, TERMS_URL: 'http://acme.example/terms', ACCEPT_REDIRECT_URL: 'http://app.acme.example/signup', PRIVACY_URL: 'https://acme.example/privacy' })).toEqual([
      'TERMS_URL must be an https URL when NODE_ENV=production',
      'ACCEPT_REDIRECT_URL must be an https URL when NODE_ENV=production',
    ])
    // Outside production a local product's http sign-up is fine.
    expect(problems({ ACCEPT_REDIRECT_URL: 'http://localhost:4000/signup' })).toEqual([])
    expect(problems({ ...PRODUCTION, SIGN_IN_URL: 'https://app.acme.example/login' })).toEqual([])
  })

  test('a field problem and a production rule are reported together', () => {
    expect(problems({ ...PRODUCTION, PRODUCT_NAME: 'a\nb', SIGN_IN_URL: 'http://acme.example/login' })).toEqual(['PRODUCT_NAME must be one line', 'SIGN_IN_URL must be an https URL when NODE_ENV=production'])
  })
})

describe('senderAddress', () => {
  test("EMAIL_FROM naming itself is kept; a bare one gets the product's name, quoted when it must be", () => {
    expect(senderAddress('Acme Team <team@acme.example>', 'Other')).toBe('Acme Team <team@acme.example>')
    expect(senderAddress('team@acme.example', 'Acme')).toBe('Acme <team@acme.example>')
    expect(senderAddress('team@acme.example', 'Acme, Inc. "Cloud"')).toBe('"Acme, Inc. \\"Cloud\\"" <team@acme.example>')
    expect(senderAddress(undefined, 'Acme')).toBe('Acme <invitations@localhost>')
    expect(loaded({ EMAIL_FROM: 'team@acme.example', PRODUCT_NAME: 'Acme <Cloud>' }).service.emailFrom).toBe('"Acme <Cloud>" <team@acme.example>')
  })
})
