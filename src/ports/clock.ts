/** Time, passed in so tests can move it (docs/architecture.md). */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock a test moves by hand. */
export function fixedClock(start: Date | string): Clock & { set(d: Date | string): void; advance(ms: number): void } {
  let current = new Date(start)
  return {
    now: () => new Date(current),
    set: (d) => {
      current = new Date(d)
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms)
    },
  }
}
