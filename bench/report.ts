/**
 * docs/benchmarks.md, written from one `npm run bench` run: the machine, the goals table (every
 * target, measured value, baseline, ratio, met or MISSED, and for a missed one why), then each
 * section's figures. Nothing here is a stored result: every number comes from the run, and the
 * reasons are computed from it.
 */
import type { SweepFigures, PgbenchFigures, ChildRun } from './secondary.ts'
import { bareBaseline, complete, type Phase, type StackResult } from './stack.ts'
import type { Measured, StartupResult } from './startup.ts'
import { fmt } from './support.ts'

export interface Machine {
  cpu: string
  cores: number
  memoryGb: number
  os: string
  node: string
  postgres: string
  pglite: string
  date: string
  commit: string
  /** Uncommitted changes in the working tree when the run started (they are what was measured). */
  dirty: number
  loadBefore: number[]
  loadAfter: number[]
  serverRuns: string
}

export interface RunResults {
  machine: Machine
  startup: StartupResult | null
  stack: StackResult | null
  pgbench: { run: ChildRun; figures: PgbenchFigures } | null
  sweep: { run: ChildRun; figures: SweepFigures } | null
  /** Sections that failed outright, with why. */
  failures: string[]
  seconds: number
}

type Verdict = 'met' | 'MISSED' | 'not measured'

interface Goal {
  target: string
  measured: string
  baseline: string
  ratio: string
  verdict: Verdict
  reason: string
}

const ms = (n: number) => `${fmt(n, 0)} ms`
const mb = (n: number) => `${fmt(n, 0)} MB`
const x = (n: number) => `${fmt(n, 2)}×`

/**
 * One goal. `value` and `base` give the measured figure and its baseline (NaN when not measured);
 * `ok` decides; `why` explains a miss from the run's own figures.
 */
function goal(target: string, g: { value: number; unit: (n: number) => string; base?: number; baseUnit?: (n: number) => string; baseText?: string; ratio?: number; ok: (v: number, r: number) => boolean; why: () => string; unmeasured?: string | null }): Goal {
  const measuredOk = Number.isFinite(g.value) && !g.unmeasured
  const ratio = g.ratio ?? (g.base !== undefined ? g.value / g.base : Number.NaN)
  const verdict: Verdict = !measuredOk ? 'not measured' : g.ok(g.value, ratio) ? 'met' : 'MISSED'
  return {
    target,
    measured: measuredOk ? g.unit(g.value) : '—',
    baseline: g.baseText ?? (g.base !== undefined && Number.isFinite(g.base) ? (g.baseUnit ?? g.unit)(g.base) : '—'),
    ratio: Number.isFinite(ratio) && measuredOk ? x(ratio) : '—',
    verdict,
    reason: verdict === 'met' ? '' : verdict === 'not measured' ? (g.unmeasured ?? 'the run did not produce this figure') : g.why(),
  }
}

function topEntry(r: RunResults): string {
  const e = r.stack?.profile?.entries[0]
  return e ? `its largest self time is ${e.what} (${fmt(e.share * 100, 0)} % of the samples)` : 'no profile'
}

function phaseProblem(p: Phase | null | undefined, name: string): string | null {
  if (!p) return `${name} did not run`
  if (!complete(p)) return `INCOMPLETE RUN: ${p.problems.join('; ')}`
  return null
}

export function goals(r: RunResults): Goal[] {
  const s = r.startup
  const st = r.stack
  const bare = st ? bareBaseline(st.bare) : null
  const pg = r.pgbench?.figures
  const out: Goal[] = []
  const notStarted = (m: Measured | null | undefined, what: string) => (!m ? `${what} did not run` : m.runs === 0 ? `every run failed: ${m.problems[0] ?? '?'}` : null)

  // Full stack against pgbench: completed regenerates per second, from the first request to the last confirmation.
  const regen = st?.regenerate
  out.push(
    goal('`/invite regenerate`, full stack on Postgres (8 connections; completed regenerates/s), ≥ 0.5× pgbench tps for the same statements', {
      value: regen?.workRate ?? Number.NaN,
      unit: (n) => `${fmt(n, 0)}/s`,
      base: pg?.pgbenchTps ?? Number.NaN,
      baseUnit: (n) => `${fmt(n, 0)} tps`,
      ok: (_, ratio) => ratio >= 0.5,
      why: () =>
        `the server used ${fmt(st?.cpuMsPerRegenerate ?? Number.NaN, 2)} ms of CPU per regenerate (${fmt((1000 / (st?.cpuMsPerRegenerate ?? Number.NaN)), 0)}/s on one core at most) while pgbench's client does none of it; ${topEntry(r)}`,
      unmeasured: phaseProblem(regen, 'regenerate') ?? (pg?.problem ? `pgbench: ${pg.problem}` : null),
    }),
  )
  out.push(
    goal('the regenerate transaction alone (knex, node-pg) ≥ 0.75× pgbench tps', {
      value: pg?.oursTps ?? Number.NaN,
      unit: (n) => `${fmt(n, 0)} tps`,
      base: pg?.pgbenchTps ?? Number.NaN,
      ok: (_, ratio) => ratio >= 0.75,
      why: () =>
        `${fmt(pg?.cpuUsPerTransaction ?? Number.NaN, 0)} µs of Node CPU per transaction, ${fmt(pg?.roundTrips ?? Number.NaN, 0)} round trips` +
        (pg?.notMirrored ? '; and the pgbench script no longer mirrors the code, so the two sides run different statements' : ''),
      unmeasured: pg ? pg.problem : 'regenerate-pgbench did not run',
    }),
  )
  for (const [name, p] of [
    ['`/invite help`', st?.help],
    ['`/invite list`', st?.list],
    ['`/invite regenerate`', st?.regenerate],
  ] as const) {
    const unmeasured = phaseProblem(p, name) ?? (bare ? null : 'the bare Bolt baseline is incomplete')
    const queued = p && p.load ? `; the work after the ack (${fmt(p.workRate, 0)}/s) runs in the same process while acks are measured` : ''
    out.push(
      goal(`${name}: acks/s ≥ 0.5× bare Bolt`, {
        value: p?.load?.rps ?? Number.NaN,
        unit: (n) => `${fmt(n, 0)}/s`,
        base: bare?.rps ?? Number.NaN,
        ok: (_, ratio) => ratio >= 0.5,
        why: () => `beyond bare Bolt's ack, every command is parsed, checked against the in-process duplicate guard and queued for the work after the ack${queued}, its email worker included (the work competes with the acks for the one thread)`,
        unmeasured,
      }),
    )
    out.push(
      goal(`${name}: ack p99 ≤ 2× bare Bolt`, {
        value: p?.load?.p99 ?? Number.NaN,
        unit: ms,
        base: bare?.p99 ?? Number.NaN,
        ok: (_, ratio) => ratio <= 2,
        why: () => `p50 ${ms(p?.load?.p50 ?? Number.NaN)} against bare ${ms(bare?.p50 ?? Number.NaN)}: the tail is the work after earlier acks sharing the event loop${queued}`,
        unmeasured,
      }),
    )
  }
  out.push(
    goal('Node CPU per regenerate (server process, whole request: HTTP, Bolt, core, Slack calls, sending its email) ≤ 1.5 ms', {
      value: st?.cpuMsPerRegenerate ?? Number.NaN,
      unit: (n) => `${fmt(n, 2)} ms`,
      baseText: '1.5 ms',
      ratio: (st?.cpuMsPerRegenerate ?? Number.NaN) / 1.5,
      ok: (v) => v <= 1.5,
      why: () => `${topEntry(r)}; the transaction alone is ${fmt((pg?.cpuUsPerTransaction ?? Number.NaN) / 1000, 2)} ms of it (regenerate-pgbench); the rest is HTTP, Bolt, the Slack calls and the email`,
      unmeasured: phaseProblem(regen, 'regenerate'),
    }),
  )
  out.push(
    goal('`inviteops --help` ≤ 3× `node -e 0` (median wall)', {
      value: s?.help.wallMs ?? Number.NaN,
      unit: ms,
      base: s?.nodeE0.wallMs ?? Number.NaN,
      ok: (_, ratio) => ratio <= 3,
      why: () => `${ms((s?.help.wallMs ?? 0) - (s?.nodeE0.wallMs ?? 0))} more than an empty Node, loading the CLI ${r.machine.serverRuns}`,
      unmeasured: notStarted(s?.help, '--help'),
    }),
  )
  out.push(
    goal('`inviteops --help` peak RSS ≤ 60 MB', {
      value: s?.help.peakMb ?? Number.NaN,
      unit: mb,
      base: s?.nodeE0.peakMb ?? Number.NaN,
      ratio: (s?.help.peakMb ?? Number.NaN) / 60,
      ok: (v) => v <= 60,
      why: () => `${mb((s?.help.peakMb ?? 0) - (s?.nodeE0.peakMb ?? 0))} above an empty Node, loading the CLI ${r.machine.serverRuns}`,
      unmeasured: notStarted(s?.help, '--help'),
    }),
  )
  const startGoal = (label: string, m: Measured | null | undefined, wallLimit: number, memLimit: number, why: string) => {
    out.push(
      goal(`${label}: ready (GET /readyz 200) < ${fmt(wallLimit / 1000, 1)} s (median)`, {
        value: m?.wallMs ?? Number.NaN,
        unit: ms,
        baseText: ms(wallLimit),
        ratio: (m?.wallMs ?? Number.NaN) / wallLimit,
        ok: (v) => v < wallLimit,
        why: () => `${why}; runs: ${m?.walls.map((w) => fmt(w, 0)).join(', ')} ms`,
        unmeasured: notStarted(m, label),
      }),
    )
    out.push(
      goal(`${label}: peak RSS when ready < ${memLimit} MB`, {
        value: m?.peakMb ?? Number.NaN,
        unit: mb,
        baseText: mb(memLimit),
        ratio: (m?.peakMb ?? Number.NaN) / memLimit,
        ok: (v) => v < memLimit,
        why: () => `${why}; resident when ready ${mb(m?.rssMb ?? Number.NaN)}`,
        unmeasured: notStarted(m, label),
      }),
    )
  }
  startGoal('first start, new DATA_DIR (PGlite)', s?.firstStart, 3000, 300, 'PGlite (Postgres in WebAssembly, inside the process) makes a new data directory and starts, then the migrations run')
  startGoal('restart, existing DATA_DIR (PGlite)', s?.restart, 1500, 200, "PGlite's WebAssembly Postgres starts inside the process")
  startGoal('start with DATABASE_URL', s?.databaseUrl, 1000, 120, `the server loads ${r.machine.serverRuns}, then opens the pool and checks the migrations`)
  out.push(
    goal('resident memory on Postgres, peak after the load phases < 120 MB', {
      value: st?.serverMemory.afterHwm ?? Number.NaN,
      unit: mb,
      baseText: mb(120),
      ratio: (st?.serverMemory.afterHwm ?? Number.NaN) / 120,
      ok: (v) => v < 120,
      why: () => `${mb(st?.serverMemory.readyRss ?? Number.NaN)} when ready (Slack on: Bolt loaded); the rest is heap V8 lets grow under the burst before it collects (a heap limit bounds it: docs/operations.md, Memory under a burst)`,
      unmeasured: st ? null : 'the full-stack section did not run',
    }),
  )
  const sw = r.sweep?.figures
  out.push(
    goal('expiry sweep of 100k invitations (10k expired) through its index, in seconds (< 10 s), no sequential scan', {
      value: sw?.sweepMs ?? Number.NaN,
      unit: ms,
      baseText: '10 s, 0 rows by sequential scan',
      ratio: (sw?.sweepMs ?? Number.NaN) / 10_000,
      ok: (v) => v < 10_000 && (sw?.seqRows ?? 1) === 0 && (sw?.usesIndex ?? false),
      why: () => `${sw?.usesIndex ? 'uses' : 'does not use'} invitations_expiry_unnoticed_idx; ${fmt(sw?.seqRows ?? Number.NaN, 0)} rows read by sequential scans`,
      unmeasured: sw ? sw.problem : 'expiry-sweep did not run',
    }),
  )
  out.push({
    target: 'a backlog of emails sent within 5 % of SES_MAX_SEND_RATE (never faster: a correctness test)',
    measured: '—',
    baseline: '—',
    ratio: '—',
    verdict: 'not measured',
    reason: 'no benchmark sends through SES yet',
  })
  return out
}

const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`)].join('\n')

function phaseRow(p: Phase, bare: { rps: number; p99: number } | null, work: string): string[] {
  const l = p.load
  if (!l) return [p.name, '—', '—', '—', '—', '—', '—', '—', `FAILED: ${p.problems.join('; ')}`]
  return [
    p.name,
    String(l.requests),
    fmt(l.rps, 0),
    fmt(l.p50, 0),
    fmt(l.p99, 0),
    bare ? x(l.rps / bare.rps) : '—',
    bare ? x(l.p99 / bare.p99) : '—',
    work === '' ? '—' : `${p.arrived}/${p.expected} ${work} in ${fmt(p.doneSeconds, 1)} s: ${fmt(p.workRate, 0)}/s`,
    p.problems.length === 0 ? 'ok' : `INCOMPLETE RUN: ${p.problems.join('; ')}`,
  ]
}

function startupRow(m: Measured | null): string[] {
  if (!m) return ['—', '—', '—', '—', 'not run']
  return [m.what, String(m.runs), fmt(m.wallMs, 0), `${fmt(Math.min(...m.walls), 0)}–${fmt(Math.max(...m.walls), 0)}`, fmt(m.peakMb, 0), fmt(m.rssMb, 0), m.problems.length ? `${m.problems.length} failed: ${m.problems[0]}` : 'ok']
}

const details = (summary: string, body: string) => `<details><summary>${summary}</summary>\n\n\`\`\`text\n${body.replace(/```/g, "'''")}\n\`\`\`\n\n</details>`

export function markdown(r: RunResults): string {
  const m = r.machine
  const lines: string[] = []
  const gs = goals(r)
  const missed = gs.filter((g) => g.verdict === 'MISSED').length
  const unmeasured = gs.filter((g) => g.verdict === 'not measured').length
  lines.push(
    '# Benchmarks',
    '',
    '> **Generated** by `npm run bench` ([`bench/run.ts`](../bench/run.ts)); do not edit by hand, run it',
    '> again. How the figures are taken: [performance.md](performance.md#npm-run-bench).',
    '',
    `Run of ${m.date}, ${fmt(r.seconds, 0)} s: ${gs.length - missed - unmeasured} goals met, ${missed} missed, ${unmeasured} not measured.`,
    '',
    '## The machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${m.cpu}, ${m.cores} cores`],
        ['memory', `${fmt(m.memoryGb, 1)} GB`],
        ['OS', m.os],
        ['Node', m.node],
        ['Postgres server', m.postgres],
        ['PGlite', m.pglite],
        ['commit', `${m.commit}${m.dirty > 0 ? ` with ${m.dirty} uncommitted changes in the working tree (measured as they were)` : ''}`],
        ['the server ran', m.serverRuns],
        ['load average (1, 5, 15 min)', `${m.loadBefore.map((n) => fmt(n, 2)).join(', ')} at the start; ${m.loadAfter.map((n) => fmt(n, 2)).join(', ')} at the end`],
      ],
    ),
    '',
    'A load average above the number of cores means other work shared the machine during the run: ',
    'ratios to a baseline measured in the same run hold up better than absolute figures.',
    '',
    '## Goals',
    '',
    table(
      ['target', 'measured', 'baseline', 'ratio', 'result', 'why (when missed)'],
      gs.map((g) => [g.target, g.measured, g.baseline, g.ratio, g.verdict === 'met' ? 'met' : `**${g.verdict}**`, g.reason]),
    ),
    '',
  )
  if (r.failures.length > 0) lines.push('Sections that failed:', '', ...r.failures.map((f) => `- ${f}`), '')

  const st = r.stack
  lines.push('## Full stack through HTTP', '')
  if (!st) lines.push('Not run.', '')
  else {
    const bare = bareBaseline(st.bare)
    lines.push(
      `Each side in its own process: autocannon ([\`bench/load.mjs\`](../bench/load.mjs)) with ${st.connections} connections, ` +
        'our server (`node bin/inviteops.js serve`) on a fresh database on the Postgres server, the Slack Web API stand-in ' +
        '([`bench/slack-standin.mjs`](../bench/slack-standin.mjs)), and the baseline, a bare Bolt app that only acks ' +
        '([`bench/bare-bolt.mjs`](../bench/bare-bolt.mjs)). Every request is signed as Slack signs it and has its own ' +
        `\`trigger_id\`; ${bare ? 'the baseline is the mean of the two bare Bolt runs, one before and one after ours' : 'the baseline is incomplete'}. ` +
        `Postgres ${st.postgresVersion}; the account holds ${st.users} users. Latencies are per request, from send to the ack's response, in ms; ` +
        'the work after the ack (the reply reaching the stand-in) is timed from the first request to the last reply.',
      '',
      table(
        ['', 'requests', 'acks/s', 'p50 ms', 'p99 ms', 'acks/s ÷ bare', 'p99 ÷ bare', 'work after the ack', 'check'],
        [
          ...st.bare.map((p) => phaseRow(p, bare, '')),
          ...(st.help ? [phaseRow(st.help, bare, 'help replies')] : []),
          ...(st.list ? [phaseRow(st.list, bare, 'list pages')] : []),
          ...(st.regenerate ? [phaseRow(st.regenerate, bare, 'channel confirmations')] : []),
        ],
      ),
      '',
    )
    const replies = [st.help, st.list, st.regenerate].filter((p): p is Phase => Boolean(p)).flatMap((p) => Object.entries(p.replies).map(([t, n]) => `- ${p.name}: ${n} × “${t}”`))
    if (replies.length > 0) lines.push('What the stand-in received after the acks (first line of each answer, digits and emails masked):', '', ...replies, '')
    if (st.problems.length > 0) lines.push('Problems:', '', ...st.problems.map((p) => `- ${p}`), '')
  }

  lines.push('## `/invite regenerate` against pgbench', '')
  const pg = r.pgbench
  if (!pg) lines.push('Not run.', '')
  else {
    const f = pg.figures
    const regen = st?.regenerate
    lines.push(
      '[`bench/regenerate-vs-pgbench.ts`](../bench/regenerate-vs-pgbench.ts) runs the transaction alone, through knex and node-pg, between two pgbench runs of the same statements; ' +
        'its output is below as printed. The full-stack figure is the completed regenerates per second above (from the first request to the last channel confirmation).',
      '',
      table(
        ['', 'per second', 'p50 ms', 'p99 ms', '÷ pgbench'],
        [
          ['pgbench (mean of its two runs)', fmt(f.pgbenchTps, 0), '—', fmt(f.pgbenchP99, 1), '1.00×'],
          ['the transaction alone (knex, node-pg)', fmt(f.oursTps, 0), fmt(f.oursP50, 1), fmt(f.oursP99, 1), x(f.oursTps / f.pgbenchTps)],
          ['full stack: completed regenerates', fmt(regen?.workRate ?? Number.NaN, 0), '—', '—', x((regen?.workRate ?? Number.NaN) / f.pgbenchTps)],
        ],
      ),
      '',
      f.problem ? `Its figures cannot be judged: ${f.problem}.` : f.notMirrored ? 'Note: it reports that its pgbench script no longer mirrors the statements the code issues.' : '',
      '',
      details(`its output (${fmt(pg.run.seconds, 0)} s)`, pg.run.output),
      '',
    )
  }

  lines.push('## Start and CLI', '')
  const s = r.startup
  if (!s) lines.push('Not run.', '')
  else {
    lines.push(
      'Wall time from spawn: to exit for the CLI, to the first `GET /readyz` answering 200 for `serve`. Memory: the peak resident set ' +
        '(`/usr/bin/time %M` for the CLI; `VmHWM` of the server process when ready) and, for `serve`, the resident set when ready (`VmRSS`). Medians.',
      '',
      table(['', 'runs', 'median ms', 'range ms', 'peak MB', 'RSS when ready MB', 'check'], [s.nodeE0, s.help, s.firstStart, s.restart, s.databaseUrl].map(startupRow)),
      '',
    )
  }

  lines.push('## Node CPU per regenerate', '')
  if (!st) lines.push('Not run.', '')
  else {
    lines.push(
      `The server process used **${fmt(st.cpuMsPerRegenerate, 2)} ms** of CPU (user + system, \`/proc/<pid>/stat\`) per regenerate over the measured phase, ` +
        'from an empty email outbox before the first request to an empty one after the last confirmation: signature checks, Bolt, the core transaction, the Slack calls, and the email worker sending each regenerate\'s email (file transport).',
      '',
    )
    const p = st.profile
    if (!p) lines.push('No profile.', '')
    else {
      lines.push(
        `Then the server ran again under \`--cpu-prof\` for ${p.regenerates} more regenerates; only the samples taken during that batch count ` +
          `(${fmt(p.samplesMs, 0)} ms of samples, idle excluded). The functions with the most self time:`,
        '',
        table(
          ['self ms', 'share', 'function and file'],
          p.entries.map((e) => [fmt(e.selfMs, 0), `${fmt(e.share * 100, 1)} %`, `\`${e.what}\``]),
        ),
        '',
        p.note ? `Note: ${p.note}.` : '',
        '',
      )
    }
  }

  lines.push('## Expiry sweep', '')
  if (!r.sweep) lines.push('Not run.', '')
  else
    lines.push(
      '[`bench/expiry-sweep.ts`](../bench/expiry-sweep.ts), kept as it was: it measures a query plan and a batch job, not a request path.',
      '',
      details(`its output (${fmt(r.sweep.run.seconds, 0)} s)`, r.sweep.run.output),
      '',
    )
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`
}
