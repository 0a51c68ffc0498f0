/**
 * A Slack installation as the "Add to Slack" flow stores it (src/installations), for the tests of
 * installations, notices held for a workspace, and the Slack edge in distribution mode.
 */
import { SLACK_BOT_SCOPES } from '../../adapters/slack/config.ts'
import type { SlackInstallation } from '../../src/installations/slack-installations.ts'

/** A workspace install of `teamId` with `botToken` (no rotation unless `extra` says so). */
export function slackInstallation(teamId: string, botToken: string, extra: Partial<SlackInstallation> = {}): SlackInstallation {
  return {
    teamId,
    enterpriseId: null,
    isEnterpriseInstall: false,
    appId: 'A0APP',
    teamName: `Team ${teamId}`,
    enterpriseName: null,
    botUserId: `U0BOT${teamId.slice(1, 8)}`,
    botId: `B0BOT${teamId.slice(1, 8)}`,
    botScopes: [...SLACK_BOT_SCOPES],
    installerUserId: 'U0INSTALLER',
    botToken,
    botRefreshToken: null,
    botTokenExpiresAt: null,
    ...extra,
  }
}
