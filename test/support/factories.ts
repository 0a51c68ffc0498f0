import type { Knex } from 'knex'
import { randomBytes } from 'node:crypto'
import { createAccount } from '../../src/accounts/create-account.ts'
import { createGroup } from '../../src/accounts/create-group.ts'
import type { Deps, ServiceConfig } from '../../src/deps.ts'
import { acceptInvitation } from '../../src/invitations/accept-invitation.ts'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { copyInvitationLink } from '../../src/invitations/copy-invitation-link.ts'
import { declineInvitation } from '../../src/invitations/decline-invitation.ts'
import type { Actor, UserView } from '../../src/invitations/model.ts'
import { fixedClock } from '../../src/ports/clock.ts'
import { silentLogger } from '../../src/ports/logger.ts'

export const TEST_NOW = '2026-11-26T10:00:00.000Z'
export const DAY = 86_400_000

export function testConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    inviteTtlMs: 7 * DAY,
    publicBaseUrl: 'http://invite.test',
    inviteSecret: Buffer.alloc(32, 7),
    emailFrom: 'InviteOps <invites@inviteops.test>',
    defaultGroup: 'Members',
    limits: { adminSendsPerHour: 1000, recipientSendsPerDay: 100 },
    ...overrides,
  }
}

export type TestDeps = Deps & { clock: ReturnType<typeof fixedClock> }

/** Deps for tests: a clock the test moves, a fixed secret, a silent logger. */
export function makeDeps(db: Knex, overrides: Partial<Omit<Deps, 'clock' | 'config'>> & { config?: Partial<ServiceConfig>; now?: string } = {}): TestDeps {
  const { config, now, ...rest } = overrides
  return { db, clock: fixedClock(now ?? TEST_NOW), logger: silentLogger, ...rest, config: testConfig(config) }
}

export interface SeededAccount {
  account: { id: string; name: string }
  admin: { userId: string; email: string }
  adminActor: Actor
  /** Actor for a Slack/Teams identity with the given email (not necessarily an admin). */
  actorFor(email: string): Actor
}

/** An account with "Administrators", "Members" and an extra group "Engineering", and one Active admin. */
export async function seedAccount(deps: Deps, opts: { name?: string; adminEmail?: string } = {}): Promise<SeededAccount> {
  const suffix = randomBytes(3).toString('hex')
  const name = opts.name ?? `Acme ${suffix}`
  const adminEmail = opts.adminEmail ?? `admin-${suffix}@acme.test`
  const created = await createAccount(deps.db, deps.clock, { name, adminEmail, adminFirstName: 'Alice', adminLastName: 'Admin', defaultGroup: 'Members' })
  if (!created.ok) throw new Error(`seedAccount: ${created.code}`)
  const group = await createGroup(deps.db, deps.clock, { accountId: created.value.accountId, name: 'Engineering', isAdmin: false })
  if (!group.ok) throw new Error(`seedAccount: ${group.code}`)
  const actorFor = (email: string): Actor => ({ platform: 'cli', platformUserId: `test:${email}`, email, displayName: email })
  return {
    account: { id: created.value.accountId, name },
    admin: { userId: created.value.adminUserId, email: adminEmail },
    adminActor: actorFor(adminEmail),
    actorFor,
  }
}

/** Invite `email` as the seeded admin and return the user and a working link. */
export async function inviteUser(
  deps: Deps,
  seed: SeededAccount,
  email: string,
  opts: { firstName?: string; lastName?: string; groups?: string[] } = {},
): Promise<{ user: UserView; url: string; token: string }> {
  const added = await addInvitation(deps, {
    accountId: seed.account.id,
    actor: seed.adminActor,
    email,
    firstName: opts.firstName ?? 'Bob',
    lastName: opts.lastName ?? 'Invitee',
    groups: opts.groups ?? [],
  })
  if (!added.ok) throw new Error(`inviteUser: ${added.code}`)
  const link = await copyInvitationLink(deps, { accountId: seed.account.id, actor: seed.adminActor, email })
  if (!link.ok) throw new Error(`inviteUser link: ${link.code}`)
  const token = link.value.url.split('/invitations/')[1]!
  return { user: added.value.user, url: link.value.url, token }
}

/**
 * A last name as an invitee could have typed it on the registration page before names were
 * checked: a line break, then mrkdwn (bold, a bare address, a Slack link, italic, strike, code) and
 * an `&amp;` that must stay visible as typed.
 */
export const HOSTILE_LAST = 'Smith\n*URGENT* click https://evil.example/x <https://evil.example|here> &amp; _x_ ~y~ `z`'

/** `HOSTILE_LAST` with Teams markdown too: a `[text](url)` link and a `#` heading. */
export const HOSTILE_LAST_MARKDOWN = 'Smith\n*URGENT* click https://evil.example/x <https://evil.example|here> [here](https://evil.example) &amp; _x_ ~y~ `z` # h'

/**
 * Eve (eve@acme.test), written straight into the database as an Active member of Members, with
 * `lastName`: as a row stored before names were checked, no check on the way. Returns her id.
 */
export async function insertStoredHostileRow(deps: Deps, seed: SeededAccount, lastName: string = HOSTILE_LAST): Promise<string> {
  const now = deps.clock.now()
  const [eve] = await deps
    .db('users')
    .insert({ account_id: seed.account.id, email: 'eve@acme.test', first_name: 'Eve', last_name: lastName, status: 'active', joined_at: now, created_at: now, updated_at: now })
    .returning<{ id: string }[]>('id')
  const members = await deps.db('groups').where({ account_id: seed.account.id, name: 'Members' }).first<{ id: string }>('id')
  await deps.db('user_groups').insert({ user_id: eve!.id, group_id: members!.id })
  return eve!.id
}

/**
 * The activity scenario the notice tests of every platform share: ann@ accepts and dan@ declines
 * (a day after being invited), gone@ bounces with `bounceDetail`, and old@'s invitation expires
 * (the clock ends 8 days on). Four events, or one expiry once swept: two messages on any platform.
 */
export async function arrangeAnswersBounceAndExpiry(deps: Deps & { clock: { advance(ms: number): void } }, seed: SeededAccount, bounceDetail: string): Promise<void> {
  const accepted = await inviteUser(deps, seed, 'ann@acme.test')
  const declined = await inviteUser(deps, seed, 'dan@acme.test')
  await inviteUser(deps, seed, 'old@acme.test')
  deps.clock.advance(DAY)
  const password = 'Str0ng!pass'
  const accept = await acceptInvitation(deps, { token: accepted.token, firstName: 'Ann', lastName: 'Lee', password, passwordConfirmation: password, termsAccepted: true })
  if (!accept.ok) throw new Error(`arrangeAnswersBounceAndExpiry accept: ${accept.code}`)
  const decline = await declineInvitation(deps, { token: declined.token })
  if (!decline.ok) throw new Error(`arrangeAnswersBounceAndExpiry decline: ${decline.code}`)
  await deps.db('account_events').insert({
    account_id: seed.account.id,
    type: 'email.bounced',
    payload: JSON.stringify({ email: 'gone@acme.test', detail: bounceDetail, suppressed: true, sesMessageId: 'x' }),
    created_at: deps.clock.now(),
  })
  deps.clock.advance(7 * DAY) // old@ expires
}
