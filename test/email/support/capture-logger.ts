import type { Logger } from '../../../src/ports/logger.ts'

export interface CapturedLine {
  level: 'info' | 'warn' | 'error' | 'debug'
  msg: string
  fields: Record<string, unknown>
}

/** A Logger that keeps every line, so a test can assert what an operator would see. */
export function captureLogger(lines: CapturedLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: CapturedLine[] } {
  const at =
    (level: CapturedLine['level']) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, msg: obj, fields: { ...bindings } })
      else lines.push({ level, msg: msg ?? '', fields: { ...bindings, ...(obj as Record<string, unknown>) } })
    }
  return {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  }
}
