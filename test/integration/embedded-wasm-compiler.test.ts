import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { logWasmCompilerChoice, useBaselineWasmCompiler, v8OptionName, wasmCompilerChoice } from '../../src/db/pglite-server.ts'
import type { Logger } from '../../src/ports/logger.ts'

/**
 * PGlite's WebAssembly is compiled by V8's baseline compiler only (src/db/pglite-server.ts,
 * useBaselineWasmCompiler): its optimising compiler's scratch memory is what kept a restarted
 * embedded server above 200 MB. Seen from outside, in a process of its own that opens a DATA_DIR as
 * `serve` does, through V8's own trace of every function it compiles and with which compiler.
 */
const openDatabaseModule = new URL('../../dist/src/db/open-database.js', import.meta.url).href
const root = fileURLToPath(new URL('../../', import.meta.url))

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-wasm-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

/** Open DATA_DIR in a new node process with these node options, run a query, close; V8's compile trace. */
function openInChild(nodeOptions: string[]): Promise<{ code: number | null; trace: string }> {
  const script = `
    const { openDatabase } = await import(${JSON.stringify(openDatabaseModule)})
    const logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return logger } }
    const db = await openDatabase({ dataDir: process.env.DATA_DIR, embeddedMode: 'exclusive', logger })
    await db.knex.raw('select count(*) from knex_migrations')
    await db.close()`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, '--trace-wasm-compilation-times', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let trace = ''
    child.stdout.on('data', (d: Buffer) => (trace += d.toString()))
    child.stderr.on('data', (d: Buffer) => (trace += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, trace }))
  })
}

const count = (trace: string, compiler: string) => trace.split('\n').filter((line) => line.includes(`using ${compiler}`)).length

test('an embedded database compiles PGlite with the baseline compiler alone: no optimising recompiles', async () => {
  const { code, trace } = await openInChild([])
  expect(code, trace.slice(-2000)).toBe(0)
  // The trace works (Postgres's functions were compiled and traced) and none of them by TurboFan.
  expect(count(trace, 'Liftoff')).toBeGreaterThan(100)
  expect(count(trace, 'TurboFan')).toBe(0)
})

test("a WebAssembly compiler option given to node is the operator's and is left in charge", async () => {
  const { code, trace } = await openInChild(['--no-liftoff-only'])
  expect(code, trace.slice(-2000)).toBe(0)
  // V8's default: the start's hot functions are recompiled by TurboFan.
  expect(count(trace, 'TurboFan')).toBeGreaterThan(0)
})

test('V8 option names are read as V8 reads them: one or two dashes, `_` as `-`, a `no` prefix with or without a separator', () => {
  for (const arg of ['--liftoff-only', '--liftoff_only', '-liftoff-only', '--no-liftoff-only', '--no_liftoff_only', '--noliftoff-only', '--noliftoff_only=true']) {
    expect(v8OptionName(arg), arg).toBe('liftoff-only')
  }
  expect(v8OptionName('--nowasm_tier_up')).toBe('wasm-tier-up')
  expect(v8OptionName('--trace-wasm-compilation-times')).toBe('trace-wasm-compilation-times')
  expect(v8OptionName('--')).toBeNull()
  expect(v8OptionName('select 1')).toBeNull()
})

test("any spelling of a liftoff or wasm option given to node leaves V8's default; other options do not", () => {
  for (const arg of ['--no-liftoff-only', '--no_liftoff', '--noliftoff', '-liftoff-only', '--nowasm-tier-up', '--wasm_lazy_compilation', '--no-wasm-dynamic-tiering']) {
    const choice = wasmCompilerChoice(['--enable-source-maps', arg], 'x64')
    expect(choice.liftoffOnly, arg).toBe(false)
    expect(choice.reason).toContain(arg)
  }
  for (const argv of [[], ['--enable-source-maps', '--trace-wasm-compilation-times', '--max-old-space-size=256']]) {
    expect(wasmCompilerChoice(argv, 'x64').liftoffOnly).toBe(true)
    expect(wasmCompilerChoice(argv, 'arm64').liftoffOnly).toBe(true)
  }
})

test('Liftoff-only on x64 and arm64 alone: elsewhere V8 keeps its default, since under the flag a function Liftoff cannot compile stops the process', () => {
  for (const arch of ['arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64']) {
    const choice = wasmCompilerChoice([], arch)
    expect(choice.liftoffOnly, arch).toBe(false)
    expect(choice.reason).toContain(arch)
  }
})

test('the mode in force and why is logged once per process, at info', () => {
  const infos: unknown[][] = []
  const logger: Logger = { info: (...a) => void infos.push(a), warn() {}, error() {}, debug() {}, child: () => logger }
  const choice = logWasmCompilerChoice(logger)
  logWasmCompilerChoice(logger)
  expect(choice).toBe(useBaselineWasmCompiler())
  expect(infos).toEqual([[{ wasmCompiler: choice.liftoffOnly ? 'liftoff-only' : 'v8-default', reason: choice.reason }, expect.stringContaining('WebAssembly')]])
})
