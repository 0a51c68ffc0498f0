import { pino, stdSerializers } from 'pino'
import { redactInvitationUrl } from '../invitations/links.ts'
import type { Logger } from '../ports/logger.ts'

/**
 * Structured JSON logs (pino). Logs never contain a link secret or a token (docs/security.md):
 * known secret-bearing fields are censored, and every string that reaches a line is scrubbed
 * first: invitation URLs and paths, however spelled, lose their token, and any token-shaped run
 * (43 base64url characters) is cut wherever it stands.
 *
 * The scrub runs on string values before pino serializes them (the message, every field at any
 * depth and its name, child bindings, errors' messages and stacks), so whatever field name a
 * caller or a library (Bolt) uses is covered, and each line is valid JSON by construction. It
 * does not run on the finished line: there a string's JSON escapes (`\n`, `\u0001`) would be read
 * as path text, which both corrupts the line and hides a token behind the escape's letter.
 */
export function createLogger(opts: { level: string; destination?: NodeJS.WritableStream }): Logger {
  const logger = pino(
    {
      level: opts.level,
      base: { service: 'inviteops' },
      redact: {
        paths: ['token', '*.token', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'headers.cookie', 'secret', '*.secret', 'url', '*.url', 'link', '*.link'],
        censor: '[redacted]',
      },
      formatters: {
        log: (object) => scrubObject(object),
      },
      // pino's own `err` serializer would serialize the scrubbed copy again, as an error of type
      // `Object`. The message is serialized apart from the fields, and may be an error's message
      // taken after the formatter has run: it is scrubbed here.
      serializers: { err: scrubLogValue, msg: scrubLogValue },
    },
    opts.destination ?? process.stdout,
  )
  // Child bindings are serialized once, when the child is made, and pino gives a child's
  // bindings no formatter of ours. Every child inherits from this instance (grandchildren too),
  // so this one method scrubs them all.
  const pinoChild = logger.child
  logger.child = function (this: typeof logger, bindings: Record<string, unknown>, options?: Parameters<typeof pinoChild>[1]) {
    return pinoChild.call(this, scrubObject(bindings), options)
  } as typeof pinoChild
  return logger
}

/** Nesting deeper than this is written as a placeholder: never unscrubbed. */
const MAX_DEPTH = 20

/**
 * `value` as JSON would see it, with every string in it (names of fields too) scrubbed by
 * `redactInvitationUrl`. Errors become pino's usual `{ type, message, stack, … }`; objects with
 * `toJSON` (a `URL`, say) are scrubbed in the form they serialize to. Never mutates `value`.
 */
function scrubLogValue(value: unknown): unknown {
  return scrub(value, 0, new Set())
}

function scrubObject(object: Record<string, unknown>): Record<string, unknown> {
  const scrubbed = scrubLogValue(object)
  return typeof scrubbed === 'object' && scrubbed !== null ? (scrubbed as Record<string, unknown>) : { value: scrubbed }
}

/** `ancestors`: the objects on the path to `value`, to cut cycles as JSON would have to. */
function scrub(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return redactInvitationUrl(value)
  if (typeof value !== 'object' || value === null) return value
  if (ancestors.has(value)) return '[Circular]'
  if (depth >= MAX_DEPTH) return '[Object]'
  ancestors.add(value)
  try {
    if (value instanceof Error) return fields(stdSerializers.err(value), depth, ancestors)
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return scrub(toJSON.call(value) as unknown, depth + 1, ancestors)
    if (Array.isArray(value)) return value.map((item: unknown) => scrub(item, depth + 1, ancestors))
    return fields(value, depth, ancestors)
  } finally {
    ancestors.delete(value)
  }
}

/** The own enumerable fields of `value` (what JSON writes), names and values scrubbed. */
function fields(value: object, depth: number, ancestors: Set<object>): Record<string, unknown> {
  // fromEntries defines each field, so even one named `__proto__` stays a field.
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [redactInvitationUrl(key), scrub(item, depth + 1, ancestors)]))
}
