import type { Deps } from '../deps.ts'

/**
 * Slack installations (distribution mode): one per workspace, or per Enterprise Grid organisation
 * for an org-wide install, with the workspace's own bot token sealed at rest. The adapters' way
 * in (Bolt's InstallationStore, the uninstall events, token rotation); the queries are in
 * slack-installation-repository.ts.
 */

export interface SlackInstallationKey {
  teamId: string | null
  enterpriseId: string | null
  isEnterpriseInstall: boolean
}

export interface SlackBotTokens {
  botToken: string
  botRefreshToken: string | null
  botTokenExpiresAt: Date | null
}

export interface SlackInstallation extends SlackInstallationKey, SlackBotTokens {
  appId: string | null
  teamName: string | null
  enterpriseName: string | null
  botUserId: string
  botId: string | null
  botScopes: string[]
  installerUserId: string | null
}

export type FoundSlackInstallation =
  | { status: 'active'; installation: SlackInstallation; installedAt: Date }
  | { status: 'uninstalled' | 'revoked'; at: Date; teamName: string | null }

/** Upsert (one row per workspace, or per Enterprise Grid org for an org-wide install); tokens sealed; status active. Releases this workspace's held Slack notice deliveries at once (see "held"). Audited `slack.installed` (on the linked account when the workspace is linked, else account null). */
export async function saveSlackInstallation(deps: Deps, installation: SlackInstallation): Promise<{ reinstalled: boolean }> {
  void deps
  void installation
  throw new Error('saveSlackInstallation: not implemented yet')
}

/** A request from `teamId` (and `enterpriseId`): the workspace's own row, else the org-wide row of its enterprise; `isEnterpriseInstall` true looks up the org row only. null when never installed. Tokens that cannot be opened read as `{ status: 'revoked' }`. */
export async function findSlackInstallation(
  deps: Pick<Deps, 'db' | 'config' | 'logger'>,
  q: { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall?: boolean },
): Promise<FoundSlackInstallation | null> {
  void deps
  void q
  throw new Error('findSlackInstallation: not implemented yet')
}

/** `app_uninstalled` / `tokens_revoked` / InstallationStore.deleteInstallation: tokens wiped (not only marked), status set, row kept so later requests can be told how to reinstall. Audited `slack.uninstalled` / `slack.tokens_revoked` on the linked account (account null if unlinked). Returns whether an active row changed. */
export async function disableSlackInstallation(
  deps: Deps,
  q: { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall?: boolean },
  reason: 'uninstalled' | 'revoked',
): Promise<boolean> {
  void deps
  void q
  void reason
  throw new Error('disableSlackInstallation: not implemented yet')
}

/**
 * Token rotation, once across replicas: in one transaction lock the row (SELECT … FOR UPDATE),
 * and only if its bot token still expires within `refreshWithinMs` call `refresh` (the adapter's
 * `oauth.v2.access` with grant_type=refresh_token, which has its own deadline) and store what it
 * returns. A second replica waiting on the lock then finds the fresh token and does not refresh.
 * Returns the current installation (refreshed or not), or null when not active.
 */
export async function refreshSlackBotToken(
  deps: Pick<Deps, 'db' | 'config' | 'logger' | 'clock'>,
  key: SlackInstallationKey,
  opts: { refreshWithinMs: number; refresh: (refreshToken: string) => Promise<SlackBotTokens> },
): Promise<SlackInstallation | null> {
  void deps
  void key
  void opts
  throw new Error('refreshSlackBotToken: not implemented yet')
}
