/**
 * @slack/oauth's `InstallationStore` over the core's Slack installations
 * (src/installations/slack-installations.ts): what "Add to Slack" stores, one row per workspace (or
 * per Enterprise Grid organisation for an org-wide install), the bot token sealed at rest by the
 * core (docs/security.md "Slack installations and their tokens").
 *
 * Only what InviteOps uses is kept: the bot's token, refresh token and expiry, ids, scopes, the
 * installer's user id, the team and enterprise names. A user token (an installer's own `xoxp-`) is
 * never stored: InviteOps asks for no user scopes, so it would be a secret kept for nothing.
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth'
import type { Deps } from '../../src/deps.ts'
import { disableSlackInstallation, findSlackInstallation, saveSlackInstallation, type SlackInstallation } from '../../src/installations/slack-installations.ts'

/**
 * An installation InviteOps cannot use (no bot token: an install that granted only user scopes;
 * no team or enterprise id). Thrown by `storeInstallation`, so nothing is stored and the install
 * page says why (oauth.ts).
 */
export class UnusableInstallationError extends Error {
  readonly code = 'inviteops_unusable_installation'
}

/**
 * `fetchInstallation` found no active installation (never installed, uninstalled or revoked).
 * Nothing of InviteOps catches it today: see `createSlackInstallationStore`.
 */
export class SlackInstallationNotFoundError extends Error {
  readonly code = 'inviteops_installation_not_found'
  constructor(
    message: string,
    readonly status: 'never_installed' | 'uninstalled' | 'revoked',
  ) {
    super(message)
  }
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== ''

/**
 * @slack/oauth's installation as the core's, or why it cannot be stored. `expiresAt` (seconds
 * since the epoch, token rotation on) becomes a Date; the installer's user token is dropped.
 */
export function toSlackInstallation(installation: Installation): { ok: true; installation: SlackInstallation } | { ok: false; reason: string } {
  const bot = installation.bot
  if (!bot || !nonEmpty(bot.token)) return { ok: false, reason: 'the installation has no bot token (InviteOps needs its bot scopes, not only user scopes)' }
  if (!nonEmpty(bot.userId)) return { ok: false, reason: 'the installation has no bot user id' }
  const isEnterpriseInstall = installation.isEnterpriseInstall === true
  const teamId = nonEmpty(installation.team?.id) ? installation.team.id : null
  const enterpriseId = nonEmpty(installation.enterprise?.id) ? installation.enterprise.id : null
  if (isEnterpriseInstall && !enterpriseId) return { ok: false, reason: 'an org-wide installation without an enterprise id' }
  if (!isEnterpriseInstall && !teamId) return { ok: false, reason: 'a workspace installation without a team id' }
  const expiresAt = typeof bot.expiresAt === 'number' && Number.isFinite(bot.expiresAt) ? new Date(bot.expiresAt * 1000) : null
  return {
    ok: true,
    installation: {
      // An org-wide install is the organisation's, whichever workspace it was started from.
      teamId: isEnterpriseInstall ? null : teamId,
      enterpriseId,
      isEnterpriseInstall,
      appId: nonEmpty(installation.appId) ? installation.appId : null,
      teamName: isEnterpriseInstall ? null : (installation.team?.name ?? null),
      enterpriseName: installation.enterprise?.name ?? null,
      botToken: bot.token,
      botRefreshToken: nonEmpty(bot.refreshToken) ? bot.refreshToken : null,
      botTokenExpiresAt: expiresAt,
      botUserId: bot.userId,
      botId: nonEmpty(bot.id) ? bot.id : null,
      botScopes: Array.isArray(bot.scopes) ? bot.scopes.filter(nonEmpty) : [],
      installerUserId: nonEmpty(installation.user?.id) ? installation.user.id : null,
    },
  }
}

/** The core's installation as @slack/oauth's (what Bolt's `authorize` reads): a v2 bot installation. */
export function toBoltInstallation(found: SlackInstallation): Installation<'v2', boolean> {
  return {
    team: found.isEnterpriseInstall || !found.teamId ? undefined : { id: found.teamId, ...(found.teamName ? { name: found.teamName } : {}) },
    enterprise: found.enterpriseId ? { id: found.enterpriseId, ...(found.enterpriseName ? { name: found.enterpriseName } : {}) } : undefined,
    user: { id: found.installerUserId ?? '', token: undefined, scopes: undefined },
    bot: {
      token: found.botToken,
      ...(found.botRefreshToken ? { refreshToken: found.botRefreshToken } : {}),
      ...(found.botTokenExpiresAt ? { expiresAt: Math.floor(found.botTokenExpiresAt.getTime() / 1000) } : {}),
      scopes: found.botScopes,
      id: found.botId ?? '',
      userId: found.botUserId,
    },
    ...(found.appId ? { appId: found.appId } : {}),
    tokenType: 'bot',
    isEnterpriseInstall: found.isEnterpriseInstall,
    authVersion: 'v2',
  } as Installation<'v2', boolean>
}

function keyOf(query: InstallationQuery<boolean>): { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall: boolean } {
  return { teamId: query.teamId ?? null, enterpriseId: query.enterpriseId ?? null, isEnterpriseInstall: query.isEnterpriseInstall === true }
}

/**
 * The store the install flow (oauth.ts) writes through. InstallProvider's callback only stores;
 * `fetchInstallation` and `deleteInstallation` are read by InstallProvider's own `authorize` and
 * by Bolt's default one, neither of which InviteOps uses: Bolt is given our `authorize`
 * (router.ts, over workspaces.ts), which tells a missing installation from an outage without
 * throwing and rotates tokens once across replicas. They are kept, tested, so the store is
 * @slack/oauth's whole `InstallationStore` and stays correct wherever the library reads it.
 */
export function createSlackInstallationStore(deps: Deps): InstallationStore {
  return {
    async storeInstallation(installation) {
      const mapped = toSlackInstallation(installation as Installation)
      if (!mapped.ok) throw new UnusableInstallationError(`Slack installation not stored: ${mapped.reason}`)
      await saveSlackInstallation(deps, mapped.installation)
    },
    async fetchInstallation(query) {
      const found = await findSlackInstallation(deps, keyOf(query))
      if (!found) throw new SlackInstallationNotFoundError(`InviteOps is not installed in ${query.isEnterpriseInstall ? `organisation ${query.enterpriseId ?? '?'}` : `workspace ${query.teamId ?? '?'}`}`, 'never_installed')
      if (found.status !== 'active') throw new SlackInstallationNotFoundError(`InviteOps was ${found.status === 'uninstalled' ? 'uninstalled from' : 'disconnected from (tokens revoked)'} ${query.teamId ?? query.enterpriseId ?? '?'}`, found.status)
      return toBoltInstallation(found.installation)
    },
    async deleteInstallation(query) {
      await disableSlackInstallation(deps, keyOf(query), 'uninstalled')
    },
  }
}
