import { randomBytes, randomUUID } from 'node:crypto'
import { recordAudit } from '../audit/audit-repository.ts'
import type { Deps } from '../deps.ts'
import type { Actor } from '../invitations/model.ts'
import { isUuid } from '../shared/ids.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { deriveKey, openSecret, sealSecret } from '../shared/secret-box.ts'
import type { WebhookSettings } from './config.ts'
import { deliverWebhook } from './deliver.ts'
import { newMessageId } from './emit.ts'
import { WEBHOOK_TEST_EVENT, type WebhookEventType } from './events.ts'
import { resolveWebhookTarget, type Resolve, type WebhookUrlProblem } from './ssrf.ts'
import { deleteEndpoint, enableEndpoint, findEndpoint, insertEndpoint, listEndpoints } from './webhook-repository.ts'

/**
 * An operator's webhook endpoints (docs/webhooks.md): add one for an account (its signing secret
 * shown once), list, remove, enable again after it was disabled, and send a test event. The
 * adapters' way in (the CLI); each change is audited.
 */

/** The key that seals endpoints' signing secrets (derived from INVITE_SECRET). */
export function webhookSecretKey(deps: Pick<Deps, 'config'>): Buffer {
  return deriveKey(deps.config.inviteSecret, 'webhook-secrets')
}

/** An endpoint as listed (never its secret). */
export interface WebhookEndpointView {
  id: string
  accountId: string
  accountName: string
  url: string
  /** null: every event type. */
  events: string[] | null
  status: 'enabled' | 'disabled'
  createdAt: Date
  failingSince: Date | null
  lastError: string | null
  disabledAt: Date | null
  /** Messages waiting for delivery, and messages given up. */
  queued: number
  failed: number
}

export type WebhookNotFound = { code: 'webhook.not_found'; id: string }

export interface AddWebhookEndpoint {
  accountId: string
  url: string
  /** null: every event type, including ones added later. */
  events: WebhookEventType[] | null
  actor: Actor
}

/** DNS for a URL being added is given this long. */
const ADD_DEADLINE_MS = 5_000

/**
 * Add an endpoint: the URL checked against the SSRF rules on the addresses it resolves to now, a
 * new signing secret (`whsec_` and 32 random bytes in base64) sealed for the row. The secret is
 * returned once; nothing shows it again.
 */
export async function addWebhookEndpoint(
  deps: Deps,
  settings: Pick<WebhookSettings, 'allowPrivate' | 'httpsOnly'>,
  cmd: AddWebhookEndpoint,
  opts: { resolve?: Resolve } = {},
): Promise<Result<{ id: string; secret: string; url: string; events: WebhookEventType[] | null }, WebhookUrlProblem | { code: 'account.not_found' }>> {
  if (!isUuid(cmd.accountId)) return fail({ code: 'account.not_found' })
  const target = await resolveWebhookTarget(cmd.url, settings, { deadlineMs: ADD_DEADLINE_MS, ...(opts.resolve ? { resolve: opts.resolve } : {}) })
  const now = deps.clock.now()
  return deps.db.transaction(async (trx) => {
    const account = await trx('accounts').where({ id: cmd.accountId }).first('id')
    if (!account) return fail({ code: 'account.not_found' as const })
    const id = randomUUID()
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    if (target.ok) {
      await insertEndpoint(trx, { id, account_id: cmd.accountId, url: target.value.url.href, events: cmd.events, secret: sealSecret(webhookSecretKey(deps), secret, id), created_at: now })
    }
    await recordAudit(trx, {
      accountId: cmd.accountId,
      at: now,
      actor: cmd.actor,
      action: 'webhook.add',
      targetEmail: null,
      resultCode: target.ok ? 'webhook.added' : target.code,
      ok: target.ok,
      detail: target.ok ? { endpointId: id, url: auditableUrl(cmd.url), events: cmd.events ?? 'all' } : { url: auditableUrl(cmd.url), problem: target },
    })
    return target.ok ? ok({ id, secret, url: target.value.url.href, events: cmd.events }) : target
  })
}

/**
 * A URL as the audit log keeps it: scheme, host and path, without a user, password, query or
 * fragment (a refused URL may carry a password, and a query often carries a token; the audit log
 * is kept for years and read by every administrator). Text that is no http(s) URL is not kept.
 */
function auditableUrl(text: string): string | null {
  let url: URL
  try {
    url = new URL(text.slice(0, 2_048))
  } catch {
    return null
  }
  // Another scheme may be any text before a colon ("user:password" parses as one).
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 300)
}

/** Every endpoint, or one account's. */
export async function listWebhookEndpoints(deps: Pick<Deps, 'db'>, accountId: string | null): Promise<WebhookEndpointView[]> {
  if (accountId !== null && !isUuid(accountId)) return []
  const rows = await listEndpoints(deps.db, accountId)
  return rows.map((r) => ({
    id: r.id,
    accountId: r.account_id,
    accountName: r.account_name,
    url: r.url,
    events: r.events,
    status: r.status,
    createdAt: r.created_at,
    failingSince: r.failing_since,
    lastError: r.last_error,
    disabledAt: r.disabled_at,
    queued: r.queued,
    failed: r.failed,
  }))
}

/** Remove an endpoint and every message still waiting for it. */
export async function removeWebhookEndpoint(deps: Deps, cmd: { id: string; actor: Actor }): Promise<Result<{ id: string; url: string; accountId: string }, WebhookNotFound>> {
  const notFound = fail({ code: 'webhook.not_found', id: String(cmd.id).slice(0, 100) })
  if (!isUuid(cmd.id)) return notFound
  return deps.db.transaction(async (trx) => {
    const endpoint = await findEndpoint(trx, cmd.id, { forUpdate: true })
    if (!endpoint) return notFound
    await deleteEndpoint(trx, endpoint.id)
    await recordAudit(trx, { accountId: endpoint.account_id, at: deps.clock.now(), actor: cmd.actor, action: 'webhook.remove', targetEmail: null, resultCode: 'webhook.removed', ok: true, detail: { endpointId: endpoint.id, url: endpoint.url } })
    return ok({ id: endpoint.id, url: endpoint.url, accountId: endpoint.account_id })
  })
}

/** Enable an endpoint that was disabled; what waited for it is delivered from now on. */
export async function enableWebhookEndpoint(deps: Deps, cmd: { id: string; actor: Actor }): Promise<Result<{ id: string; url: string; wasDisabled: boolean }, WebhookNotFound>> {
  const notFound = fail({ code: 'webhook.not_found', id: String(cmd.id).slice(0, 100) })
  if (!isUuid(cmd.id)) return notFound
  return deps.db.transaction(async (trx) => {
    const endpoint = await findEndpoint(trx, cmd.id, { forUpdate: true })
    if (!endpoint) return notFound
    const now = deps.clock.now()
    if (endpoint.status === 'disabled') await enableEndpoint(trx, endpoint.id, now)
    await recordAudit(trx, { accountId: endpoint.account_id, at: now, actor: cmd.actor, action: 'webhook.enable', targetEmail: null, resultCode: 'webhook.enabled', ok: true, detail: { endpointId: endpoint.id, wasDisabled: endpoint.status === 'disabled' } })
    return ok({ id: endpoint.id, url: endpoint.url, wasDisabled: endpoint.status === 'disabled' })
  })
}

export type WebhookTestFailure = WebhookNotFound | WebhookUrlProblem | { code: 'webhook.secret_unreadable' } | { code: 'webhook.test_failed'; status: number | null; reason: string }

/**
 * Send a `webhook.test` event to an endpoint now, signed like every delivery, within the
 * configured deadline, and say what the receiver answered. Not queued and not retried: it is for
 * an operator watching. A disabled endpoint is tested too (to see whether it is back).
 */
export async function testWebhookEndpoint(
  deps: Deps,
  settings: Pick<WebhookSettings, 'allowPrivate' | 'httpsOnly' | 'timeoutMs'>,
  cmd: { id: string },
  opts: { resolve?: Resolve } = {},
): Promise<Result<{ status: number; messageId: string; url: string }, WebhookTestFailure>> {
  const id = String(cmd.id)
  const shown = id.slice(0, 100)
  if (!isUuid(id)) return fail({ code: 'webhook.not_found', id: shown })
  const endpoint = await findEndpoint(deps.db, id)
  if (!endpoint) return fail({ code: 'webhook.not_found', id: cmd.id })
  const secret = openSecret(webhookSecretKey(deps), endpoint.secret, endpoint.id)
  if (secret === null) return fail({ code: 'webhook.secret_unreadable' })
  const target = await resolveWebhookTarget(endpoint.url, settings, { deadlineMs: settings.timeoutMs, ...(opts.resolve ? { resolve: opts.resolve } : {}) })
  if (!target.ok) return target
  const now = deps.clock.now()
  const messageId = newMessageId()
  const body = JSON.stringify({ type: WEBHOOK_TEST_EVENT, timestamp: now.toISOString(), data: { accountId: endpoint.account_id, endpointId: endpoint.id } })
  const result = await deliverWebhook(target.value, secret, { id: messageId, timestamp: now, body }, { timeoutMs: settings.timeoutMs })
  if (!result.ok) return fail({ code: 'webhook.test_failed', status: result.status, reason: result.reason })
  return ok({ status: result.status, messageId, url: endpoint.url })
}
