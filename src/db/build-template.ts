/**
 * Writes the prepared PGlite template next to the build (see template.ts): run at the end of the
 * build, or by hand with an output path (`node dist/src/db/build-template.js <file>`).
 */
import { DEFAULT_TEMPLATE_FILE, sidecarPath, writeTemplate } from './template.ts'

const file = process.argv[2] ?? DEFAULT_TEMPLATE_FILE
const started = Date.now()
const info = await writeTemplate(file)
process.stdout.write(
  `PGlite template: ${file} (${(info.bytes / 1e6).toFixed(1)} MB, PGlite ${info.pgliteVersion}, ` +
    `${info.migrations.length} migrations, ${Date.now() - started} ms; description in ${sidecarPath(file)})\n`,
)
