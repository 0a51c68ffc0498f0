import { z } from 'zod'
import type { Deps } from '../deps.ts'
import { announceExpiredInvitations } from '../invitations/invitation-repository.ts'

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
 * account event, which the notices job posts to the account's destinations. Expiry itself is never
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
  // One statement, so the mark and the event commit together (invitation-repository.ts).
  return { noticed: await announceExpiredInvitations(deps.db, now, limit) }
}
