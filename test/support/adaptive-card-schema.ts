/**
 * Validates Adaptive Cards against Microsoft's own JSON Schema (test/fixtures/adaptive-cards/,
 * copied from microsoft/AdaptiveCards), with ajv: a card Teams would refuse or render wrongly (a
 * misspelt property, an action in the wrong place, a wrong enum value) fails a test here instead
 * of in a customer's channel.
 *
 * The schema is draft-06 and names its id with the older `id` keyword, which ajv 8 does not read:
 * a copy with `$id` instead is compiled. Its own annotations (`version`, `features`…) are not
 * keywords, hence `strict: false`; `verbose` lets an error name the definition it came from.
 *
 * One Teams extension is outside the schema: `msteams` on the card (`{ width: 'Full' }`, a
 * full-width card, https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#full-width-adaptive-card).
 * It is checked on its own and removed before the card meets the schema, which forbids unknown
 * properties at the top.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { FormatsPlugin } from 'ajv-formats'

const SCHEMA_FILE = new URL('../fixtures/adaptive-cards/adaptive-card-1.5.0.json', import.meta.url)

// ajv-formats and ajv's meta-schemas are CommonJS: loaded the CommonJS way, their shapes are plain.
const require = createRequire(import.meta.url)
const addFormats = require('ajv-formats') as FormatsPlugin
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>

let compiled: ValidateFunction | null = null

function validator(): ValidateFunction {
  if (compiled) return compiled
  const raw = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>
  const { id, ...rest } = raw
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true })
  addFormats(ajv)
  ajv.addMetaSchema(draft06)
  compiled = ajv.compile({ ...rest, $id: String(id) })
  return compiled
}

/** What is wrong with a card, one line per problem; empty when it is valid. */
export function adaptiveCardProblems(card: unknown): string[] {
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return ['not an object']
  const { msteams, ...standard } = card as Record<string, unknown>
  const problems: string[] = []
  if (msteams !== undefined && JSON.stringify(msteams) !== JSON.stringify({ width: 'Full' })) problems.push(`msteams: ${JSON.stringify(msteams)} is not { width: 'Full' }`)
  const validate = validator()
  if (!validate(standard)) problems.push(...relevant(standard, validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`))
  return problems
}

/**
 * The schema lists every element and action type in `anyOf`s, so one wrong property makes ajv
 * report a failure against each alternative. An error about the definition an element claims to
 * be (its `type`) is the useful one; the others are dropped when such an error exists.
 */
function relevant(card: unknown, errors: ErrorObject[]): ErrorObject[] {
  const claimed = errors.filter((e) => {
    const type = typeAt(card, e.instancePath)
    return type !== null && typesOf(e.parentSchema).includes(type)
  })
  return (claimed.length > 0 ? claimed : errors).slice(0, 10)
}

/** The `type` values a definition stands for (its `properties.type.enum`), read from ajv's verbose errors. */
function typesOf(schema: unknown): unknown[] {
  const properties = typeof schema === 'object' && schema !== null ? (schema as { properties?: { type?: { enum?: unknown } } }).properties : undefined
  const values = properties?.type?.enum
  return Array.isArray(values) ? values : []
}

/** The `type` of the object at a JSON pointer of `root`, if it has one. */
function typeAt(root: unknown, pointer: string): string | null {
  let at: unknown = root
  for (const part of pointer.split('/').slice(1)) {
    if (typeof at !== 'object' || at === null) return null
    at = (at as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  }
  const type = typeof at === 'object' && at !== null ? (at as Record<string, unknown>).type : null
  return typeof type === 'string' ? type : null
}

/** Throws, naming every problem, unless `card` is a valid Adaptive Card (Teams' `msteams` extension allowed). */
export function assertValidAdaptiveCard(card: unknown): void {
  const problems = adaptiveCardProblems(card)
  if (problems.length > 0) throw new Error(`invalid Adaptive Card:\n  ${problems.join('\n  ')}\n${JSON.stringify(card).slice(0, 2000)}`)
}
