/** Small helpers the benchmarks share: their knobs from the environment, percentiles. */

/** An integer knob from the environment, checked against its range (a bad value stops the run). */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  const n = raw === undefined ? fallback : Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be an integer between ${min} and ${max}`)
  return n
}

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** A figure with `d` decimals, or `n/a` when there is none. */
export const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
