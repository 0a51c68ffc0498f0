/**
 * The functions a V8 CPU profile (`node --cpu-prof`) spent the most self time in, aggregated by
 * function and file, counting only the samples taken in a window (the load phase, not start-up).
 * The window is in microseconds of the monotonic clock, which V8's profile timestamps and
 * `process.hrtime` share on Linux, so another process can name it.
 */

export interface ProfileEntry {
  /** `functionName file` (file relative to the repository, or the module name). */
  what: string
  selfMs: number
  /** Share of all samples in the window (idle excluded). */
  share: number
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

function isProfile(p: unknown): p is CpuProfile {
  const o = p as Partial<CpuProfile> | null
  return Boolean(o && Array.isArray(o.nodes) && Array.isArray(o.samples) && Array.isArray(o.timeDeltas) && typeof o.startTime === 'number')
}

/** A profile URL as a short place: src/…, node_modules/<package>/…, node:… */
function place(url: string, root: string): string {
  if (url === '') return ''
  let path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url
  if (path.startsWith(`${root}/`)) path = path.slice(root.length + 1)
  const nm = path.lastIndexOf('node_modules/')
  if (nm >= 0) path = path.slice(nm)
  return path.replace(/\?.*$/, '')
}

export function topSelfTime(profile: unknown, opts: { fromUs: number; toUs: number; root: string; limit: number }): { entries: ProfileEntry[]; totalMs: number; note: string } {
  if (!isProfile(profile)) return { entries: [], totalMs: 0, note: 'not a CPU profile' }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const collect = (inWindow: (t: number) => boolean) => {
    const self = new Map<string, number>()
    let total = 0
    let t = profile.startTime
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0
      // A sample stands for the time until the next one.
      const us = profile.timeDeltas[i + 1] ?? 0
      if (!inWindow(t)) continue
      const node = byId.get(profile.samples[i]!)
      if (!node) continue
      const fn = node.callFrame.functionName || '(anonymous)'
      if (fn === '(idle)') continue
      const file = place(node.callFrame.url, opts.root)
      const key = file ? `${fn} ${file}` : fn
      self.set(key, (self.get(key) ?? 0) + us)
      total += us
    }
    return { self, total }
  }
  let note = ''
  let { self, total } = collect((t) => t >= opts.fromUs && t <= opts.toUs)
  if (total === 0) {
    ;({ self, total } = collect(() => true))
    note = 'no sample fell in the load window (clock mismatch?): the whole profile, start-up included, is shown'
  }
  const entries = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, opts.limit)
    .map(([what, us]) => ({ what, selfMs: us / 1000, share: total > 0 ? us / total : 0 }))
  return { entries, totalMs: total / 1000, note }
}
