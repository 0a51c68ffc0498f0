import type { Clock } from '../../src/ports/clock.ts'

/**
 * Requests per API key per minute (API_RATE_LIMIT_PER_MINUTE), a fixed window kept in memory like
 * the invitee pages' limit (adapters/web/rate-limit.ts): with several replicas each counts its
 * own, which makes the effective limit a small multiple, and nothing must survive a restart. Its
 * own file because an API client is owed `Retry-After`: when its window ends.
 */
export interface KeyRateLimiter {
  /** Count one request of `key`: null when allowed, else when the window ends. */
  hit(key: string): Date | null
}

/** A limiter on an injected clock (tests move it), bounded to `maxKeys` windows. */
export function createKeyRateLimiter(clock: Clock, opts: { max: number; windowMs: number; maxKeys?: number }): KeyRateLimiter {
  const maxKeys = opts.maxKeys ?? 10_000
  const windows = new Map<string, { start: number; count: number }>()
  return {
    hit(key) {
      const now = clock.now().getTime()
      let w = windows.get(key)
      if (!w || now - w.start >= opts.windowMs) {
        windows.delete(key)
        w = { start: now, count: 0 }
        windows.set(key, w)
        // Oldest first in Map order: drop the oldest windows beyond the bound.
        for (const k of windows.keys()) {
          if (windows.size <= maxKeys) break
          if (k !== key) windows.delete(k)
        }
      }
      w.count += 1
      return w.count <= opts.max ? null : new Date(w.start + opts.windowMs)
    },
  }
}
