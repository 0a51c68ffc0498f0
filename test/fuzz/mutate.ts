/**
 * Mutations of valid fixtures, described as data (so fast-check prints and shrinks them) and
 * applied when the input is built: drop a field, give it the wrong type, a huge or hostile
 * string, nested junk, an id from the other account or no id at all.
 *
 * A mutation picks its target by `at`, modulo the number of places in the value at that moment,
 * so the same recipe always hits the same field of the same fixture.
 */
import fc from 'fast-check'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** An id a mutation or a generated input carries; resolved against the world when sent. */
export type IdRef =
  | { kind: 'own'; index: number }
  | { kind: 'other'; index: number }
  | { kind: 'uuid'; uuid: string }
  | { kind: 'junk'; text: string }

export type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'replace'; at: number; value: Json }
  | { op: 'huge'; at: number; unit: string; length: number }
  | { op: 'nest'; at: number; depth: number; array: boolean }
  | { op: 'id'; at: number; id: IdRef }
  | { op: 'add'; at: number; key: string; value: Json }

/** Strings that have broken parsers, renderers and databases before. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\t\n\r',
  '\u202e\u0644\u0627',
  '\ufeff',
  '\u200b',
  '\ud800',
  '\udfff',
  'e\u0301\u0301\u0301',
  '😀👩‍👩‍👧‍👦',
  '&amp;',
  '&lt;script&gt;',
  '<script>alert(1)</script>',
  '<at>InviteOps</at>',
  '<mailto:bob@acme.test|bob@acme.test>',
  '<!channel>',
  '"',
  "'",
  '`',
  '\\',
  '%',
  '%00',
  '%E0%A4%A',
  '../../etc/passwd',
  '${process.env}',
  '{{7*7}}',
  "'; DROP TABLE users; --",
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  'toString',
  '--group',
  '—name',
  'bob@acme.test',
  'admin@acme.test',
  'BOB@ACME.TEST',
  'bob@acme.test,carol@acme.test',
  'a'.repeat(101),
  '1e309',
  '-0',
  '9007199254740993',
] as const

/** Short strings of every kind: hostile constants, unicode, raw code points, ascii. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
)

/**
 * As JSON.parse would have made it: fast-check may build objects without a prototype, which no
 * request body can carry (and which the suite's own string building cannot print).
 */
export const asParsed = (v: unknown): Json => JSON.parse(JSON.stringify(v) ?? 'null') as Json

/** JSON of any shape, keys included (`__proto__` and friends among them). */
export const junkJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(asParsed) },
  { weight: 1, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'value', 'id'), fc.jsonValue({ maxDepth: 2 })).map(asParsed) },
)

/** Units a huge string is made of (its length is the shrinkable part). */
const HUGE_UNITS = ['a', 'é', '😀', '%', '&', ' ', '\u0000', '<', '"', '\\', 'x@y.z ', '--group x '] as const

export function idRefArb(opts: { own: boolean; other: boolean }): fc.Arbitrary<IdRef> {
  const choices: fc.Arbitrary<IdRef>[] = [
    fc.uuid().map((uuid): IdRef => ({ kind: 'uuid', uuid })),
    nastyString.map((text): IdRef => ({ kind: 'junk', text })),
    fc.stringMatching(/^[0-9a-fA-F-]{30,40}$/).map((text): IdRef => ({ kind: 'junk', text })),
  ]
  if (opts.own) choices.push(fc.nat(20).map((index): IdRef => ({ kind: 'own', index })))
  if (opts.other) choices.push(fc.nat(20).map((index): IdRef => ({ kind: 'other', index })))
  return fc.oneof(...choices)
}

export function mutationArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<Mutation> {
  const at = fc.nat(10_000)
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('drop' as const), at }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('replace' as const), at, value: junkJson }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('huge' as const), at, unit: fc.constantFrom(...HUGE_UNITS), length: fc.integer({ min: 1_000, max: 400_000 }) }) },
    // Deep, but not past what this process's own JSON.stringify can write (about 4,000 levels).
    { weight: 1, arbitrary: fc.record({ op: fc.constant('nest' as const), at, depth: fc.integer({ min: 2, max: 3_000 }), array: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('id' as const), at, id: ids }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), at, key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.string({ maxLength: 10 })), value: junkJson }) },
  )
}

/** No mutation at all (for inputs whose refusal must not depend on what a mutation would do). */
export const noMutations: fc.Arbitrary<Mutation[]> = fc.constant<Mutation[]>([])

/** True about once in `n` draws. */
export function rarely(n: number): fc.Arbitrary<boolean> {
  return fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: n - 1, arbitrary: fc.constant(false) })
}

/** No mutation two times in five (those inputs stay valid and reach deeper code), else one to three. */
export function mutationsArb(ids: fc.Arbitrary<IdRef>): fc.Arbitrary<Mutation[]> {
  return fc.oneof({ weight: 2, arbitrary: noMutations }, { weight: 3, arbitrary: fc.array(mutationArb(ids), { minLength: 1, maxLength: 3 }) })
}

type Place = { parent: Json[] | { [key: string]: Json }; key: string | number }

/** Every (container, key) in a value, parents before children, in a stable order. */
function places(value: Json): Place[] {
  const out: Place[] = []
  const walk = (v: Json, depth: number) => {
    if (depth > 50 || v === null || typeof v !== 'object') return
    if (Array.isArray(v)) {
      v.forEach((child, i) => {
        out.push({ parent: v, key: i })
        walk(child, depth + 1)
      })
    } else {
      for (const key of Object.keys(v)) {
        out.push({ parent: v, key })
        walk(v[key]!, depth + 1)
      }
    }
  }
  walk(value, 0)
  return out
}

function containers(value: Json): (Json[] | { [key: string]: Json })[] {
  const out: (Json[] | { [key: string]: Json })[] = []
  const walk = (v: Json, depth: number) => {
    if (depth > 50 || v === null || typeof v !== 'object') return
    out.push(v)
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child, depth + 1)
  }
  walk(value, 0)
  return out
}

function nested(depth: number, array: boolean): Json {
  let v: Json = 'bottom'
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v }
  return v
}

/** Applies mutations to a copy of `value`; `resolveId` turns an IdRef into the string it names. */
export function applyMutations(value: Json, mutations: readonly Mutation[], resolveId: (id: IdRef) => string): Json {
  const root = structuredClone(value)
  for (const m of mutations) {
    if (m.op === 'add') {
      const all = containers(root)
      const target = all[m.at % Math.max(all.length, 1)]
      if (!target) continue
      // A copy: the recipe's own value must never be changed by a later mutation (fast-check reuses it).
      const value = structuredClone(m.value)
      if (Array.isArray(target)) target.push(value)
      // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it, not a prototype.
      else Object.defineProperty(target, m.key, { value, enumerable: true, writable: true, configurable: true })
      continue
    }
    const all = places(root)
    const place = all[m.at % Math.max(all.length, 1)]
    if (!place) continue
    const { parent, key } = place
    const set = (v: Json) => {
      if (Array.isArray(parent)) parent[key as number] = v
      else Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true })
    }
    switch (m.op) {
      case 'drop':
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete parent[key as string]
        break
      case 'replace':
        set(structuredClone(m.value))
        break
      case 'huge':
        set(m.unit.repeat(Math.ceil(m.length / m.unit.length)))
        break
      case 'nest':
        set(nested(m.depth, m.array))
        break
      case 'id':
        set(resolveId(m.id))
        break
    }
  }
  return root
}

/** encodeURIComponent, for strings with lone surrogates too (they travel as U+FFFD). */
export function encodePathSegment(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
}

/** A short, printable account of a request body for the report. */
export function excerpt(text: string, max = 4_000): string {
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text)
  return text.length > max ? `${shown} (${text.length} chars)` : shown
}
