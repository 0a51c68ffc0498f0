import type { Deps } from '../deps.ts'
import { recordAudit } from '../audit/audit-repository.ts'
import { setInvitationDelivery } from '../invitations/invitation-repository.ts'
import type { Actor } from '../invitations/model.ts'
import { normaliseEmail } from '../shared/email-address.ts'
import { ok, type Result } from '../shared/result.ts'
import { storable } from '../shared/storable-text.ts'
import { findUserByEmail } from '../users/user-repository.ts'
import { emitWebhookEvent } from '../webhooks/emit.ts'
import { insertFeedbackEvent, sentEmailsTo } from './outbox-repository.ts'
import { suppressRecipient } from './suppressions.ts'

/** A bounce or complaint SES reported (through SNS), already verified and parsed by the adapter. */
export interface DeliveryFeedback {
  /** The SNS MessageId: a redelivered notification is recognised and changes nothing. */
  eventId: string
  kind: 'bounce' | 'complaint'
  /**
   * Whether the address is dead for us: a permanent (or undetermined) bounce, or any complaint.
   * A transient bounce (mailbox full, auto-reply) only marks the invitation: the next resend may
   * well arrive, so suppressing would lock a real person out.
   */
  suppress: boolean
  /** The SES MessageId of the email that bounced, as the worker stored it. */
  sesMessageId: string
  recipients: { email: string; detail: string | null }[]
  /** Short summary for administrators, e.g. "Permanent/NoEmail" or "complaint: abuse". */
  summary: string
}

export interface DeliveryFeedbackOutcome {
  duplicate: boolean
  suppressed: string[]
  invitationsMarked: number
}

const SES_ACTOR: Actor = { platform: 'system', platformUserId: 'ses-notifications', email: null }

/**
 * Record what SES said about a sent email (docs/reliability.md, docs/notices.md): suppress the recipient, mark the
 * invitation's delivery status (bounced / complained, visible in `/invite show`), tell the
 * account's administrators (account_events → channel notice) and audit it. One transaction; a
 * replay of the same SNS message is a no-op.
 */
export async function recordDeliveryEvent(deps: Deps, feedback: DeliveryFeedback): Promise<Result<DeliveryFeedbackOutcome, never>> {
  const now = deps.clock.now()
  // SES's words are stored as said, less what a text column cannot hold (a NUL in a diagnostic
  // code must not fail the record, or SNS would retry until it gives up and the bounce is lost).
  const cmd = { ...feedback, eventId: storable(feedback.eventId), sesMessageId: storable(feedback.sesMessageId), summary: storable(feedback.summary) }
  const recipients = cmd.recipients.flatMap((r) => {
    const n = normaliseEmail(r.email)
    return n.ok ? [{ email: n.email, detail: r.detail === null ? null : storable(r.detail) }] : []
  })
  return deps.db.transaction(async (trx) => {
    const fresh = await insertFeedbackEvent(trx, { snsMessageId: cmd.eventId, kind: cmd.kind, sesMessageId: cmd.sesMessageId, recipients: recipients.map((r) => r.email), receivedAt: now })
    if (!fresh) return ok({ duplicate: true, suppressed: [], invitationsMarked: 0 })

    const suppressed: string[] = []
    let invitationsMarked = 0
    const status = cmd.kind === 'bounce' ? 'bounced' : 'complained'
    const matches = await sentEmailsTo(trx, cmd.sesMessageId, recipients.map((r) => r.email))

    for (const r of recipients) {
      const detail = [cmd.summary, r.detail].filter(Boolean).join(': ').slice(0, 500)
      if (cmd.suppress) {
        const added = await suppressRecipient(trx, { email: r.email, reason: cmd.kind, detail, sesMessageId: cmd.sesMessageId, feedbackId: cmd.eventId, now })
        if (added) suppressed.push(r.email)
      }
      const mine = matches.filter((m) => m.to_email === r.email)
      const invitationIds = mine.flatMap((m) => (m.invitation_id ? [m.invitation_id] : []))
      invitationsMarked += await setInvitationDelivery(trx, invitationIds, { status, detail })
      const accounts = [...new Set(mine.map((m) => m.account_id))]
      for (const accountId of accounts.length ? accounts : [null]) {
        if (accountId) {
          await trx('account_events').insert({
            account_id: accountId,
            type: cmd.kind === 'bounce' ? 'email.bounced' : 'email.complained',
            payload: JSON.stringify({ email: r.email, detail, suppressed: cmd.suppress, sesMessageId: cmd.sesMessageId }),
            created_at: now,
          })
          if (cmd.kind === 'bounce') {
            // The product hears of bounces (a complaint is between the person and InviteOps).
            const user = await findUserByEmail(trx, accountId, r.email)
            const invitationId = mine.find((m) => m.account_id === accountId && m.invitation_id)?.invitation_id ?? null
            await emitWebhookEvent(trx, { type: 'email.bounced', accountId, at: now, data: { accountId, userId: user?.id ?? null, invitationId, email: r.email, detail, suppressed: cmd.suppress } })
          }
        }
        await recordAudit(trx, {
          accountId,
          at: now,
          actor: SES_ACTOR,
          action: cmd.kind === 'bounce' ? 'email.bounce' : 'email.complaint',
          targetEmail: r.email,
          resultCode: cmd.suppress ? 'email.suppressed' : 'email.soft_bounce',
          ok: true,
          detail: { detail, sesMessageId: cmd.sesMessageId, snsMessageId: cmd.eventId },
        })
      }
    }
    return ok({ duplicate: false, suppressed, invitationsMarked })
  })
}
