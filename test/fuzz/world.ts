/**
 * The world generated inputs run against: one database (PGlite in memory, or a fresh database on
 * DATABASE_URL's server), the four HTTP entry points served by the real app (createHttpApp)
 * through the existing harnesses, two accounts with people in every state, and the platforms'
 * hosts played by persisted nock interceptors answering generic success.
 *
 * Account A is linked to the Slack workspace (its clock, moved 8 days on, also serves the invitee
 * pages and the SES route); account B to the Teams tenant. Both have the same administrator email,
 * as the harnesses seed them, and otherwise the same shape, so an id taken from one and clicked in
 * the other is a cross-account id.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import nock from 'nock'
import { Registry } from 'prom-client'
import { createSesNotificationsRouter } from '../../adapters/email/ses-notifications-router.ts'
import { runCommand } from '../../src/commands/run-command.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import { createHttpApp } from '../../src/server/http.ts'
import { captureLogger, type CapturedLine } from '../email/support/capture-logger.ts'
import { CERT_ORIGIN, TOPIC_ARN, makeSigningKey, type TestSigningKey } from '../email/support/sns-signer.ts'
import * as slack from '../slack/support.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'
import { DAY, inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import * as teams from '../teams/support.ts'
import { startInviteeApp, type RunningApp } from '../web/support.ts'
import { createFingerprinter, type Fingerprinter } from './fingerprint.ts'
import type { Json } from './mutate.ts'
import { ZONE_NAMES } from './shared.ts'

/** The state each seeded person is in. */
export const ROLES = ['admin', 'member', 'invited', 'expired', 'declined', 'removed', 'regenerated', 'onlyHere'] as const
export type Role = (typeof ROLES)[number]

export interface Person {
  role: Role
  id: string
  email: string
}

export interface AccountFacts {
  accountId: string
  people: Person[]
  groups: { id: string; name: string }[]
}

/** Invitee links by the state of their invitation. */
export const TOKEN_STATES = ['live', 'expired', 'accepted', 'declined', 'replaced', 'revoked'] as const
export type TokenState = (typeof TOKEN_STATES)[number]

/** An active administrator (the harnesses' Alice) and everyone the mocks answer for. */
export const SLACK_IDS = {
  admin: slack.ALICE,
  member: 'U0FUZZMEMBER',
  outsider: 'U0FUZZOUTSDR',
  guest: 'U0FUZZGUEST1',
  bot: 'U0FUZZBOT001',
  stranger: 'U0FUZZSTRNGR',
  unconfirmed: 'U0FUZZUNCONF',
  deleted: 'U0FUZZDELETD',
  missing: 'U0FUZZMISSNG',
  /** No interceptor answers for this one: the lookup fails at the network. */
  unanswered: 'U0FUZZNOANSW',
} as const
export type SlackIdentity = keyof typeof SLACK_IDS

/**
 * The administrator again under other Slack ids: users.info vouches for the same email for each,
 * with its own `tz` (real zones, legacy names, names no zone database knows, no string, none at
 * all). One id per value, because the adapter keeps a member's answer for two minutes.
 */
export const SLACK_ZONED_ADMINS: readonly { id: string; tz: Json | undefined }[] = [...ZONE_NAMES, null, 0, -480, true, [], {}, ['Europe/Paris'], undefined].map((tz, i) => ({
  id: `U0FUZZTZ${String(i).padStart(3, '0')}`,
  tz,
}))

/** The email users.info vouches for, by Slack user id (the others are refused before the core). */
export const SLACK_VOUCHED: Readonly<Record<string, string>> = {
  [SLACK_IDS.admin]: 'admin@acme.test',
  [SLACK_IDS.member]: 'member@acme.test',
  [SLACK_IDS.outsider]: 'nobody@elsewhere.test',
  ...Object.fromEntries(SLACK_ZONED_ADMINS.map((z) => [z.id, 'admin@acme.test'])),
}

export const TEAMS_IDS = {
  admin: teams.ALICE.id,
  member: '29:fuzz-member-0000000000000000000000000000000000000000000000000000000000000000',
  guest: '29:fuzz-guest-00000000000000000000000000000000000000000000000000000000000000000',
  stranger: '29:fuzz-stranger-0000000000000000000000000000000000000000000000000000000000000',
  external: '29:fuzz-external-0000000000000000000000000000000000000000000000000000000000000',
  notFound: '29:fuzz-notfound-0000000000000000000000000000000000000000000000000000000000000',
  unanswered: '29:fuzz-unanswered-00000000000000000000000000000000000000000000000000000000000',
} as const
export type TeamsIdentity = keyof typeof TEAMS_IDS

/** The email the member lookup vouches for, by Teams user id. */
export const TEAMS_VOUCHED: Readonly<Record<string, string>> = {
  [TEAMS_IDS.admin]: 'admin@acme.test',
  [TEAMS_IDS.member]: 'member@acme.test',
}

export interface World {
  db: TestDatabase
  fingerprint: Fingerprinter
  slack: slack.Harness
  teams: teams.Harness
  webBase: string
  sesBase: string
  /** Account A (Slack) and account B (Teams). */
  a: AccountFacts
  b: AccountFacts
  tokens: Record<TokenState, string[]>
  /** Emails the worker "sent" (status sent, with an SES MessageId), for bounces that match. */
  sentEmails: { messageId: string; email: string }[]
  snsKey: TestSigningKey
  attackerKey: TestSigningKey
  /**
   * What the Teams route, the invitee pages and the SES route logged (the Slack harness logs
   * nowhere): the runner empties it before each input and quotes its errors with a 5xx.
   */
  log: CapturedLine[]
  /** Bodies the app sent to Slack (Web API, response_url) and to the Teams connector. */
  outbound: string[]
  /** Outbound requests (not to loopback) that no interceptor answered: the app met a network failure. */
  unanswered: { count: number }
  /**
   * An internal failure the app reported itself since these were last emptied (its "Something
   * went wrong" reply, or an error it logged), or null. Not judged when an outbound request went
   * unanswered: a fuzzed URL the network refused may rightly end that way.
   */
  internalFailure(): string | null
  /** A live link of a fresh invitee of account A (an input that uses a link up gets its own). */
  freshToken(): Promise<string>
  /** Waits for work acknowledged requests started (Slack answers after its ack). */
  idle(): Promise<void>
  /** Puts every table back as it was after seeding (the servers and the facts above stay valid). */
  reset(): Promise<void>
  close(): Promise<void>
}

/** The password the seeded members registered with; any rule the core has, it satisfies. */
const SEED_PASSWORD = 'Fuzz-Seed-Passw0rd!x'

async function populate(deps: TestDeps, seed: SeededAccount, tag: string): Promise<{ facts: AccountFacts; tokens: Record<TokenState, string[]> }> {
  const actor = seed.adminActor
  const accountId = seed.account.id
  const people: Person[] = [{ role: 'admin', id: seed.admin.userId, email: seed.admin.email }]
  const tokens: Record<TokenState, string[]> = { live: [], expired: [], accepted: [], declined: [], replaced: [], revoked: [] }
  const must = (what: string, ok: boolean) => {
    if (!ok) throw new Error(`fuzz world: could not ${what}`)
  }

  const expired = await inviteUser(deps, seed, 'carol@acme.test', { firstName: 'Carol', lastName: 'Expired' })
  const regenerated = await inviteUser(deps, seed, 'frank@acme.test', { firstName: 'Frank', lastName: 'Again', groups: ['Engineering'] })
  deps.clock.advance(8 * DAY)
  const again = await runCommand(deps, { accountId, actor, command: { name: 'regenerate', email: 'frank@acme.test' } })
  must('regenerate', again.kind === 'regenerated')
  const frankLink = await copyInvitationLink(deps, { accountId, actor, email: 'frank@acme.test' })
  must('copy a link', frankLink.ok)
  tokens.expired.push(expired.token)
  tokens.replaced.push(regenerated.token)
  if (frankLink.ok) tokens.live.push(frankLink.value.url.split('/invitations/')[1]!)

  const invited = await inviteUser(deps, seed, 'bob@acme.test', { firstName: 'Bob', lastName: 'Invited', groups: ['Engineering'] })
  const onlyHere = await inviteUser(deps, seed, `only-${tag}@acme.test`, { firstName: 'Only', lastName: tag.toUpperCase() })
  tokens.live.push(invited.token, onlyHere.token)

  const member = await inviteUser(deps, seed, 'member@acme.test', { firstName: 'Mia', lastName: 'Member' })
  const accepted = await acceptInvitation(deps, { token: member.token, firstName: 'Mia', lastName: 'Member', password: SEED_PASSWORD, passwordConfirmation: SEED_PASSWORD, termsAccepted: true })
  must(`accept (${accepted.ok ? '' : accepted.code})`, accepted.ok)
  tokens.accepted.push(member.token)

  const declined = await inviteUser(deps, seed, 'dave@acme.test', { firstName: 'Dave', lastName: 'Declined' })
  must('decline', (await declineInvitation(deps, { token: declined.token })).ok)
  tokens.declined.push(declined.token)

  const removed = await inviteUser(deps, seed, 'erin@acme.test', { firstName: 'Erin', lastName: 'Removed' })
  must('remove', (await runCommand(deps, { accountId, actor, command: { name: 'remove', email: 'erin@acme.test' }, confirmed: true })).kind === 'removed')
  tokens.revoked.push(removed.token)

  people.push(
    { role: 'member', id: member.user.id, email: 'member@acme.test' },
    { role: 'invited', id: invited.user.id, email: 'bob@acme.test' },
    { role: 'expired', id: expired.user.id, email: 'carol@acme.test' },
    { role: 'declined', id: declined.user.id, email: 'dave@acme.test' },
    { role: 'removed', id: removed.user.id, email: 'erin@acme.test' },
    { role: 'regenerated', id: regenerated.user.id, email: 'frank@acme.test' },
    { role: 'onlyHere', id: onlyHere.user.id, email: `only-${tag}@acme.test` },
  )
  const groups = await deps.db('groups').where({ account_id: accountId }).orderBy('name').select<{ id: string; name: string }[]>('id', 'name')
  return { facts: { accountId, people, groups }, tokens }
}

/** What the app replied when it caught a failure of its own (Slack and Teams word it alike). */
export const SOMETHING_WENT_WRONG = 'Something went wrong on our side'

/** Persisted interceptors for every host the app may call. Registered once per test file. */
function interceptPlatforms(snsKey: TestSigningKey, outbound: string[], unanswered: { count: number }): () => void {
  const keep = (_uri: string, body: unknown) => {
    outbound.push(typeof body === 'string' ? body : JSON.stringify(body))
  }
  nock.disableNetConnect()
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'))

  // Slack: users.info vouches for the admin only (under each of its ids); the others are the ways Slack says "not them".
  slack.mockUsersInfo(SLACK_IDS.admin).persist()
  slack.mockUsersInfo(SLACK_IDS.member, { name: 'mia' }, { email: 'member@acme.test' }).persist()
  slack.mockUsersInfo(SLACK_IDS.outsider, { name: 'olga' }, { email: 'nobody@elsewhere.test' }).persist()
  slack.mockUsersInfo(SLACK_IDS.guest, { is_restricted: true }).persist()
  slack.mockUsersInfo(SLACK_IDS.bot, { is_bot: true }).persist()
  slack.mockUsersInfo(SLACK_IDS.stranger, { team_id: 'T0OTHERTEAM' }).persist()
  slack.mockUsersInfo(SLACK_IDS.unconfirmed, { is_email_confirmed: false }).persist()
  slack.mockUsersInfo(SLACK_IDS.deleted, { deleted: true }).persist()
  for (const zoned of SLACK_ZONED_ADMINS) slack.mockUsersInfo(zoned.id, { name: 'alice', tz: zoned.tz, tz_label: typeof zoned.tz === 'string' ? zoned.tz : null, tz_offset: 'x' }).persist()
  nock(slack.API_ORIGIN)
    .persist()
    .post('/api/users.info', (b: Record<string, string>) => b.user === SLACK_IDS.missing)
    .reply(200, { ok: false, error: 'user_not_found' })
  nock(slack.API_ORIGIN)
    .persist()
    .post((path) => path.startsWith('/api/') && !path.startsWith('/api/users.info'))
    .reply(200, (uri, body) => {
      keep(uri, body)
      return { ok: true, channel: slack.CHANNEL, ts: '1732615300.000100' }
    })
  // response_url: any path on Slack's hosts.
  nock(/^https:\/\/([a-z0-9-]+\.)*slack\.com(:443)?$/)
    .persist()
    .post(() => true)
    .reply(200, (uri, body) => {
      keep(uri, body)
      return 'ok'
    })

  // Teams: member lookups in the team and in the personal chat; every connector write succeeds.
  for (const scope of [teams.TEAM_ID, teams.PERSONAL_CONVERSATION]) {
    teams.mockMember(scope, {}, TEAMS_IDS.admin).persist()
    teams.mockMember(scope, { id: TEAMS_IDS.member, name: 'Mia Member', email: 'member@acme.test', userPrincipalName: 'mia@acme.onmicrosoft.com' }, TEAMS_IDS.member).persist()
    teams.mockMember(scope, { id: TEAMS_IDS.guest, userRole: 'guest' }, TEAMS_IDS.guest).persist()
    teams.mockMember(scope, { id: TEAMS_IDS.stranger, tenantId: 'f0000000-0000-4000-8000-000000000000' }, TEAMS_IDS.stranger).persist()
    teams.mockMember(scope, { id: TEAMS_IDS.external, email: null, userPrincipalName: 'admin_acme.test#EXT#@other.onmicrosoft.com' }, TEAMS_IDS.external).persist()
    teams.mockMemberNotFound(scope, TEAMS_IDS.notFound).persist()
  }
  let n = 0
  nock(teams.SERVICE_ORIGIN)
    .persist()
    .post(() => true)
    .reply(200, (uri, body) => {
      keep(uri, body)
      return { id: `fuzz-${++n}` }
    })
    .put(() => true)
    .reply(200, (uri, body) => {
      keep(uri, body)
      return { id: `fuzz-${++n}` }
    })

  // SNS: our certificate at any certificate path of the region's host; any other GET (a
  // SubscribeURL) confirms.
  nock(CERT_ORIGIN)
    .persist()
    .get((path) => path.split('?')[0]!.endsWith('.pem'))
    .reply(200, snsKey.certPem)
    .get(() => true)
    .reply(200, '<ConfirmSubscriptionResponse/>')

  // nock reports every request it did not answer, ours to the app on loopback included.
  const onNoMatch = (...args: unknown[]) => {
    const target = args.find((a): a is { hostname?: unknown; host?: unknown } => typeof a === 'object' && a !== null && ('hostname' in a || 'host' in a))
    const host = String(target?.hostname ?? target?.host ?? '')
    if (!host.startsWith('127.0.0.1') && !host.startsWith('localhost')) unanswered.count++
  }
  nock.emitter.on('no match', onNoMatch)
  return () => nock.emitter.removeListener('no match', onNoMatch)
}

async function listen(app: ReturnType<typeof createHttpApp>['app']): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export async function createWorld(): Promise<World> {
  const db = await createTestDatabase()
  const snsKey = makeSigningKey()
  const attackerKey = makeSigningKey('attacker.example')
  const outbound: string[] = []
  const unanswered = { count: 0 }
  const stopListening = interceptPlatforms(snsKey, outbound, unanswered)
  const log: CapturedLine[] = []
  const logger = captureLogger(log)
  const fingerprint = await createFingerprinter(db.knex)

  const slackHarness = await slack.startHarness(db)
  const teamsHarness = await teams.startHarness(db, { logger })
  const a = await populate(slackHarness.deps, slackHarness.seed, 'a')
  const b = await populate(teamsHarness.deps, teamsHarness.seed, 'b')
  // As if the worker had sent every queued email: SES's MessageId on each row.
  await db.knex('email_outbox').update({ status: 'sent', message_id: db.knex.raw(`'0102fuzz-' || id`), sent_at: slackHarness.deps.clock.now() })
  const sent = await db.knex('email_outbox').orderBy('id').select<{ message_id: string; to_email: string }[]>('message_id', 'to_email')

  // Account A's deps (its clock: links expire as they do for it) with the capturing logger.
  const logged = { ...slackHarness.deps, logger }
  // A per-IP lookup limit large enough to stay out of the way (a fixed clock never refills it).
  const web: RunningApp = await startInviteeApp(logged, { lookupLimit: { max: 10_000_000, windowMs: 60_000 } })
  const ses = await listen(
    createHttpApp({ db: db.knex, logger, registry: new Registry(), mounts: [{ path: '/ses/notifications', router: createSesNotificationsRouter(logged, { topicArn: TOPIC_ARN }) }] }).app,
  )
  const restore = await snapshotTables(db)
  let freshCount = 0

  const world: World = {
    db,
    fingerprint,
    slack: slackHarness,
    teams: teamsHarness,
    webBase: web.baseUrl,
    sesBase: ses.base,
    a: a.facts,
    b: b.facts,
    tokens: Object.fromEntries(TOKEN_STATES.map((s) => [s, [...a.tokens[s], ...b.tokens[s]]])) as Record<TokenState, string[]>,
    sentEmails: sent.map((r) => ({ messageId: r.message_id, email: r.to_email })),
    snsKey,
    attackerKey,
    log,
    outbound,
    unanswered,
    internalFailure() {
      if (unanswered.count > 0) return null
      const said = outbound.find((body) => body.includes(SOMETHING_WENT_WRONG))
      if (said) return `the app told the user something went wrong on its side: ${said.slice(0, 300)}`
      const errors = log.filter((l) => l.level === 'error')
      if (errors.length > 0) return `the app logged an error: ${errors.map((l) => `${l.msg} ${JSON.stringify(l.fields).slice(0, 1_500)}`).join('\n    ')}`
      return null
    },
    async freshToken() {
      const { token } = await inviteUser(slackHarness.deps, slackHarness.seed, `fresh-${++freshCount}@acme.test`, { firstName: 'Fresh', lastName: 'Invitee' })
      return token
    },
    async idle() {
      await slackHarness.router.idle()
      await teamsHarness.router.idle()
    },
    async reset() {
      await world.idle()
      await restore()
    },
    async close() {
      await slackHarness.close()
      await teamsHarness.close()
      await web.close()
      await ses.close()
      stopListening()
      nock.cleanAll()
      nock.enableNetConnect()
      await db.close()
    },
  }
  return world
}

/**
 * Copies every table (but the migrations' own) into a schema of its own and returns the restore:
 * one statement that empties them all, then one copy back per table, parents before children (a
 * table's own rows may refer to each other: the check runs at the end of its statement). Sequences
 * are left alone, so rows written after a restore never reuse an id.
 */
async function snapshotTables(db: TestDatabase): Promise<() => Promise<void>> {
  const knex = db.knex
  const { rows: tables } = await knex.raw<{ rows: { name: string }[] }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'knex_migrations%' ORDER BY tablename`,
  )
  const { rows: edges } = await knex.raw<{ rows: { child: string; parent: string }[] }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
     WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace AND k.conrelid <> k.confrelid`,
  )
  const order: string[] = []
  const pending = new Set(tables.map((t) => t.name))
  while (pending.size > 0) {
    const ready = [...pending].filter((t) => !edges.some((e) => e.child === t && pending.has(e.parent)))
    if (ready.length === 0) throw new Error(`fuzz world: foreign keys form a cycle among ${[...pending].join(', ')}`)
    for (const t of ready) {
      order.push(t)
      pending.delete(t)
    }
  }
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`
  await knex.raw(`DROP SCHEMA IF EXISTS fuzz_snapshot CASCADE; CREATE SCHEMA fuzz_snapshot`)
  for (const t of order) await knex.raw(`CREATE TABLE fuzz_snapshot.${q(t)} AS SELECT * FROM ${q(t)}`)
  const sql = [`TRUNCATE ${order.map(q).join(', ')}`, ...order.map((t) => `INSERT INTO ${q(t)} SELECT * FROM fuzz_snapshot.${q(t)}`)].join(';\n')
  return async () => {
    await knex.transaction(async (trx) => {
      await trx.raw(sql)
    })
  }
}

/** The person of `role` in an account. */
export function person(facts: AccountFacts, role: Role): Person {
  const found = facts.people.find((p) => p.role === role)
  if (!found) throw new Error(`no ${role} in the seeded account`)
  return found
}
