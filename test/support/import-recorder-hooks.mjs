// The resolve hook of import-recorder.mjs (runs on the module loader's thread).
import { appendFileSync } from 'node:fs'

let file = null

export function initialize(data) {
  file = data.file
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context)
  if (file) appendFileSync(file, `${result.url}\n`)
  return result
}
