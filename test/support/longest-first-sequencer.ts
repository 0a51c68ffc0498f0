/**
 * The order test files start in: the longest first, so that the last files to finish are short
 * ones and the run does not end with one worker busy on a slow file while the others sit idle.
 *
 * vitest orders by the durations it recorded in node_modules/.vite, and by file size where it has
 * none: in a fresh clone (CI runs `npm ci`, which starts with an empty node_modules) that started
 * small but slow files, the ones that spawn servers, late in the run. So a file's duration comes from
 * vitest's own record when there is one (the last run on this machine), and otherwise from
 * test/support/file-durations.json, committed: `{ files: [{ file, ms }] }`, where `ms` is the
 * file's tests and hooks, the figure vitest records for a file (its import is left out: it grows
 * most when the machine is loaded). To refresh it, a whole run with the file-timing reporter (a run
 * of some files writes only those):
 *
 *   FILE_TIMING_JSON=/tmp/file-timing.json npx vitest run \
 *     --reporter=default --reporter=./test/support/file-timing-reporter.ts
 *
 * then each file's `runMs` from it, or the figure already committed where that is lower (a file
 * slowed by a loaded machine or failing tests in one run keeps its place; a new file gets this
 * run's). The order is all it is used for: only the relative sizes matter. A file in neither starts
 * first, as vitest does with files it does not know; a file that failed last time starts before the
 * rest.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

const DURATIONS_FILE = new URL('./file-durations.json', import.meta.url)

/** The committed durations (ms) by path from the repository root; empty if the file is missing or unreadable. */
function committedDurations(): Map<string, number> {
  try {
    const { files } = JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as { files: { file: string; ms: number }[] }
    return new Map(files.map((f) => [f.file, f.ms]))
  } catch {
    return new Map()
  }
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const committed = committedDurations()
    const root = this.ctx.config.root
    const known = (spec: TestSpecification) => {
      const path = relative(root, spec.moduleId)
      const recorded = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`)
      return { failed: recorded?.failed === true, duration: recorded?.duration ?? committed.get(path) }
    }
    const facts = new Map(files.map((spec) => [spec, known(spec)]))
    return [...files].sort((a, b) => {
      const groupOrder = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder
      if (groupOrder !== 0) return groupOrder
      const fa = facts.get(a)!
      const fb = facts.get(b)!
      if (fa.failed !== fb.failed) return fa.failed ? -1 : 1
      if (fa.duration === undefined || fb.duration === undefined) return fa.duration === undefined ? (fb.duration === undefined ? 0 : -1) : 1
      return fb.duration - fa.duration
    })
  }
}
