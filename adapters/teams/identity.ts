/**
 * Who is behind a Teams activity (docs/security.md): `TeamsInfo.getMember` gives the member's email
 * (or, failing that, their user principal name), which the core then checks against the
 * account's Active administrators on every message and every click. Nothing is cached: a
 * deactivated administrator loses access at their next click.
 *
 * Refused before the core is asked for an email: a failed lookup, guests and anonymous
 * (meeting) users, members of another tenant (or of no tenant the lookup names), and members with
 * no email. Such actors still reach
 * the core with `email: null`, so the refusal is audited like any other (`auth.not_admin`).
 */
import type { Actor } from '../../src/invitations/model.ts'
import type { IdentityProblem } from './render.ts'
import { TEAMS, TeamsMember } from './schemas.ts'

export type TeamsIdentity = { ok: true; email: string } | { ok: false; problem: IdentityProblem }

/** Decides on one `getMember` answer (or `undefined` when the lookup failed). Pure. */
export function judgeTeamsMember(raw: unknown, tenantId: string): TeamsIdentity {
  if (raw === undefined) return { ok: false, problem: 'lookup_failed' }
  const parsed = TeamsMember.safeParse(raw)
  if (!parsed.success) return { ok: false, problem: 'lookup_failed' }
  const m = parsed.data
  const role = m.userRole?.toLowerCase()
  if (role === 'guest' || role === 'anonymous') return { ok: false, problem: 'guest' }
  // The member lookup names the member's home tenant; without one we cannot tell a member of a
  // shared channel's other tenant (whose directory sets the email) from ours: refused too.
  if (m.tenantId !== tenantId) return { ok: false, problem: 'stranger' }
  const email = m.email?.trim() || m.userPrincipalName?.trim() || ''
  // A guest's UPN looks like "bob_x.com#EXT#@tenant.onmicrosoft.com": never an address to trust.
  if (!email || email.includes('#EXT#') || !email.includes('@')) return { ok: false, problem: 'no_email' }
  return { ok: true, email }
}

/** The core's view of the person: the email is `null` when Teams does not vouch for one. */
export function teamsActor(from: { id: string; name?: string | undefined; aadObjectId?: string | undefined }, identity: TeamsIdentity): Actor {
  return {
    platform: TEAMS,
    platformUserId: from.aadObjectId ?? from.id,
    email: identity.ok ? identity.email : null,
    displayName: from.name ?? null,
  }
}
