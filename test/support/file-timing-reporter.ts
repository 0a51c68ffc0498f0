/**
 * A vitest reporter that says where a run's time goes, file by file: importing the file (and
 * everything it pulls in), its tests and hooks (a database start in `beforeAll` counts here), and
 * the run's wall time. Not part of `npm test`; use it beside the default reporter:
 *
 *   npx vitest run --reporter=default --reporter=./test/support/file-timing-reporter.ts
 *
 * FILE_TIMING_TOP (default 20) is how many of the slowest files it lists; FILE_TIMING_JSON names a
 * file to write every file's figures to, for comparing two runs.
 */
import { writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

interface FileTiming {
  file: string
  project: string
  /** Import of the test module and everything it imports, plus the suite callbacks. */
  collectMs: number
  /** Environment and runner set-up before the import. */
  prepareMs: number
  /** Tests and hooks together. */
  runMs: number
  totalMs: number
  tests: number
}

export default class FileTimingReporter implements Reporter {
  private started = 0
  private readonly files: FileTiming[] = []

  onTestRunStart(): void {
    this.started = performance.now()
  }

  onTestModuleEnd(module: TestModule): void {
    const d = module.diagnostic()
    const prepareMs = d.environmentSetupDuration + d.prepareDuration + d.setupDuration
    this.files.push({
      file: relative(process.cwd(), module.moduleId),
      project: module.project.name,
      collectMs: d.collectDuration,
      prepareMs,
      runMs: d.duration,
      totalMs: prepareMs + d.collectDuration + d.duration,
      tests: Array.from(module.children.allTests()).length,
    })
  }

  onTestRunEnd(): void {
    const wallMs = performance.now() - this.started
    const sum = (pick: (f: FileTiming) => number) => this.files.reduce((n, f) => n + pick(f), 0)
    const s = (ms: number) => (ms / 1000).toFixed(1).padStart(7)
    const top = [...this.files].sort((a, b) => b.totalMs - a.totalMs).slice(0, Number(process.env.FILE_TIMING_TOP ?? 20))
    const lines = [
      '',
      `file timing: ${this.files.length} files, wall ${s(wallMs).trim()} s; summed over files: prepare ${s(sum((f) => f.prepareMs)).trim()} s, import ${s(sum((f) => f.collectMs)).trim()} s, tests and hooks ${s(sum((f) => f.runMs)).trim()} s`,
      `${'total'.padStart(7)} ${'import'.padStart(7)} ${'run'.padStart(7)} tests  file`,
      ...top.map((f) => `${s(f.totalMs)} ${s(f.collectMs)} ${s(f.runMs)} ${String(f.tests).padStart(5)}  ${f.file}${f.project ? ` [${f.project}]` : ''}`),
    ]
    console.log(lines.join('\n'))
    if (process.env.FILE_TIMING_JSON) writeFileSync(process.env.FILE_TIMING_JSON, JSON.stringify({ wallMs, files: this.files }, null, 2))
  }
}
