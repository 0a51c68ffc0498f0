/**
 * Expected outcomes are values, outages are exceptions (docs/architecture.md).
 * A use case returns `Result`; a failure carries a stable, namespaced `code` and the facts an
 * adapter needs to word it (never the wording itself).
 */
export type Result<T, F extends { code: string } = Failure> = { ok: true; value: T } | ({ ok: false } & F)

export interface Failure {
  code: string
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value }
}

export function fail<const F extends { code: string }>(failure: F): { ok: false } & F {
  return { ok: false, ...failure }
}
