import type { Logger } from '../../../src/ports/logger.ts'

export interface CapturedLine {
  level: 'info' | 'warn' | 'error' | 'debug'
  msg: string
  fields: Record<string, unknown>
}

/** Waiters of `until`, per shared list of lines (a logger and its children share one). */
const waiters = new WeakMap<CapturedLine[], Set<() => void>>()

/**
 * A Logger that keeps every line, so a test can assert what an operator would see, and can wait
 * for a line (`until`) instead of polling for what the line reports.
 */
export function captureLogger(
  lines: CapturedLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: CapturedLine[]; until(done: (lines: readonly CapturedLine[]) => boolean): Promise<void> } {
  if (!waiters.has(lines)) waiters.set(lines, new Set())
  const pending = waiters.get(lines)!
  const at =
    (level: CapturedLine['level']) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, msg: obj, fields: { ...bindings } })
      else lines.push({ level, msg: msg ?? '', fields: { ...bindings, ...(obj as Record<string, unknown>) } })
      for (const check of [...pending]) check()
    }
  return {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
    /** Resolves once `done(lines)` holds, checked now and after every line logged (bounded by the test's timeout). */
    until(done) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (!done(lines)) return
          pending.delete(check)
          resolve()
        }
        pending.add(check)
        check()
      })
    },
  }
}
