/**
 * The invitation lifecycle (docs/lifecycle.md), as data. What a row *is* (stored state) is kept apart
 * from what an administrator *sees* (`DisplayStatus`): expiry is computed from `expires_at`
 * against the clock, never flipped by a job.
 */
import type { ChatPlatform } from '../chat/platform.ts'

/** Stored state of a membership. */
export type StoredUserStatus = 'invited' | 'active' | 'declined' | 'removed'

/** The "Joined" column. `expired` is `invited` whose pending link has passed its expiry. */
export type DisplayStatus = 'invited' | 'expired' | 'active' | 'declined' | 'removed'

export const displayStatuses = ['invited', 'expired', 'active', 'declined', 'removed'] as const satisfies readonly DisplayStatus[]

/** Stored state of one link. Each regenerate makes a new row; the old one becomes `replaced`. */
export type InvitationState = 'pending' | 'accepted' | 'declined' | 'replaced' | 'revoked'

/** Delivery of the latest email for an invitation (its SES delivery status). */
export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'bounced' | 'complained'

/** Actions an administrator can take on a row (the ••• menu). */
export type RowAction = 'resend' | 'regenerate' | 'link' | 'edit' | 'remove'

/** Who is behind an action, as the chat platform (or terminal) identifies them. */
export interface Actor {
  /**
   * A chat platform's name (src/chat/platform.ts), or where else the action came from: `api` is
   * the host product's backend through an API key (docs/api.md).
   */
  platform: ChatPlatform | 'cli' | 'web' | 'system' | 'api'
  /** Slack user id, Teams AAD object id, OS user for the CLI, the key's label for the API. */
  platformUserId: string
  /** The email the platform vouches for; the core checks it is an Active administrator. Null for an API key. */
  email: string | null
  /** Display name for confirmations ("@alice"), when the platform has one. */
  displayName?: string | null
  /**
   * The API key behind an `api` action: instead of an administrator's email, the core checks this
   * key is active for the account, inside the action's transaction.
   */
  apiKeyId?: string
}

export interface InvitationView {
  id: string
  state: InvitationState
  createdAt: Date
  expiresAt: Date
  /** Email of the administrator who sent this link, when known. */
  invitedBy: string | null
  sentCount: number
  lastSentAt: Date | null
  delivery: { status: DeliveryStatus; detail: string | null; messageId: string | null } | null
}

export interface UserView {
  id: string
  accountId: string
  email: string
  firstName: string
  lastName: string
  status: DisplayStatus
  groups: string[]
  joinedAt: Date | null
  /** The current (latest) invitation, if the user was ever invited. */
  invitation: InvitationView | null
  /** Exactly the actions that apply now (docs/lifecycle.md), in menu order. */
  actions: RowAction[]
}

export interface GroupView {
  id: string
  name: string
  isAdmin: boolean
  memberCount: number
}

export interface AuditEntry {
  id: string
  at: Date
  actor: Actor
  action: string
  targetEmail: string | null
  resultCode: string
  ok: boolean
  detail: Record<string, unknown>
}
