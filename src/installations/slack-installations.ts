import type { Knex } from 'knex'
import { z } from 'zod'
import { findConnectedAccountId } from '../accounts/chat-connection-repository.ts'
import { recordAudit } from '../audit/audit-repository.ts'
import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import type { Actor } from '../invitations/model.ts'
import { releaseHeldDeliveries } from '../notices/notice-deliveries.ts'
import { deriveKey, openSecret, sealSecret } from '../shared/secret-box.ts'
import {
  disableSlackInstallationRow,
  findSlackInstallationRow,
  findSlackInstallationRows,
  updateSlackTokens,
  upsertSlackInstallation,
  type SlackInstallationRow,
} from './slack-installation-repository.ts'

/**
 * Slack installations (distribution mode, docs/security.md "Slack installations and their
 * tokens"): one per workspace, or per Enterprise Grid organisation for an org-wide install, with
 * the workspace's own bot token sealed at rest under a key derived from INVITE_SECRET. The
 * adapters' way in (Bolt's InstallationStore, the uninstall events, token rotation); the queries
 * are in slack-installation-repository.ts.
 *
 * A row is keyed by its team id (`T…`), or by its enterprise id (`E…`) for an org-wide install.
 * Uninstalling or revoking wipes the tokens and keeps the row, so a later request from that
 * workspace can be told how to install the app again; installing again replaces the row.
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

/** The platform name workspaces are linked under in `chat_connections` and notices are held for. */
const SLACK: ChatPlatform = 'slack'

/** The purpose the token key is derived for: this key seals installation tokens and nothing else. */
const TOKEN_KEY_PURPOSE = 'slack-installation-tokens'

// The forms the table's CHECKs accept (migrations/20261130120000_slack_installations.ts): Slack's
// ids are upper-case letters and digits behind a one-letter kind.
const slackId = (kinds: string) => z.string().regex(new RegExp(`^[${kinds}][A-Z0-9]{1,40}$`), `must be a Slack id starting with ${kinds.split('').join(' or ')}`)
const name = z
  .string()
  .max(300)
  .transform((s) => s.replace(/[\p{Cc}\p{Cs}]/gu, ' '))
const token = (prefix: RegExp) => z.string().min(10).max(1000).regex(prefix).regex(/^[\x21-\x7e]+$/)
const validDate = z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date')

const botTokens = z.object({
  // With token rotation on, Slack's bot tokens read `xoxe.xoxb-1-…`.
  botToken: token(/^(xoxe\.)?xox[a-z]-/),
  botRefreshToken: token(/^xoxe-/).nullable(),
  botTokenExpiresAt: validDate.nullable(),
})

const installationInput = botTokens.extend({
  teamId: slackId('T').nullable(),
  enterpriseId: slackId('E').nullable(),
  isEnterpriseInstall: z.boolean(),
  appId: slackId('A').nullable(),
  teamName: name.nullable(),
  enterpriseName: name.nullable(),
  botUserId: slackId('UW'),
  botId: slackId('B').nullable(),
  botScopes: z.array(z.string().regex(/^[a-z][a-z0-9_.:-]{0,99}$/)).max(200),
  installerUserId: slackId('UW').nullable(),
})

/** What the sealed `tokens` column holds. */
const sealedTokens = z.object({ botToken: z.string(), botRefreshToken: z.string().nullable() })

function tokenKey(config: Deps['config']): Buffer {
  return deriveKey(config.inviteSecret, TOKEN_KEY_PURPOSE)
}

/** The context a row's tokens are sealed for: a box copied onto another row does not open there. */
function sealContext(installationKey: string): string {
  return `slack_installations:${installationKey}`
}

function seal(config: Deps['config'], installationKey: string, tokens: { botToken: string; botRefreshToken: string | null }): Buffer {
  return sealSecret(tokenKey(config), JSON.stringify({ botToken: tokens.botToken, botRefreshToken: tokens.botRefreshToken }), sealContext(installationKey))
}

/**
 * Unreadable tokens already logged, per database handle and row version: said once, not on every
 * request from that workspace. A cache of log lines only, so it lives beside the database handle
 * it describes rather than in configuration.
 */
const reportedUnreadable = new WeakMap<object, Set<string>>()

function open(deps: Pick<Deps, 'db' | 'config' | 'logger'>, row: SlackInstallationRow): { botToken: string; botRefreshToken: string | null } | null {
  if (!row.tokens) return null
  const text = openSecret(tokenKey(deps.config), row.tokens, sealContext(row.installation_key))
  let parsed: z.infer<typeof sealedTokens> | null = null
  if (text !== null) {
    try {
      const r = sealedTokens.safeParse(JSON.parse(text))
      if (r.success) parsed = r.data
    } catch {
      parsed = null
    }
  }
  if (parsed) return parsed
  const seen = reportedUnreadable.get(deps.db) ?? new Set<string>()
  reportedUnreadable.set(deps.db, seen)
  const version = `${row.installation_key}@${row.updated_at.toISOString()}`
  if (!seen.has(version)) {
    seen.add(version)
    deps.logger.error(
      { installationKey: row.installation_key, teamName: row.team_name },
      'a Slack installation\'s tokens cannot be opened (INVITE_SECRET changed since it was installed?): the workspace reads as not installed and must install the app again',
    )
  }
  return null
}

function toInstallation(row: SlackInstallationRow, tokens: { botToken: string; botRefreshToken: string | null }): SlackInstallation {
  return {
    teamId: row.team_id,
    enterpriseId: row.enterprise_id,
    isEnterpriseInstall: row.is_enterprise_install,
    appId: row.app_id,
    teamName: row.team_name,
    enterpriseName: row.enterprise_name,
    botUserId: row.bot_user_id,
    botId: row.bot_id,
    botScopes: [...row.bot_scopes],
    installerUserId: row.installer_user_id,
    botToken: tokens.botToken,
    botRefreshToken: tokens.botRefreshToken,
    botTokenExpiresAt: row.bot_token_expires_at,
  }
}

function describe(deps: Pick<Deps, 'db' | 'config' | 'logger'>, row: SlackInstallationRow): FoundSlackInstallation {
  if (row.status === 'active') {
    const tokens = open(deps, row)
    if (tokens) return { status: 'active', installation: toInstallation(row, tokens), installedAt: row.installed_at }
    // Sealed under another key (INVITE_SECRET changed) or damaged: as good as revoked.
    return { status: 'revoked', at: row.updated_at, teamName: row.team_name }
  }
  return { status: row.status, at: row.disabled_at ?? row.updated_at, teamName: row.team_name }
}

/** The key of a stored installation: the team id, or the enterprise id for an org-wide install. */
function installationKeyOf(i: SlackInstallationKey): string | null {
  return i.isEnterpriseInstall ? i.enterpriseId : i.teamId
}

/** A value as a Slack id, or null: ids from outside are checked before they reach a query. */
function idOrNull(value: unknown, kind: 'T' | 'E'): string | null {
  return typeof value === 'string' && new RegExp(`^${kind}[A-Z0-9]{1,40}$`).test(value) ? value : null
}

/** The keys a request looks at, in order: the workspace's own row, then its enterprise's org-wide row. */
function lookupKeys(q: { teamId: unknown; enterpriseId: unknown; isEnterpriseInstall?: unknown }): { team: string | null; org: string | null } {
  const enterpriseId = idOrNull(q.enterpriseId, 'E')
  if (q.isEnterpriseInstall === true) return { team: null, org: enterpriseId }
  return { team: idOrNull(q.teamId, 'T'), org: enterpriseId }
}

const installerActor = (installerUserId: string | null): Actor => ({ platform: SLACK, platformUserId: installerUserId ?? 'unknown', email: null })
const systemActor: Actor = { platform: 'system', platformUserId: 'slack', email: null }

/** Upsert (one row per workspace, or per Enterprise Grid org for an org-wide install); tokens sealed; status active. Releases this workspace's held Slack notice deliveries at once (see "held"). Audited `slack.installed` (on the linked account when the workspace is linked, else account null). */
export async function saveSlackInstallation(deps: Deps, installation: SlackInstallation): Promise<{ reinstalled: boolean }> {
  const parsed = installationInput.safeParse(installation)
  if (!parsed.success) {
    // Only what Slack's oauth.v2.access answered gets here (through Bolt): say which field is off, never the tokens.
    const issue = parsed.error.issues[0]
    throw new Error(`saveSlackInstallation: invalid installation (${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'})`)
  }
  const i = parsed.data
  const key = installationKeyOf(i)
  if (key === null) throw new Error(`saveSlackInstallation: invalid installation (${i.isEnterpriseInstall ? 'an org-wide install needs its enterpriseId' : 'a workspace install needs its teamId'})`)
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    const { existed } = await upsertSlackInstallation(
      trx,
      {
        installation_key: key,
        team_id: i.isEnterpriseInstall ? null : i.teamId,
        enterprise_id: i.enterpriseId,
        is_enterprise_install: i.isEnterpriseInstall,
        app_id: i.appId,
        team_name: i.teamName,
        enterprise_name: i.enterpriseName,
        bot_user_id: i.botUserId,
        bot_id: i.botId,
        bot_scopes: [...new Set(i.botScopes)],
        installer_user_id: i.installerUserId,
        tokens: seal(deps.config, key, i),
        bot_token_expires_at: i.botTokenExpiresAt,
      },
      now,
    )
    const accountId = await findConnectedAccountId(trx, SLACK, key)
    // Notices held while the workspace had no usable token can go now (docs/notices.md "Held notices").
    const released = accountId === null ? 0 : await releaseHeldDeliveries(trx, SLACK, [accountId], now)
    await recordAudit(trx, {
      accountId,
      at: now,
      actor: installerActor(i.installerUserId),
      action: 'slack.installed',
      targetEmail: null,
      resultCode: existed ? 'slack.reinstalled' : 'slack.installed',
      ok: true,
      detail: {
        installationKey: key,
        teamId: i.teamId,
        teamName: i.teamName,
        enterpriseId: i.enterpriseId,
        isEnterpriseInstall: i.isEnterpriseInstall,
        appId: i.appId,
        botScopes: i.botScopes,
        tokenRotation: i.botRefreshToken !== null,
        reinstalled: existed,
        heldNoticesReleased: released,
      },
    })
    return { reinstalled: existed }
  })
}

/**
 * A request from `teamId` (and `enterpriseId`): the workspace's own row, else the org-wide row of
 * its enterprise; `isEnterpriseInstall` true looks up the org row only. null when never installed.
 * Tokens that cannot be opened read as `{ status: 'revoked' }`.
 *
 * An active row wins over a disabled one: a workspace that uninstalled its own install while its
 * organisation has the app installed org-wide is served by the org's install. When neither is
 * active, the workspace's own row says why (else the org's).
 */
export async function findSlackInstallation(
  deps: Pick<Deps, 'db' | 'config' | 'logger'>,
  q: { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall?: boolean },
): Promise<FoundSlackInstallation | null> {
  const { team, org } = lookupKeys(q)
  const keys = [team, org].filter((k): k is string => k !== null)
  if (keys.length === 0) return null
  const rows = await findSlackInstallationRows(deps.db, keys)
  const teamRow = team === null ? undefined : rows.find((r) => r.installation_key === team && !r.is_enterprise_install)
  const orgRow = org === null ? undefined : rows.find((r) => r.installation_key === org && r.is_enterprise_install)
  const found = [teamRow, orgRow].flatMap((r) => (r ? [describe(deps, r)] : []))
  return found.find((f) => f.status === 'active') ?? found[0] ?? null
}

/**
 * When a disable applies (`disableSlackInstallation`), for a cause that may arrive late or be
 * about a token already replaced.
 */
export interface DisableConditions {
  /**
   * The moment the uninstall or revocation happened at Slack (the event's `event_time`): an
   * installation installed at or after it is a reinstall the event predates, and is kept.
   */
  happenedAt?: Date
  /** The token a Web API call found dead: disable only while the installation still holds it (not after a rotation or a reinstall replaced it). */
  deadBotToken?: string
  /** Keep the installation when it has a refresh token (a `token_expired` answer: the next request refreshes). */
  unlessRefreshable?: boolean
}

/**
 * `app_uninstalled` / `tokens_revoked` / InstallationStore.deleteInstallation, and a Web API call
 * answered `invalid_auth` or `token_revoked` (the adapter's): tokens wiped (not only marked),
 * status set, row kept so later requests can be told how to reinstall. Audited
 * `slack.uninstalled` / `slack.tokens_revoked` on the linked account (account null if unlinked).
 * Returns whether an active row changed; `when` can keep a row the cause no longer concerns.
 *
 * Which row: the org-wide one when `isEnterpriseInstall`, else the workspace's own (a single
 * workspace's event never disables its organisation's org-wide install); with no team id, the
 * enterprise's org-wide row.
 */
export async function disableSlackInstallation(
  deps: Deps,
  q: { teamId: string | null; enterpriseId: string | null; isEnterpriseInstall?: boolean },
  reason: 'uninstalled' | 'revoked',
  when: DisableConditions = {},
): Promise<boolean> {
  if (reason !== 'uninstalled' && reason !== 'revoked') return false
  const { team, org } = lookupKeys(q)
  const key = q.isEnterpriseInstall === true || q.teamId === null || q.teamId === undefined ? org : team
  if (key === null) return false
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    // Locked, so a reinstall or a rotation cannot slip in between the checks and the update.
    const row = await findSlackInstallationRow(trx, key, { forUpdate: true })
    if (!row || row.status !== 'active') return false
    if (when.happenedAt && row.installed_at.getTime() >= when.happenedAt.getTime()) {
      deps.logger.info({ installationKey: key, reason, happenedAt: when.happenedAt.toISOString(), installedAt: row.installed_at.toISOString() }, 'slack installation kept: it was installed again after the event')
      return false
    }
    if (when.deadBotToken !== undefined || when.unlessRefreshable) {
      const tokens = open(deps, row)
      if (tokens && when.deadBotToken !== undefined && tokens.botToken !== when.deadBotToken) return false
      if (tokens && when.unlessRefreshable && tokens.botRefreshToken !== null) return false
    }
    const before = await disableSlackInstallationRow(trx, key, reason, now)
    if (!before) return false
    await recordAudit(trx, {
      accountId: await findConnectedAccountId(trx, SLACK, key),
      at: now,
      actor: systemActor,
      action: reason === 'uninstalled' ? 'slack.uninstalled' : 'slack.tokens_revoked',
      targetEmail: null,
      resultCode: reason === 'uninstalled' ? 'slack.uninstalled' : 'slack.tokens_revoked',
      ok: true,
      detail: { installationKey: key, teamId: q.teamId ?? null, enterpriseId: q.enterpriseId ?? null, teamName: before.teamName, seenBy: when.deadBotToken !== undefined ? 'web_api' : 'event' },
    })
    return true
  })
}

/**
 * Token rotation, once across replicas: in one transaction lock the row (SELECT … FOR UPDATE),
 * and only if its bot token still expires within `refreshWithinMs` call `refresh` (the adapter's
 * `oauth.v2.access` with grant_type=refresh_token, which has its own deadline) and store what it
 * returns. A second replica waiting on the lock then finds the fresh token and does not refresh.
 * Returns the current installation (refreshed or not), or null when not active.
 *
 * A `refresh` that throws (Slack down, the refresh token refused) leaves the stored tokens as
 * they were and the error is thrown to the caller; so does an answer that is not a token.
 *
 * The row stays locked while `refresh` runs, which is what makes it once across replicas; on the
 * embedded database (one session) everything else waits for that call too, bounded by its
 * deadline, about once every twelve hours per workspace.
 */
export async function refreshSlackBotToken(
  deps: Pick<Deps, 'db' | 'config' | 'logger' | 'clock'>,
  key: SlackInstallationKey,
  opts: { refreshWithinMs: number; refresh: (refreshToken: string) => Promise<SlackBotTokens> },
): Promise<SlackInstallation | null> {
  const { team, org } = lookupKeys(key)
  const rowKey = key.isEnterpriseInstall ? org : team
  if (rowKey === null) return null
  return deps.db.transaction(async (trx: Knex.Transaction) => {
    const row = await findSlackInstallationRow(trx, rowKey, { forUpdate: true })
    if (!row || row.status !== 'active') return null
    const tokens = open(deps, row)
    if (!tokens) return null
    const current = toInstallation(row, tokens)
    const now = deps.clock.now()
    const due = row.bot_token_expires_at !== null && row.bot_token_expires_at.getTime() - now.getTime() <= opts.refreshWithinMs
    if (!due || tokens.botRefreshToken === null) return current
    const fresh = botTokens.safeParse(await opts.refresh(tokens.botRefreshToken))
    if (!fresh.success) throw new Error('refreshSlackBotToken: the refresh answered something that is not a bot token')
    // Slack rotates the refresh token too, but an answer without one keeps the one we have.
    const next = { botToken: fresh.data.botToken, botRefreshToken: fresh.data.botRefreshToken ?? tokens.botRefreshToken }
    await updateSlackTokens(trx, rowKey, seal(deps.config, rowKey, next), fresh.data.botTokenExpiresAt, deps.clock.now())
    deps.logger.info({ installationKey: rowKey, expiresAt: fresh.data.botTokenExpiresAt?.toISOString() ?? null }, 'Slack bot token rotated')
    return { ...current, ...next, botTokenExpiresAt: fresh.data.botTokenExpiresAt }
  })
}
