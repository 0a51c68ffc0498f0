/**
 * What "Add to Slack" leaves in the log at LOG_LEVEL=debug: a logger that records every line,
 * debug included, and installs that succeed and fail. The app's client secret, the OAuth code,
 * the signed state, the install link and the tokens Slack hands over must appear in no line
 * (@slack/oauth's own WebClient logs its requests at debug, and redacts only keys naming a token).
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { createSlackInstallRouter } from '../../adapters/slack/oauth.ts'
import { signInstallLink } from '../../src/installations/install-link.ts'
import { DAY, makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useRouteTests } from '../support/hooks.ts'
import { API_ORIGIN, levelLogger } from './support.ts'
import { CLIENT_SECRET, DISTRIBUTION_CONFIG, installThroughSlack, openInstallPage, returnFromSlack, serveInstallRouter, type SlackSideInstall } from './oauth-support.ts'

interface LoggedHarness {
  deps: TestDeps
  seed: SeededAccount
  base: string
  logger: ReturnType<typeof levelLogger>
  close(): Promise<void>
}

let h: LoggedHarness

useRouteTests<LoggedHarness>(
  async (db) => {
    const logger = levelLogger()
    const deps = makeDeps(db.knex, { logger })
    const seed = await seedAccount(deps, { name: 'Acme Corp', adminEmail: 'admin@acme.test' })
    const { base, close } = await serveInstallRouter(deps)
    return { deps, seed, base, logger, close }
  },
  { onHarness: (x) => (h = x) },
)

const ROTATING: SlackSideInstall = {
  teamId: 'T0ACME0001',
  teamName: 'Acme Slack',
  botToken: 'xoxe.xoxb-1-acme-logged-secret',
  installerId: 'U0ACMEADMIN',
  rotation: { refreshToken: 'xoxe-1-acme-logged-refresh', expiresIn: 43_200 },
}

function leaked(secrets: string[]): { secret: string; line: string }[] {
  return h.logger.lines.flatMap(({ line }) => secrets.filter((s) => line.includes(s)).map((secret) => ({ secret, line })))
}

describe('the install flow at debug level', () => {
  it('a completed install through an install link: lines are written, and none carries the client secret, the code, the state, the link or a token', async () => {
    const link = signInstallLink(h.deps.config.inviteSecret, { accountId: h.seed.account.id, expiresAt: new Date(h.deps.clock.now().getTime() + 7 * DAY) })
    const code = 'code-that-must-stay-private-0042'
    const { page, start } = await installThroughSlack(h.base, ROTATING, { link, installerEmail: 'admin@acme.test', code })
    expect(page.status).toBe(200)
    expect(page.html).toContain('it is now linked to <strong>Acme Corp</strong>')
    const state = start.authorizeUrl?.searchParams.get('state') ?? ''
    expect(state.length).toBeGreaterThan(20)
    expect(h.logger.lines.length).toBeGreaterThan(0)
    expect(leaked([CLIENT_SECRET, code, state, link, ROTATING.botToken, 'xoxe-1-acme-logged-refresh'])).toEqual([])
  })

  it('an exchange Slack refuses (bad_client_secret): the failure is logged, without the secret, the code or the state', async () => {
    const start = await openInstallPage(h.base)
    const state = start.authorizeUrl?.searchParams.get('state') ?? ''
    nock(API_ORIGIN).post('/api/oauth.v2.access').reply(200, { ok: false, error: 'bad_client_secret' })
    const code = 'refused-code-0099'
    const page = await returnFromSlack(h.base, { code, state }, start.stateCookie)
    expect(page.status).toBeGreaterThanOrEqual(400)
    expect(h.logger.lines.some(({ level, line }) => level === 'error' && line.includes('bad_client_secret'))).toBe(true)
    expect(leaked([CLIENT_SECRET, code, state])).toEqual([])
  })
})

describe('the OAuth redirect URL at start', () => {
  const redirectWarnings = (lines: { level: string; line: string }[]) => lines.filter(({ level, line }) => level === 'warn' && line.includes('redirect URL'))

  it('not https (PUBLIC_BASE_URL http://invite.test here): a warning saying Slack refuses it and what to set', () => {
    const [warning, ...more] = redirectWarnings(h.logger.lines)
    expect(more).toEqual([])
    expect(warning?.line).toContain('http://invite.test/slack/oauth_redirect is not https')
    expect(warning?.line).toContain('PUBLIC_BASE_URL')
  })

  it('https: no warning', () => {
    const logger = levelLogger()
    createSlackInstallRouter(makeDeps(h.deps.db, { logger, config: { publicBaseUrl: 'https://invite.example.com' } }), DISTRIBUTION_CONFIG)
    expect(redirectWarnings(logger.lines)).toEqual([])
    expect(logger.lines.filter(({ level }) => level === 'warn' || level === 'error')).toEqual([])
  })
})
