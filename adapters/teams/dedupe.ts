/**
 * Remembers activity ids for a while. The Bot Framework may deliver the same activity twice (a
 * retry after a slow answer); an id seen before is acknowledged and not run again. One process's
 * memory: across replicas the core's business-key idempotency (regenerate carries the invitation
 * id → `already_replaced`) is the backstop (DESIGN.md §6).
 */
export function createDeliveryDeduper(ttlMs: number, maxEntries = 10_000, now: () => number = Date.now): { firstTime(key: string): boolean } {
  const seen = new Map<string, number>()
  return {
    firstTime(key) {
      const t = now()
      // Oldest first (insertion order): drop what expired, and the oldest past the cap.
      for (const [k, at] of seen) {
        if (t - at < ttlMs && seen.size <= maxEntries) break
        seen.delete(k)
      }
      if (seen.has(key)) return false
      seen.set(key, t)
      return true
    },
  }
}
