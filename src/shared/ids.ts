/** A uuid in its canonical 8-4-4-4-12 hex form (any case). The one test for "is this an id of ours". */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Whether `value` is a uuid. Every id of ours (accounts, users, invitations, groups) is one, and
 * Postgres raises on a malformed uuid instead of matching nothing, so ids that came from outside
 * (a button value, a CLI argument, a form) are checked with this before they reach a query.
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}
