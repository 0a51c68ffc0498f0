#!/usr/bin/env node
// `npm run build`: the TypeScript that `inviteops` and `npm start` run, as JavaScript in dist/
// (docs/operations.md, "Build").
//
// Each file is transpiled on its own (ts.transpileModule), not through a type-checking program:
// the type check is `npm run typecheck` (tsconfig.json), and doing it twice made every `npm test`
// slower for nothing. This is safe because tsconfig.json has isolatedModules and
// verbatimModuleSyntax: no file's JavaScript depends on another file's types. tsconfig.build.json
// names the files and the emit options (`tsc -p tsconfig.build.json` gives the same JavaScript).
//
// Only files whose source is newer than their output are transpiled again, outputs whose source is
// gone are deleted, the files the code reads beside itself at run time are copied, and the last
// step writes the prepared PGlite template once that step exists in the build. When nothing
// changed since the last build (dist/.build-files.json lists what it built), TypeScript is not
// even loaded.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const started = performance.now()

/** Files read at run time through `new URL(…, import.meta.url)`: they must sit beside the compiled module. */
const ASSETS = ['adapters/web/invitee.css']

/** Not compiled: the PGlite template step, when it exists, runs after everything else is in place. */
const TEMPLATE_STEP = 'dist/src/db/build-template.js'

/** What the last build compiled (paths relative to the repository), for the next build's quick check. */
const MANIFEST = join(root, 'dist', '.build-files.json')

// A change of the build's own settings makes every output stale.
const settingsChanged = Math.max(...[join(root, 'tsconfig.build.json'), join(root, 'tsconfig.json'), fileURLToPath(import.meta.url)].map(mtime))

if (upToDate()) {
  console.log(`build: dist/ is up to date (${Math.round(performance.now() - started)} ms)`)
} else {
  await compile()
}

// The template only saves a first start time and memory: without it the app runs initdb. So a
// failure here (out of memory, a read-only folder) is a warning, not a failed build or install.
if (existsSync(join(root, TEMPLATE_STEP))) {
  const step = spawnSync(process.execPath, ['--enable-source-maps', join(root, TEMPLATE_STEP)], { cwd: root, stdio: 'inherit' })
  if (step.status !== 0) {
    console.warn(`build: warning: the PGlite template step ${TEMPLATE_STEP} failed (${step.error?.message ?? `exit ${step.status ?? step.signal}`}); the build is usable, and a first start on embedded PGlite will create its database with initdb instead (slower, more memory)`)
  }
}

/**
 * Whether the last build's list still holds: the same sources under the same folders, each output
 * newer than its source and than the build's settings, and the assets copied since they changed.
 */
function upToDate() {
  let manifest
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'))
  } catch {
    return false
  }
  const { outDir, roots, sources } = manifest
  if (typeof outDir !== 'string' || !Array.isArray(roots) || !Array.isArray(sources)) return false
  const found = roots.flatMap((r) => [...walk(join(root, r))].filter(isSource).map((f) => relative(root, f)))
  if (found.length !== sources.length || found.some((f) => !sources.includes(f))) return false
  for (const source of sources) {
    const js = join(root, outDir, outputOf(source))
    const built = mtime(js)
    if (built < mtime(join(root, source)) || built < settingsChanged || !existsSync(`${js}.map`)) return false
  }
  return ASSETS.every((a) => mtime(join(root, outDir, a)) >= mtime(join(root, a)))
}

async function compile() {
  const ts = await import('typescript').then(
    (m) => m.default,
    () => withoutTypeScript(),
  )
  const fail = (diagnostics) => {
    console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }))
    process.exit(1)
  }
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail([d]),
  })
  if (!config) process.exit(1)
  if (config.errors.length > 0) fail(config.errors)
  const outDir = config.options.outDir
  const rootDir = config.options.rootDir
  // Emit as ES modules (package.json "type": "module"). transpileModule sees one file without its
  // package.json, and under NodeNext would take it for CommonJS; resolution does not matter here.
  const options = { ...config.options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, noEmit: false, incremental: false }

  const sources = config.fileNames.filter(isSource)
  const expected = new Set()
  const problems = []
  let compiled = 0
  for (const source of sources) {
    const js = join(outDir, outputOf(relative(rootDir, source)))
    expected.add(js)
    expected.add(`${js}.map`)
    const built = mtime(js)
    if (built >= mtime(source) && built >= settingsChanged && existsSync(`${js}.map`)) continue
    const out = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions: options, fileName: source, reportDiagnostics: true })
    if (out.diagnostics && out.diagnostics.length > 0) {
      problems.push(...out.diagnostics)
      continue
    }
    mkdirSync(dirname(js), { recursive: true })
    writeAtomically(`${js}.map`, out.sourceMapText)
    writeAtomically(js, out.outputText)
    compiled++
  }
  if (problems.length > 0) fail(problems)

  for (const asset of ASSETS) {
    const to = join(outDir, asset)
    expected.add(to)
    if (mtime(to) >= mtime(join(root, asset))) continue
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(join(root, asset), to)
  }

  // A module deleted or renamed in the sources must not stay importable from dist/.
  const roots = [...new Set(sources.map((s) => relative(rootDir, s).split(sep)[0]))]
  let removed = 0
  for (const top of roots) {
    for (const file of walk(join(outDir, top))) {
      if (!expected.has(file) && /\.(m|c)?js(\.map)?$|\.css$/.test(file)) {
        rmSync(file)
        removed++
      }
    }
  }

  writeAtomically(MANIFEST, JSON.stringify({ outDir: relative(root, outDir), roots: roots.map((r) => relative(root, join(rootDir, r))), sources: sources.map((s) => relative(root, s)) }))
  console.log(`build: ${compiled} of ${sources.length} files compiled into ${relative(root, outDir)}/ in ${Math.round(performance.now() - started)} ms${removed ? `, ${removed} stale removed` : ''}`)
}

/**
 * TypeScript is a development dependency. An install without them (`npm ci --omit=dev`) still runs
 * `prepare`, and must not fail for it: it keeps whatever dist/ holds and says what that means.
 * Asked for by hand (`npm run build`), a build that cannot happen is an error.
 */
function withoutTypeScript() {
  const omitted = (process.env.npm_config_omit ?? '').split(/[\s,]+/).includes('dev')
  const installing = process.env.npm_lifecycle_event === 'prepare'
  const built = existsSync(join(root, 'dist', 'adapters', 'cli', 'main.js'))
  const how = 'install with the development dependencies and build first (npm ci, then npm run build), then remove them (npm prune --omit=dev); npm ci --omit=dev alone needs a dist/ built beforehand'
  if (!omitted && !installing) {
    console.error(`build: TypeScript is not installed: the build needs the development dependencies: ${how}.`)
    process.exit(1)
  }
  if (built) {
    console.warn('build: notice: TypeScript is not installed (development dependencies omitted), so dist/ was not rebuilt: inviteops runs the build already there, which may be older than the sources.')
  } else {
    console.warn(`build: notice: TypeScript is not installed (development dependencies omitted) and there is no build in dist/, so inviteops cannot run yet: ${how}.`)
  }
  process.exit(0)
}

function isSource(file) {
  return /\.(m|c)?ts$/.test(file) && !/\.d\.(m|c)?ts$/.test(file)
}

function outputOf(source) {
  return source.replace(/\.(m|c)?ts$/, '.$1js')
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return -1
  }
}

/** A build stopped halfway leaves no truncated file with a fresh mtime (it would count as built). */
function writeAtomically(path, text) {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, path)
}

function* walk(dir) {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) yield* walk(path)
    else yield path
  }
}
