import type { Deps } from '../deps.ts'
import type { Actor } from '../invitations/model.ts'

/**
 * Linking a workspace to an account without an operator: the installer completed "Add to Slack"
 * through an install link (install-link.ts) and is an Active administrator of its account.
 */

export type LinkInstallResult =
  | { ok: true; code: 'slack.install.linked' | 'slack.install.already_linked'; accountId: string; accountName: string }
  | {
      ok: false
      code: 'slack.install.no_link' | 'slack.install.link_invalid' | 'slack.install.link_expired' | 'slack.install.not_admin' | 'slack.install.linked_elsewhere' | 'account.not_found'
      accountName: string | null
    }

/**
 * After an install completed (the installation is stored already): link the workspace to the
 * account of the install link, only if the installer's confirmed email (`installer.email`, vouched
 * by the adapter from users.info; null when Slack did not vouch) is an Active administrator of that
 * account. One transaction; audited either way (`slack.install.linked` / `.refused` with the code,
 * on the link's account when known, else account null). Nothing is linked on any refusal.
 */
export async function linkInstalledWorkspace(
  deps: Deps,
  cmd: { linkToken: string | null; externalId: string; workspaceName: string | null; installer: Actor; now?: Date },
): Promise<LinkInstallResult> {
  void deps
  void cmd
  throw new Error('linkInstalledWorkspace: not implemented yet')
}
