import { connectChat, disconnectChat } from '../../../src/accounts/chat-connections.ts'
import { signInstallLink } from '../../../src/installations/install-link.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { SLACK_INSTALL_PATH } from '../../slack/config.ts'
import { accountOrFail, safeUser, withDatabase, type CliContext } from '../database.ts'
import { resolveLinkBase } from '../link-base.ts'
import { formatTime } from '../render.ts'

/** `inviteops slack …` and `inviteops teams …`: which workspace or tenant serves which account. */

export function connectCommand(cli: CliContext, args: { platform: 'slack' | 'teams'; externalId: string; channel: string | null; accountArg: string }): Promise<number> {
  const { io } = cli
  const { platform, externalId, channel } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    // The channel becomes the account's Slack notice destination, audited as the operator's action.
    // A Slack channel's destination names its workspace: in distribution mode the notice is
    // posted with that workspace's own bot token.
    const reference = platform === 'slack' && channel ? { teamId: externalId } : undefined
    const r = await connectChat(deps.db, { platform, externalId, accountId: account.id, channelId: channel, reference, actor: { platform: 'cli', platformUserId: safeUser(), email: null }, now: deps.clock.now() })
    if (!r.ok) {
      io.err(`${externalId} is already linked to another account (${r.accountId}); a workspace or tenant serves exactly one account.`)
      return 1
    }
    io.out(`Linked ${platform === 'slack' ? 'Slack workspace' : 'Teams tenant'} ${externalId} to ${account.name}${channel ? `, notices in ${channel}` : ''}.`)
    return 0
  })
}

export function disconnectSlackCommand(cli: CliContext, args: { externalId: string; accountArg: string | null }): Promise<number> {
  const { io } = cli
  const { externalId, accountArg } = args
  return withDatabase(cli, async (deps) => {
    const account = accountArg === null ? null : await accountOrFail(deps, accountArg)
    const r = await disconnectChat(deps.db, { platform: 'slack', externalId, accountId: account?.id ?? null, actor: { platform: 'cli', platformUserId: safeUser(), email: null }, now: deps.clock.now() })
    if (!r.ok) {
      io.err(r.code === 'chat.not_linked' ? `${externalId} is not linked to any account: nothing was changed.` : `${externalId} is linked to another account (${r.accountId}), not ${oneLine(account?.name ?? '')}: nothing was changed.`)
      return 1
    }
    io.out(`Unlinked Slack workspace ${externalId} from account ${r.accountId}. Its installation is kept: an install link (inviteops slack install-link) links it again.`)
    return 0
  })
}

export function installLinkCommand(cli: CliContext, args: { accountArg: string; days: number }): Promise<number> {
  const { io, env } = cli
  const { days } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    // The link must reach the running server's /slack/install, not this process's PORT default.
    const linkBase = await resolveLinkBase(deps.db, env.app)
    const expiresAt = new Date(deps.clock.now().getTime() + days * 86_400_000)
    const token = signInstallLink(deps.config.inviteSecret, { accountId: account.id, expiresAt })
    io.out(
      [
        `${linkBase.url}${SLACK_INSTALL_PATH}?link=${token}`,
        `Valid until ${formatTime(expiresAt)} (${days} day${days === 1 ? '' : 's'}), for any number of workspaces.`,
        `Send it to an Active administrator of ${oneLine(account.name)}: they open it while signed in to the Slack workspace to install InviteOps into, and that workspace is then linked to ${oneLine(account.name)}. Anyone else who opens it can install the app but links nothing.`,
      ].join('\n'),
    )
    // On stderr, so stdout stays the link and its two lines.
    if (linkBase.note) io.err(linkBase.note)
    if (env.slack && !env.slack.oauth) io.err('Note: this environment runs Slack for one workspace (SLACK_BOT_TOKEN): the link works only on a server in distribution mode (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET). See docs/slack-distribution.md.')
    return 0
  })
}
