/**
 * Who is behind a Slack request (docs/security.md): `users.info` gives the member's confirmed email,
 * which the core then checks against the account's Active administrators on every call.
 *
 * Refused before the core is asked for an email: deactivated members, bots and apps, guests
 * (single- and multi-channel), strangers from another workspace (Slack Connect), and members
 * without a confirmed email. Such actors still reach the core, with no email, so the refusal is
 * audited like any other (the core answers `auth.not_admin`).
 *
 * Answers are cached for a short while (docs/security.md: "never cached for more than a few
 * minutes"), so a click does not cost a Web API round trip; a deactivated admin loses access
 * within `ttlMs`. The cache is keyed by workspace and member, and each lookup is made with the
 * client of the workspace's own token (workspaces.ts), so one cache serves every workspace.
 */
import type { WebClient } from '@slack/web-api'
import type { Actor } from '../../src/invitations/model.ts'
import type { Logger } from '../../src/ports/logger.ts'
import type { IdentityProblem } from './render.ts'
import { z } from 'zod'
import { knownZone } from '../../src/shared/dates.ts'
import { SLACK, UsersInfoResponse } from './schemas.ts'

/** A Web API platform error carries Slack's error code in `data.error` (e.g. `user_not_found`). */
const WebApiErrorShape = z.object({ data: z.object({ error: z.string() }) })

/**
 * What `users.info` says of a member: a vouched email, or why not. `timeZone` is the member's own
 * zone (`user.tz`, an IANA name) whenever Slack gives one, so dates are shown in it either way.
 */
export type SlackIdentity = ({ ok: true; email: string; displayName: string | null } | { ok: false; problem: IdentityProblem }) & { timeZone?: string | null }

export interface IdentityResolver {
  /** `client` carries the token of `teamId`'s workspace; for `users.info`, a read, so a client that retries (a little) is fine. */
  resolve(teamId: string, userId: string, client: WebClient): Promise<SlackIdentity>
}

export interface IdentityResolverOptions {
  logger: Logger
  /** How long an answer is reused; default 2 minutes. */
  ttlMs?: number
  /** Most cached members (oldest dropped first); default 5000. */
  maxEntries?: number
  now?: () => number
}

/** Decides on one `users.info` answer. Pure, so the rules are tested without Slack. */
export function judgeSlackUser(teamId: string, raw: unknown): SlackIdentity {
  const parsed = UsersInfoResponse.safeParse(raw)
  if (!parsed.success) return { ok: false, problem: 'lookup_failed' }
  const judged = judgeMember(teamId, parsed.data.user)
  const tz = parsed.data.user.tz
  // A legacy name Slack may still give (`US/Eastern`) reads as its zone, not as UTC.
  const zone = knownZone(tz)
  return zone ? { ...judged, timeZone: zone } : judged
}

function judgeMember(teamId: string, u: UsersInfoResponse['user']): SlackIdentity {
  if (u.deleted) return { ok: false, problem: 'deleted' }
  if (u.is_bot || u.is_app_user || u.id === 'USLACKBOT') return { ok: false, problem: 'bot' }
  if (u.is_restricted || u.is_ultra_restricted) return { ok: false, problem: 'guest' }
  // On Enterprise Grid a member's home team may differ from the workspace they act in; they
  // belong if the workspace is among their teams.
  const inTeam = u.team_id === teamId || (u.enterprise_user?.teams ?? []).includes(teamId)
  if (u.is_stranger || !inTeam) return { ok: false, problem: 'stranger' }
  const email = u.profile?.email?.trim()
  if (!email) return { ok: false, problem: 'no_email' }
  if (u.is_email_confirmed !== true) return { ok: false, problem: 'unconfirmed_email' }
  const displayName = u.profile?.display_name || u.profile?.real_name || u.real_name || u.name || null
  return { ok: true, email, displayName }
}

export function createIdentityResolver(opts: IdentityResolverOptions): IdentityResolver {
  const ttlMs = opts.ttlMs ?? 120_000
  const maxEntries = opts.maxEntries ?? 5000
  const now = opts.now ?? Date.now
  const cache = new Map<string, { at: number; identity: SlackIdentity }>()

  return {
    async resolve(teamId, userId, client) {
      const key = `${teamId}:${userId}`
      const hit = cache.get(key)
      if (hit && now() - hit.at < ttlMs) return hit.identity
      let identity: SlackIdentity
      try {
        identity = judgeSlackUser(teamId, await client.users.info({ user: userId }))
      } catch (error) {
        // users_not_found, missing scope, network: refuse this once, do not cache the outage.
        const code = WebApiErrorShape.safeParse(error).data?.data.error ?? ''
        opts.logger.warn({ err: error instanceof Error ? error.message : String(error), slackError: code, userId }, 'slack users.info failed')
        if (code === 'user_not_found' || code === 'users_not_found') return { ok: false, problem: 'stranger' }
        return { ok: false, problem: code === 'missing_scope' ? 'no_email' : 'lookup_failed' }
      }
      cache.delete(key)
      cache.set(key, { at: now(), identity })
      if (cache.size > maxEntries) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
      return identity
    },
  }
}

/** The core's view of the person: the email is `null` when Slack does not vouch for one. */
export function slackActor(userId: string, identity: SlackIdentity, fallbackName: string | null): Actor {
  return {
    platform: SLACK,
    platformUserId: userId,
    email: identity.ok ? identity.email : null,
    displayName: identity.ok ? (identity.displayName ?? fallbackName) : fallbackName,
  }
}
