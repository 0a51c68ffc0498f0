/**
 * Writes the prepared PGlite template next to the build (see template.ts): run at the end of the
 * build, or by hand (`node dist/src/db/build-template.js [file] [--force]`). A template made from
 * the same migrations, template code and PGlite version is kept, so a build that changed none of
 * them costs a hash, not an initdb.
 */
import { DEFAULT_TEMPLATE_FILE, readTemplate, sidecarPath, sourceKey, writeTemplate } from './template.ts'

const args = process.argv.slice(2)
const force = args.includes('--force')
const file = args.find((a) => !a.startsWith('--')) ?? DEFAULT_TEMPLATE_FILE
const started = Date.now()
const key = await sourceKey()
const existing = force ? null : await readTemplate(file)
if (existing?.ok && existing.info.sourceKey === key) {
  process.stdout.write(`PGlite template: ${file} is up to date (${Date.now() - started} ms)\n`)
} else {
  const info = await writeTemplate(file, { sourceKey: key })
  process.stdout.write(
    `PGlite template: ${file} (${(info.bytes / 1e6).toFixed(1)} MB, PGlite ${info.pgliteVersion}, ` +
      `${info.migrations.length} migrations, ${Date.now() - started} ms; description in ${sidecarPath(file)})\n`,
  )
}
