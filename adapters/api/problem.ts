/**
 * RFC 9457 problem details for the API (docs/api.md "Errors"): every refusal is
 * `application/problem+json` with the stable result code as `code` (the codes chat and the audit
 * log use), an HTTP status chosen once per code here, and `errors` naming each bad field. The
 * switch over the core's codes is exhaustive, so a new refusal cannot reach the API unworded.
 */
import type { Response } from 'express'
import type { z } from 'zod'
import type { AddGroupFailure } from '../../src/api/add-group.ts'
import type { HandOverFailure } from '../../src/handover/redeem.ts'
import type { LifecycleFailure } from '../../src/invitations/failures.ts'
import { describeNameProblem } from '../../src/shared/names.ts'

export interface FieldError {
  field: string
  message: string
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: string
  errors?: FieldError[]
  retry_at?: string
}

/** A problem to answer, with the headers it needs (`Retry-After`, `WWW-Authenticate`, `Allow`). */
export interface ApiProblem {
  body: ProblemBody
  headers?: Record<string, string>
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Content too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
}

/** A problem for `code` with `status` (the title is the status's own). */
export function problem(status: number, code: string, detail: string, extra: { errors?: FieldError[]; retryAt?: Date; now?: Date; headers?: Record<string, string> } = {}): ApiProblem {
  const body: ProblemBody = { type: `urn:inviteops:problem:${code}`, title: TITLES[status] ?? 'Error', status, detail, code }
  if (extra.errors) body.errors = extra.errors
  const headers: Record<string, string> = { ...extra.headers }
  if (extra.retryAt) {
    body.retry_at = extra.retryAt.toISOString()
    headers['Retry-After'] = String(Math.max(1, Math.ceil((extra.retryAt.getTime() - (extra.now ?? new Date()).getTime()) / 1000)))
  }
  return { body, headers }
}

/** Send a problem. */
export function sendProblem(res: Response, p: ApiProblem): void {
  for (const [k, v] of Object.entries(p.headers ?? {})) res.setHeader(k, v)
  res.status(p.body.status).type('application/problem+json').send(JSON.stringify(p.body))
}

/** zod's issues as fields: dotted paths (`groups.0`), or `where` itself for a whole-object issue. */
export function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  return error.issues.map((i) => {
    // An unknown field is reported on the object; name the field itself.
    const keys = i.code === 'unrecognized_keys' ? i.keys : [null]
    return keys.map((k) => {
      const path = [...i.path, ...(k === null ? [] : [k])].map(String).join('.')
      return { field: path || where, message: k === null ? i.message : 'is not a known field' }
    })
  }).flat()
}

/** 400 `request.invalid` for a request whose `where` (body, query, a header) failed its schema. */
export function invalidRequest(error: z.ZodError, where: 'body' | 'query' | 'header' | 'path'): ApiProblem {
  const errors = fieldErrors(error, where)
  return problem(400, 'request.invalid', `The request's ${where === 'body' ? 'body' : where === 'query' ? 'query string' : where === 'path' ? 'path' : 'headers'} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`.slice(0, 1_000), { errors })
}

/** The HTTP form of a refusal of the core: the same code, the facts as words. */
export function failureProblem(f: LifecycleFailure | AddGroupFailure | HandOverFailure, now: Date): ApiProblem {
  switch (f.code) {
    case 'auth.not_admin':
    case 'account.not_found':
      // The key was revoked (or its account deleted) after the request was let in.
      return problem(401, 'api.unauthorized', 'The API key is not valid (revoked, or unknown).', { headers: { 'WWW-Authenticate': 'Bearer realm="inviteops", error="invalid_token"' } })
    case 'email.invalid':
      return problem(400, f.code, `The email address is not valid (${f.reason.replace(/_/g, ' ')}).`, { errors: [{ field: 'email', message: `is not a valid email address (${f.reason.replace(/_/g, ' ')})` }] })
    case 'user.name_required':
      return problem(422, f.code, `${f.email} is new to the account: give first_name and last_name.`, { errors: [{ field: 'first_name', message: 'is required for a new user' }, { field: 'last_name', message: 'is required for a new user' }] })
    case 'group.required':
      return problem(400, f.code, 'Name at least one group.', { errors: [{ field: 'groups', message: 'name at least one group' }] })
    case 'group.not_found':
      return problem(422, f.code, `No group named ${f.missing.join(', ')} in the account. Groups: ${f.available.join(', ')}.`, { errors: f.missing.map(() => ({ field: 'groups', message: 'names a group the account does not have' })) })
    case 'user.not_found':
      return problem(404, f.code, 'No such user in the account.')
    case 'user.already_invited':
      return problem(409, f.code, `${f.email} is already invited (until ${f.expiresAt.toISOString()}): resend or regenerate instead.`)
    case 'user.already_active':
      return problem(409, f.code, `${f.email} is already Active.`)
    case 'user.removed':
      return problem(409, f.code, `${f.email} was removed: invite them again with POST /users.`)
    case 'user.declined':
      return problem(409, f.code, `${f.email} declined: invite them again with POST /users.`)
    case 'invitation.expired':
      return problem(409, f.code, `The invitation of ${f.email} expired at ${f.expiredAt.toISOString()}: regenerate it.`)
    case 'invitation.still_valid':
      return problem(409, f.code, `The invitation of ${f.email} is still valid until ${f.expiresAt.toISOString()}: resend it instead.`)
    case 'invitation.already_replaced':
      return problem(409, f.code, `The invitation of ${f.email} was replaced at ${f.at.toISOString()}${f.by ? ` by ${f.by}` : ''}.`)
    case 'invitation.already_resent':
      return problem(409, f.code, `The invitation of ${f.email} was resent at ${f.at.toISOString()}${f.by ? ` by ${f.by}` : ''}.`)
    case 'user.cannot_remove_self':
      return problem(409, f.code, 'An administrator cannot remove themselves.')
    case 'user.last_admin':
      return problem(409, f.code, `${f.email} is the account's last administrator.`)
    case 'limit.admin_sends':
      return problem(429, f.code, `This key caused ${f.limit} emails in the last hour, the most allowed.`, { retryAt: f.retryAt, now })
    case 'limit.recipient_sends':
      return problem(429, f.code, `${f.email} got ${f.limit} emails today, the most allowed.`, { retryAt: f.retryAt, now })
    case 'email.suppressed':
      return problem(422, f.code, `Emails to ${f.email} are suppressed (${f.reason}).`)
    case 'group.name_taken':
      return problem(409, f.code, `The account already has a group named ${f.name}.`, { errors: [{ field: 'name', message: 'is taken' }] })
    case 'group.name_invalid':
      return problem(400, f.code, `The group name ${describeNameProblem(f.problem, f.limit)}.`, { errors: [{ field: 'name', message: describeNameProblem(f.problem, f.limit) }] })
    case 'handover.invalid':
      return problem(422, f.code, 'The code is not a hand-over code of this account.', { errors: [{ field: 'code', message: 'is not a valid code' }] })
    case 'handover.expired':
      return problem(422, f.code, 'The code expired: the invitee accepts again from their invitation link.', { errors: [{ field: 'code', message: 'expired' }] })
    case 'handover.used':
      return problem(409, f.code, 'The code was redeemed already.')
    case 'invitation.no_longer_valid':
      return problem(409, f.code, 'The invitation behind the code ended meanwhile (regenerated, removed or expired).')
    default: {
      const unreachable: never = f
      return problem(500, 'internal.error', `Unworded refusal ${(unreachable as { code: string }).code}.`)
    }
  }
}
