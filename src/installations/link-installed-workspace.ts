import { findAccount } from '../accounts/account-repository.ts'
import { findConnectedAccountId, insertChatConnectionIfAbsent } from '../accounts/chat-connection-repository.ts'
import { recordAudit } from '../audit/audit-repository.ts'
import type { ChatPlatform } from '../chat/platform.ts'
import type { Deps } from '../deps.ts'
import { findAdmin } from '../invitations/admin-action.ts'
import { releaseHeldDeliveries } from '../notices/notice-deliveries.ts'
import type { Actor } from '../invitations/model.ts'
import { readInstallLink } from './install-link.ts'

/**
 * Linking a workspace to an account without an operator (docs/security.md "Slack installations
 * and their tokens"): someone completed "Add to Slack" through an install link
 * (`inviteops slack install-link`, install-link.ts), and the workspace is linked to the link's
 * account only if Slack vouches that the installer's email is an Active administrator of it.
 */

export type LinkInstallResult =
  | { ok: true; code: 'slack.install.linked' | 'slack.install.already_linked'; accountId: string; accountName: string }
  | {
      ok: false
      code: 'slack.install.no_link' | 'slack.install.link_invalid' | 'slack.install.link_expired' | 'slack.install.not_admin' | 'slack.install.linked_elsewhere' | 'account.not_found'
      accountName: string | null
    }

const SLACK: ChatPlatform = 'slack'

/** A workspace (`T…`) or, for an org-wide install, an enterprise (`E…`) id, as Slack writes them. */
const EXTERNAL_ID = /^[TE][A-Z0-9]{1,40}$/

/**
 * After an install completed (the installation is stored already): link the workspace to the
 * account of the install link, only if the installer's confirmed email (`installer.email`, vouched
 * by the adapter from users.info; null when Slack did not vouch) is an Active administrator of that
 * account. One transaction; audited either way (`slack.install.linked` / `.refused` with the code,
 * on the link's account when known, else account null). Nothing is linked on any refusal.
 *
 * Without a link, a workspace already linked to an account (an install again) answers
 * `already_linked`; an unlinked one `no_link` (the installer is told to ask for a link). The link
 * is checked before the workspace, so a stale or forged link is refused as such even for a
 * workspace that is linked already.
 */
export async function linkInstalledWorkspace(
  deps: Deps,
  cmd: { linkToken: string | null; externalId: string; workspaceName: string | null; installer: Actor; now?: Date },
): Promise<LinkInstallResult> {
  const now = cmd.now ?? deps.clock.now()
  const externalId = typeof cmd.externalId === 'string' && EXTERNAL_ID.test(cmd.externalId) ? cmd.externalId : null
  // The id comes from the installation just stored (Slack's own answer): anything else is a bug of the caller's.
  if (externalId === null) throw new Error('linkInstalledWorkspace: the workspace id is not a Slack team or enterprise id')
  const check = cmd.linkToken === null ? null : readInstallLink(deps.config.inviteSecret, cmd.linkToken, now)
  return deps.db.transaction(async (trx) => {
    // The link's account, when the link says which (signed by us, even if expired).
    const linkAccount = check && 'accountId' in check ? await findAccount(trx, check.accountId) : null
    const detail: Record<string, unknown> = {
      externalId,
      workspaceName: cmd.workspaceName?.slice(0, 300) ?? null,
      link: check === null ? 'none' : check.ok ? 'valid' : check.reason,
      linkExpiresAt: check && 'expiresAt' in check ? check.expiresAt.toISOString() : null,
    }
    const audit = async (result: LinkInstallResult, accountId: string | null): Promise<LinkInstallResult> => {
      await recordAudit(trx, {
        accountId,
        at: now,
        actor: cmd.installer,
        action: result.ok ? 'slack.install.linked' : 'slack.install.refused',
        targetEmail: null,
        resultCode: result.code,
        ok: result.ok,
        detail,
      })
      return result
    }
    const refuse = (code: Extract<LinkInstallResult, { ok: false }>['code']) => audit({ ok: false, code, accountName: linkAccount?.name ?? null }, linkAccount?.id ?? null)

    if (check === null) {
      const linked = await findConnectedAccountId(trx, SLACK, externalId)
      const account = linked === null ? null : await findAccount(trx, linked)
      if (account) return audit({ ok: true, code: 'slack.install.already_linked', accountId: account.id, accountName: account.name }, account.id)
      return refuse('slack.install.no_link')
    }
    if (!check.ok) return refuse(check.reason === 'expired' ? 'slack.install.link_expired' : 'slack.install.link_invalid')
    if (!linkAccount) return refuse('account.not_found')
    const admin = await findAdmin(trx, linkAccount.id, cmd.installer)
    if (!admin) {
      detail.installerEmail = cmd.installer.email?.slice(0, 254) ?? null
      return refuse('slack.install.not_admin')
    }
    const before = await findConnectedAccountId(trx, SLACK, externalId, { forUpdate: true })
    const linked = before ?? (await insertChatConnectionIfAbsent(trx, { platform: SLACK, externalId, accountId: linkAccount.id }))
    if (linked !== linkAccount.id) {
      detail.linkedTo = linked
      return refuse('slack.install.linked_elsewhere')
    }
    const code = before === null ? 'slack.install.linked' : 'slack.install.already_linked'
    // Notices held because the account had no workspace to post with can go now (docs/notices.md "Held notices").
    if (before === null) detail.heldNoticesReleased = await releaseHeldDeliveries(trx, SLACK, [linkAccount.id], now)
    return audit({ ok: true, code, accountId: linkAccount.id, accountName: linkAccount.name }, linkAccount.id)
  })
}
