import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { z } from 'zod'

/**
 * What every part of the CLI shares: its two failures, its output, and reading the arguments. Kept
 * to node:util so that `inviteops --help` and a usage error load nothing else (docs/operations.md).
 */

/** Wrong arguments: exit 2 with the command's usage line. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message)
  }
}

/** Refused or failed, with a message for the operator: exit 1. */
export class CliFailure extends Error {}

export interface Io {
  out(text: string): void
  err(text: string): void
}

type Options = NonNullable<ParseArgsConfig['options']>

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
  positionals: string[]
}

export function parse(argv: string[], usage: string, options: Options, allowPositionals = false): ParsedArgs {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0]! : String(err), usage)
  }
}

export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`, usage)
  return v
}

export function check<T>(schema: z.ZodType<T>, value: string, flag: string, usage: string): T {
  const r = schema.safeParse(value)
  if (!r.success) throw new UsageError(`--${flag}: ${r.error.issues[0]?.message ?? 'invalid'}`, usage)
  return r.data
}

/**
 * The shell already split the command text; put it back together so the grammar's own quoting
 * survives (`--name "Bob Smith"` arrives as one argument `Bob Smith`).
 */
export function joinArgs(args: string[]): string {
  if (args.length === 1) return args[0]!
  return args.map((a) => (/\s/.test(a) ? (a.includes('"') ? `'${a}'` : `"${a}"`) : a)).join(' ')
}
