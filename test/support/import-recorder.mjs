// Preloaded with `node --import ./test/support/import-recorder.mjs …`: appends every module the
// process loads, one URL a line, to the file named by IMPORT_RECORDER_FILE. ES modules are seen by
// a resolve hook (it runs on the loader's own thread, hence the file, not a message); CommonJS
// modules that packages require() among themselves by the require cache, read when the process exits.
import { appendFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import { pathToFileURL } from 'node:url'
import { isMainThread } from 'node:worker_threads'

const file = process.env.IMPORT_RECORDER_FILE

if (file && isMainThread) {
  register('./import-recorder-hooks.mjs', import.meta.url, { data: { file } })
  const require = createRequire(import.meta.url)
  process.on('exit', () => {
    const required = Object.keys(require.cache).map((p) => (p.startsWith('/') ? pathToFileURL(p).href : p))
    appendFileSync(file, required.map((u) => `${u}\n`).join(''))
  })
}
