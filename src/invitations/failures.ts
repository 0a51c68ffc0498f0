import type { EmailProblem } from '../shared/email-address.ts'

/**
 * Every refusal a lifecycle use case can return, with the facts an adapter needs to word it and
 * to name the right action ("expired: use regenerate", "still valid until 3 Dec: use resend").
 * Adapters switch over `code` exhaustively.
 */
export type LifecycleFailure =
  | { code: 'auth.not_admin' }
  | { code: 'account.not_found' }
  | { code: 'email.invalid'; input: string; reason: EmailProblem }
  | { code: 'user.name_required'; email: string }
  | { code: 'group.required' }
  | { code: 'group.not_found'; missing: string[]; available: string[] }
  /** `email` is '' when the user was named by an id (a button) that is not a user of the account. */
  | { code: 'user.not_found'; email: string; userId?: string }
  | { code: 'user.already_invited'; email: string; expiresAt: Date }
  | { code: 'user.already_active'; email: string; joinedAt: Date | null }
  | { code: 'user.removed'; email: string }
  | { code: 'user.declined'; email: string }
  | { code: 'invitation.expired'; email: string; expiredAt: Date }
  | { code: 'invitation.still_valid'; email: string; expiresAt: Date }
  | { code: 'invitation.already_replaced'; email: string; by: string | null; at: Date; expiresAt: Date }
  /** A resend button whose link was resent since its message was drawn: `by` (from the audit) and `at` name the last send. */
  | { code: 'invitation.already_resent'; email: string; by: string | null; at: Date; expiresAt: Date }
  | { code: 'user.cannot_remove_self'; email: string }
  | { code: 'user.last_admin'; email: string }
  | { code: 'limit.admin_sends'; limit: number; retryAt: Date }
  | { code: 'limit.recipient_sends'; email: string; limit: number; retryAt: Date }
  | { code: 'email.suppressed'; email: string; reason: string }

export type LifecycleFailureCode = LifecycleFailure['code']

/**
 * Refusals that mean the question a button asked is already answered: someone sent a new
 * invitation or resent it, the user joined, declined or was removed. A chat message showing that
 * button is stale and can say so; any other refusal (not an administrator, a send limit) is for
 * the clicker alone.
 */
export function alreadySettled(code: LifecycleFailureCode): boolean {
  switch (code) {
    case 'invitation.already_replaced':
    case 'invitation.already_resent':
    case 'invitation.still_valid':
    case 'user.already_active':
    case 'user.declined':
    case 'user.removed':
      return true
    default:
      return false
  }
}
