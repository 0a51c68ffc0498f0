import type { Knex } from 'knex'
import { recordAudit } from '../audit/audit-log.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { endedExpiry, type InvitationRow, type UserRow } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { isWellFormedToken, tokenHash, tokenMatches } from './links.ts'

export interface ResolvedLink {
  invitation: InvitationRow
  user: UserRow
  accountName: string
}

/**
 * Find the invitation behind a token and say whether it still opens (docs/security.md). Malformed,
 * unknown and known-but-dead tokens take the same path: one indexed lookup by hash, then the
 * state. The hash match is confirmed in constant time against the secret-derived token.
 */
export async function resolveLink(
  db: Knex | Knex.Transaction,
  secret: Buffer,
  token: string,
  now: Date,
  opts: { forUpdate?: boolean } = {},
): Promise<Result<ResolvedLink, { code: LinkCode }>> {
  // A malformed token still costs a lookup (of a hash that matches nothing), so timing does not
  // tell a malformed token from an unknown one.
  const hash = tokenHash(isWellFormedToken(token) ? token : `malformed:${token.slice(0, 200)}`)
  const q = db<InvitationRow>('invitations').where({ token_hash: hash }).first()
  if (opts.forUpdate) q.forUpdate()
  const invitation = await q
  if (!invitation || !isWellFormedToken(token) || !tokenMatches(secret, invitation.link_id, token)) return fail({ code: 'link.invalid' })
  const user = await db<UserRow>('users').where({ id: invitation.user_id }).first()
  const account = await db('accounts').where({ id: invitation.account_id }).first<{ name: string } | undefined>('name')
  if (!user || !account) return fail({ code: 'link.invalid' })
  switch (invitation.state) {
    case 'replaced':
      return fail({ code: 'link.replaced' })
    case 'accepted':
      return fail({ code: 'link.accepted' })
    case 'declined':
      return fail({ code: 'link.declined' })
    case 'revoked':
      return fail({ code: 'link.revoked' })
    case 'pending':
      if (now.getTime() >= invitation.expires_at.getTime()) return fail({ code: 'link.expired' })
      return ok({ invitation, user, accountName: account.name })
  }
}

/**
 * End a link with the invitee's answer: the invitation's new state, an account event the channel
 * notices consume (administrators are told), and the audit entry, in the caller's transaction.
 */
export async function recordInviteeAnswer(trx: Knex.Transaction, link: ResolvedLink, answer: 'accepted' | 'declined', now: Date): Promise<void> {
  const { invitation, user } = link
  await trx('invitations').where({ id: invitation.id }).update({ state: answer, ended_at: now, expiry_noticed_at: endedExpiry(trx, now) })
  await trx('account_events').insert({
    account_id: invitation.account_id,
    type: `invitation.${answer}`,
    payload: JSON.stringify({ email: user.email, invitationId: invitation.id, invitedBy: invitation.invited_by_email }),
    created_at: now,
  })
  await recordAudit(trx, {
    accountId: invitation.account_id,
    at: now,
    actor: { platform: 'web', platformUserId: `invitation:${invitation.id}`, email: user.email },
    action: answer === 'accepted' ? 'invitation.accept' : 'invitation.decline',
    targetEmail: user.email,
    resultCode: `invitation.${answer}`,
    ok: true,
  })
}
