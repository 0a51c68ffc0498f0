import { z } from 'zod'
import type { Deps } from '../deps.ts'
import { announceExpiredInvitationEvents } from '../invitations/invitation-repository.ts'
import { emitWebhookEvents } from '../webhooks/emit.ts'

/** The rows a sweep takes, for tests and benchmarks that ask the planner about it. */
export { SWEEP_SELECT_SQL } from '../invitations/invitation-repository.ts'

export interface SweepExpiredOptions {
  /** Invitations noticed per call at most (default 1000); call again while it returns `limit`. */
  limit?: number
}

export interface SweepExpiredOutcome {
  /** Invitations whose expiry was announced by this call (one `invitation.expired` event each). */
  noticed: number
}

const DEFAULT_LIMIT = 1000

const optionsSchema = z.object({ limit: z.number().int().min(1).max(100_000).default(DEFAULT_LIMIT) })

/**
 * Announce invitations that have expired since the last sweep (docs/notices.md): each pending
 * invitation whose `expires_at` has passed (by `deps.clock`) gets one `invitation.expired`
 * account event, which the notices job posts to the account's destinations, and an `invitation.expired`
 * webhook event for each endpoint that hears it (docs/webhooks.md). Expiry itself is never
 * a state change (docs/lifecycle.md): the sweep only records that the expiry was announced
 * (`expiry_noticed_at`).
 *
 * Safe to run on every replica at once. A link that is resent is still valid (resend refuses
 * expired links), and a regenerated link is a new row, so it is announced when it expires in turn.
 * An invitation regenerated, accepted or revoked before the sweep reached it is no longer pending
 * and gets no expiry notice (its own event, if any, says what happened).
 */
export async function sweepExpiredInvitations(deps: Deps, opts: SweepExpiredOptions = {}): Promise<SweepExpiredOutcome> {
  const { limit } = optionsSchema.parse(opts)
  const now = deps.clock.now()
  // One statement, so the mark and the event commit together (invitation-repository.ts); the
  // webhook events in the same transaction, so a product hears of exactly the expiries announced.
  return deps.db.transaction(async (trx) => {
    const events = await announceExpiredInvitationEvents(trx, now, limit)
    await emitWebhookEvents(
      trx,
      events.map((e) => {
        const p = e.payload as { invitationId: string; userId: string; email: string; firstName: string; lastName: string; invitedByEmail: string | null; expiredAt: string }
        return {
          type: 'invitation.expired' as const,
          accountId: e.account_id,
          at: now,
          data: { userId: p.userId, email: p.email, firstName: p.firstName, lastName: p.lastName, accountId: e.account_id, invitationId: p.invitationId, invitedBy: p.invitedByEmail, expiredAt: p.expiredAt },
        }
      }),
    )
    return { noticed: events.length }
  })
}
