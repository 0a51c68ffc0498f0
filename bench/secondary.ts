/**
 * The single-process benchmarks, run as child processes (bench/child.ts), and the figures read
 * from what they print: `regenerate-pgbench` (the regenerate transaction beside pgbench) and
 * `expiry-sweep`. Their output goes into docs/benchmarks.md as printed; the parsing below only
 * picks the figures the goals need, and says so when it cannot find them.
 */
import { runToEnd } from './processes.ts'

export interface ChildRun {
  output: string
  code: number | null
  timedOut: boolean
  seconds: number
}

export async function runChild(which: 'regenerate-pgbench' | 'expiry-sweep', env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ChildRun> {
  const t0 = performance.now()
  const out = await runToEnd(process.execPath, ['bin/run-ts.js', 'bench/child.ts', which], timeoutMs, { env: { ...process.env, ...env } })
  return { output: `${out.stdout}${out.stderr ? `\n${out.stderr}` : ''}`.trim(), code: out.code, timedOut: out.timedOut, seconds: (performance.now() - t0) / 1000 }
}

export interface PgbenchFigures {
  pgbenchTps: number
  /** Each pgbench run's tps (before and after ours). */
  pgbenchRuns: number[]
  oursTps: number
  oursP50: number
  oursP99: number
  pgbenchP99: number
  /** The pgbench script no longer runs the statements the code issues. */
  notMirrored: boolean
  roundTrips: number
  cpuUsPerTransaction: number
  /** Why the figures cannot be used (INCOMPLETE RUN, a failure, nothing found); null when they can. */
  problem: string | null
}

const num = (s: string | undefined) => (s === undefined ? Number.NaN : Number(s))

export function parsePgbench(run: ChildRun): PgbenchFigures {
  const text = run.output
  const row = (label: RegExp) => label.exec(text)?.slice(1).map(num) ?? []
  const [pg1Tps, , pg1P99] = row(/^pgbench \(1st\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/m)
  const [pg2Tps, , pg2P99] = row(/^pgbench \(2nd\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/m)
  const [oursTps, oursP50, oursP99] = row(/^ours\b.*?\s{2,}([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\d+\s*$/m)
  const roundTrips = num(/(\d+) (?:SQL )?round trips/.exec(text)?.[1])
  const cpuUs = num(/([\d.]+) µs of CPU per transaction/.exec(text)?.[1])
  let problem: string | null = null
  if (run.timedOut) problem = 'stopped by its time limit'
  else if (/INCOMPLETE RUN/.test(text)) problem = 'INCOMPLETE RUN (see its output)'
  else if (/needs a Postgres server/.test(text)) problem = 'skipped: no Postgres server'
  else if (run.code !== 0) problem = `exited ${run.code}`
  else if (![pg1Tps, pg2Tps, oursTps].every((n) => Number.isFinite(n))) problem = 'its printed figures were not found (has its output format changed?)'
  return {
    pgbenchTps: ((pg1Tps ?? Number.NaN) + (pg2Tps ?? Number.NaN)) / 2,
    pgbenchRuns: [pg1Tps ?? Number.NaN, pg2Tps ?? Number.NaN],
    oursTps: oursTps ?? Number.NaN,
    oursP50: oursP50 ?? Number.NaN,
    oursP99: oursP99 ?? Number.NaN,
    pgbenchP99: ((pg1P99 ?? Number.NaN) + (pg2P99 ?? Number.NaN)) / 2,
    notMirrored: /no longer (?:mirrors|match)/.test(text),
    roundTrips,
    cpuUsPerTransaction: cpuUs,
    problem,
  }
}

export interface SweepFigures {
  sweepMs: number
  seqRows: number
  usesIndex: boolean
  problem: string | null
}

export function parseSweep(run: ChildRun): SweepFigures {
  const text = run.output
  const sweepMs = num(/^sweep: \d+ invitations noticed in \d+ calls, ([\d.]+) ms/m.exec(text)?.[1])
  const seq = /^read by sequential scans during the sweep: (\d+) invitations rows, (\d+) users rows/m.exec(text)
  const usesIndex = /Index (?:Only )?Scan using invitations_expiry_unnoticed_idx/.test(text)
  let problem: string | null = null
  if (run.timedOut) problem = 'stopped by its time limit'
  else if (/INCOMPLETE RUN|FAIL/.test(text)) problem = 'INCOMPLETE RUN (see its output)'
  else if (run.code !== 0) problem = `exited ${run.code}`
  else if (!Number.isFinite(sweepMs) || !seq) problem = 'its printed figures were not found (has its output format changed?)'
  return { sweepMs, seqRows: seq ? Number(seq[1]) + Number(seq[2]) : Number.NaN, usesIndex, problem }
}
