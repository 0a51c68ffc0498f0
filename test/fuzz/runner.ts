/**
 * Runs one family's generated inputs through fast-check and checks each one:
 *  - no 5xx answer, and no request the server dropped;
 *  - no failure the app caught and reported itself once its answer was gone: Slack acks first and
 *    works after, Teams answers 200 around a failed turn, so a "Something went wrong on our side"
 *    sent to the user, an error the routes logged, or a Slack 404 (Bolt's answer when no listener
 *    acked) is a 5xx in disguise. Not judged when an outbound call went unanswered (a fuzzed URL
 *    the network refused may rightly end that way);
 *  - no unhandled rejection or uncaught exception while it ran;
 *  - when the input cannot change data by construction (Prepared.refusedBecause), the fingerprint
 *    taken after it (once the work it started is done) equals the one taken before it.
 * The first input that breaks a rule fails the property; fast-check then shrinks it, within a budget.
 * A crash of the process is vitest's to report (the worker exits); FUZZ_TRACE names its input.
 */
import { appendFileSync } from 'node:fs'
import fc from 'fast-check'
import { changedTables, type Fingerprint } from './fingerprint.ts'
import type { Family } from './shared.ts'
import type { World } from './world.ts'

export type Phase = 'refused' | 'mayChange'

/**
 * What shrinking one failure may spend: each candidate is a real request, and some failures cost
 * seconds each (Bolt waits 3 s for an ack that never comes).
 */
const SHRINK_BUDGET = { runs: 300, ms: 30_000 }

export interface Tally {
  family: string
  phase: Phase
  /** Inputs sent before the first failure (fast-check's runs). */
  inputs: number
  /** Inputs sent while shrinking a failure. */
  shrinkRuns: number
  /** Inputs that could not change data by construction, whose fingerprints were compared. */
  checked: number
  /** Of those, how many changed rows anyway. */
  changed: number
  statuses: Map<number, number>
  /** Why the checked inputs could not change data, by reason. */
  reasons: Map<string, number>
  ms: number
  failure: string | null
}

export interface Faults {
  unhandledRejections: string[]
  uncaughtExceptions: string[]
}

/** Installs the listeners that count unhandled rejections and uncaught exceptions; returns the removal. */
export function watchFaults(faults: Faults): () => void {
  const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e)).slice(0, 2_000)
  const onRejection = (reason: unknown) => faults.unhandledRejections.push(describe(reason))
  const onException = (error: unknown) => faults.uncaughtExceptions.push(describe(error))
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return () => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  }
}

export interface PhaseOptions {
  seed: number
  numRuns: number
  /** Inputs between two resets of the database (inputs that may change data wear the seed down). */
  resetEvery: number
  shrink: boolean
  /** A file each input is appended to before it is sent: after a crash, its last line is the culprit. */
  trace?: string | undefined
}

/** Runs `numRuns` inputs of one family and phase; returns its tally (failure set when a rule broke). */
export async function runPhase<R>(family: Family<R>, phase: Phase, world: World, faults: Faults, opts: PhaseOptions): Promise<Tally> {
  const tally: Tally = { family: family.name, phase, inputs: 0, shrinkRuns: 0, checked: 0, changed: 0, statuses: new Map(), reasons: new Map(), ms: 0, failure: null }
  const started = performance.now()
  await world.reset()
  // The fingerprint after the last checked input, while nothing else has written since.
  let last: Fingerprint | null = null
  let failedOnce = false
  let failedAt = 0
  let sinceReset = 0

  const property = fc.asyncProperty(phase === 'refused' ? family.refused : family.mayChange, async (recipe) => {
    if (phase === 'mayChange' && sinceReset >= opts.resetEvery) {
      await world.reset()
      last = null
      sinceReset = 0
    }
    // Past the budget, a shrink candidate is not sent and counts as passing: fast-check then
    // settles on the smallest failing input found so far.
    if (failedOnce && (tally.shrinkRuns >= SHRINK_BUDGET.runs || performance.now() - failedAt > SHRINK_BUDGET.ms)) return
    sinceReset++
    if (failedOnce) tally.shrinkRuns++
    else tally.inputs++
    const faultsBefore = faults.unhandledRejections.length + faults.uncaughtExceptions.length
    world.log.length = 0
    world.outbound.length = 0
    world.unanswered.count = 0
    const prepared = await family.prepare(recipe, world).catch((error: unknown) => {
      throw new Error(`the suite could not build this input (a bug of the suite, not of the app): ${error instanceof Error ? error.stack : String(error)}`)
    })
    if (prepared.setupWrote) last = null
    const before = prepared.refusedBecause !== null ? (last ?? (await world.fingerprint.take())) : null
    if (opts.trace) appendFileSync(opts.trace, `${family.name} ${phase} #${tally.inputs + tally.shrinkRuns} heap=${Math.round(process.memoryUsage().heapUsed / 2 ** 20)}MB ${JSON.stringify(recipe)}\n  ${prepared.refusedBecause === null ? 'may change' : `refused: ${prepared.refusedBecause}`}\n  ${prepared.describe}\n`)
    const problems: string[] = []
    let status = 0
    try {
      status = await prepared.send()
    } catch (error) {
      problems.push(`the request failed: ${error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error)}`)
    }
    await world.idle()
    // Let a rejection nobody handled surface before looking.
    await new Promise((resolve) => setImmediate(resolve))
    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1)
    if (status >= 500) {
      const errors = world.log.filter((l) => l.level === 'error').map((l) => `${l.msg} ${JSON.stringify(l.fields).slice(0, 1_500)}`)
      problems.push(`answered ${status}${errors.length > 0 ? `; the server logged:\n    ${errors.join('\n    ')}` : ''}`)
    } else {
      const wrong = prepared.judge?.(status) ?? (status > 0 ? world.internalFailure() : null)
      if (wrong) problems.push(wrong)
    }
    if (before) {
      tally.checked++
      const reason = prepared.refusedBecause ?? ''
      tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1)
      const after = await world.fingerprint.take()
      const changed = changedTables(before, after)
      if (changed.length > 0) {
        tally.changed++
        problems.push(`refused (${prepared.refusedBecause}) yet changed rows of ${changed.join(', ')}`)
      }
      last = after
    } else {
      last = null
    }
    const newFaults = [...faults.unhandledRejections, ...faults.uncaughtExceptions].slice(faultsBefore)
    if (newFaults.length > 0) problems.push(`unhandled rejection / uncaught exception while it ran:\n${newFaults.join('\n')}`)
    if (problems.length > 0) {
      if (!failedOnce) failedAt = performance.now()
      failedOnce = true
      throw new Error(`${problems.join('; ')}\n  request: ${prepared.describe}`)
    }
  })

  // Each phase its own stream (a family may use one arbitrary for both).
  const seed = (opts.seed + (phase === 'refused' ? 0 : 1)) | 0
  const details = await fc.check(property, { seed, numRuns: opts.numRuns, endOnFailure: !opts.shrink })
  if (details.failed) {
    const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    tally.failure = `${why}\n${fc.defaultReportMessage(details) ?? ''}`
  }
  tally.ms = performance.now() - started
  return tally
}

/** The figures, as a table for the log. */
export function summary(tallies: Tally[], faults: Faults, seed: number, requested: number): string {
  const pad = (s: string | number, n: number, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n))
  const classes = (t: Tally) => {
    const c = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 }
    for (const [status, n] of t.statuses) {
      const k = status >= 200 && status < 600 ? (`${Math.floor(status / 100)}xx` as keyof typeof c) : 'none'
      if (k in c) c[k] += n
    }
    return c
  }
  const lines = [
    `fuzz: seed ${seed} (replay: FUZZ_SEED=${seed} npm run test:fuzz), ${requested} inputs requested`,
    `${pad('family', 24, true)}${pad('phase', 10, true)}${pad('inputs', 8)}${pad('checked', 9)}${pad('changed', 9)}${pad('2xx', 7)}${pad('3xx', 6)}${pad('4xx', 7)}${pad('5xx', 6)}${pad('no ans', 8)}${pad('seconds', 9)}`,
  ]
  const total = { inputs: 0, shrink: 0, checked: 0, changed: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0, ms: 0 }
  const byStatus = new Map<number, number>()
  for (const t of tallies) {
    const c = classes(t)
    lines.push(
      `${pad(t.family, 24, true)}${pad(t.phase, 10, true)}${pad(t.inputs, 8)}${pad(t.checked, 9)}${pad(t.changed, 9)}${pad(c['2xx'], 7)}${pad(c['3xx'], 6)}${pad(c['4xx'], 7)}${pad(c['5xx'], 6)}${pad(c.none, 8)}${pad((t.ms / 1000).toFixed(1), 9)}${t.failure ? '  FAILED' : ''}`,
    )
    total.inputs += t.inputs
    total.shrink += t.shrinkRuns
    total.checked += t.checked
    total.changed += t.changed
    for (const k of ['2xx', '3xx', '4xx', '5xx', 'none'] as const) total[k] += c[k]
    total.ms += t.ms
    for (const [s, n] of t.statuses) byStatus.set(s, (byStatus.get(s) ?? 0) + n)
  }
  lines.push(
    `${pad('total', 34, true)}${pad(total.inputs, 8)}${pad(total.checked, 9)}${pad(total.changed, 9)}${pad(total['2xx'], 7)}${pad(total['3xx'], 6)}${pad(total['4xx'], 7)}${pad(total['5xx'], 6)}${pad(total.none, 8)}${pad((total.ms / 1000).toFixed(1), 9)}`,
    `answers by status: ${[...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s === 0 ? 'none' : s} ×${n}`).join(', ')}`,
    `inputs sent while shrinking failures: ${total.shrink}`,
    'why checked inputs could not change data (most frequent, per family):',
    ...reasonLines(tallies),
    `refused inputs that changed rows: ${total.changed}`,
    `unhandled rejections: ${faults.unhandledRejections.length}, uncaught exceptions: ${faults.uncaughtExceptions.length}`,
  )
  return lines.join('\n')
}

function reasonLines(tallies: Tally[]): string[] {
  const byFamily = new Map<string, Map<string, number>>()
  for (const t of tallies) {
    const m = byFamily.get(t.family) ?? new Map<string, number>()
    // Details in parentheses (which signature check, which field) are summed under one reason.
    for (const [r, n] of t.reasons) m.set(r.replace(/ \(.*\)$/, ''), (m.get(r.replace(/ \(.*\)$/, '')) ?? 0) + n)
    byFamily.set(t.family, m)
  }
  return [...byFamily].map(([family, m]) => `  ${family}: ${[...m].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([r, n]) => `${r} ×${n}`).join(', ')}`)
}
