import type { Clock } from '../../src/ports/clock.ts'

/**
 * A fixed-window counter per key (the client IP), kept in memory. It slows down guessing of
 * link tokens (which have ≥128 bits of secret, so this is about load and noise, not about
 * making guessing feasible) and stops a single client hammering the database. In memory on
 * purpose: with several replicas each holds its own window, which only makes the effective limit
 * a small multiple; nothing here must survive a restart. The API limits each key with it too
 * (API_RATE_LIMIT_PER_MINUTE).
 */
export interface RateLimitOptions {
  /** Requests allowed per key per window. */
  max: number
  /** Window length in milliseconds. */
  windowMs: number
  /** Keys tracked at most; beyond it the oldest windows are dropped (bounded memory). */
  maxKeys?: number
}

export interface RateLimiter {
  /** Count one hit for `key`; `false` when it is over the limit. */
  hit(key: string): boolean
  /**
   * Count one hit for `key`: null when allowed, else when its window ends (the API owes its
   * clients a `Retry-After`).
   */
  hitRetryAt(key: string): Date | null
}

/** Create a limiter on an injected clock (tests move it; no timers, nothing to stop). */
export function createRateLimiter(clock: Clock, opts: RateLimitOptions): RateLimiter {
  const maxKeys = opts.maxKeys ?? 10_000
  const windows = new Map<string, { start: number; count: number }>()
  function hitRetryAt(key: string): Date | null {
    const now = clock.now().getTime()
    let w = windows.get(key)
    if (!w || now - w.start >= opts.windowMs) {
      // Re-insert so Map iteration order stays oldest-first for eviction.
      windows.delete(key)
      w = { start: now, count: 0 }
      windows.set(key, w)
      if (windows.size > maxKeys) {
        for (const [k, v] of windows) {
          if (windows.size <= maxKeys) break
          if (k !== key || now - v.start >= opts.windowMs) windows.delete(k)
        }
      }
    }
    w.count += 1
    return w.count <= opts.max ? null : new Date(w.start + opts.windowMs)
  }
  return { hit: (key) => hitRetryAt(key) === null, hitRetryAt }
}
