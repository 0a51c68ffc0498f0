/**
 * The processes `npm run bench` starts (servers, the Slack stand-in, autocannon, pgbench…): each is
 * registered here and killed, by its own pid, when the run ends, however it ends (a failure, the
 * watchdog, Ctrl-C). Also what is read of them from /proc: CPU time and memory.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readFileSync } from 'node:fs'

const started = new Set<ChildProcess>()

/** Kill every process this run started and that is still running (SIGKILL: the run is over). */
export function killAll(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  started.clear()
}

process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** Clean-ups (databases to drop) the watchdog still runs, bounded, before it ends the run. */
const cleanups = new Set<() => Promise<unknown>>()

/** Register a clean-up for an early end; call the returned function once it is done the normal way. */
export function onEarlyEnd(cleanup: () => Promise<unknown>): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

/** Kill every process, then run the pending clean-ups, each within `ms`. */
export async function endEarly(ms: number): Promise<void> {
  killAll()
  await Promise.all([...cleanups].map((c) => Promise.race([c().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms))])))
}

export interface Started {
  child: ChildProcess
  pid: number
  /** Everything written so far (bounded: the last 64 kB of each stream). */
  output(): { stdout: string; stderr: string }
  /** Resolves with the exit code (or the signal) once it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it ended. */
  stop(graceMs?: number): Promise<void>
}

const KEEP = 64 * 1024

/** Start a process, registered for the final clean-up. */
export function start(command: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  started.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => {
    stdout = (stdout + c.toString('utf8')).slice(-KEEP)
  })
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-KEEP)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }))
    child.once('exit', (code, signal) => {
      started.delete(child)
      resolve({ code, signal })
    })
  })
  return {
    child,
    pid: child.pid ?? -1,
    output: () => ({ stdout, stderr }),
    exited,
    stop: async (graceMs = 5000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Run a process to its end (killed past `timeoutMs`) and return what it printed. */
export async function runToEnd(command: string, args: string[], timeoutMs: number, opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const p = start(command, args, opts)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void p.stop(2000)
  }, timeoutMs)
  const { code } = await p.exited
  clearTimeout(timer)
  return { code, ...p.output(), timedOut }
}

/** Wait until the process prints a line matching `pattern` (its first group), or fail past `timeoutMs`. */
export function waitForLine(p: Started, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const { stdout, stderr } = p.output()
      const m = pattern.exec(stdout) ?? pattern.exec(stderr)
      if (m) {
        cleanup()
        resolve(m[1] ?? m[0])
      }
    }
    const timer = setTimeout(() => {
      cleanup()
      const { stdout, stderr } = p.output()
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; last output: ${`${stderr}\n${stdout}`.trim().slice(-600)}`))
    }, timeoutMs)
    const onExit = () => {
      cleanup()
      const { stdout, stderr } = p.output()
      reject(new Error(`exited before ${pattern}; last output: ${`${stderr}\n${stdout}`.trim().slice(-600)}`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      p.child.stdout?.off('data', check)
      p.child.stderr?.off('data', check)
      p.child.off('exit', onExit)
    }
    p.child.stdout?.on('data', check)
    p.child.stderr?.on('data', check)
    p.child.once('exit', onExit)
    check()
  })
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat; NaN if unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
    return ticks / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}

/** USER_HZ: 100 on every Linux Node supports. */
const CLOCK_TICKS = 100

/** Resident memory in MB: now (VmRSS) and the peak so far (VmHWM), from /proc/<pid>/status. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN }
  }
}

/** GET/POST `url` with a deadline; the parsed JSON body, or null on any failure. */
export async function fetchJson<T>(url: string, opts: { method?: string; timeoutMs?: number } = {}): Promise<T | null> {
  try {
    const res = await fetch(url, { method: opts.method ?? 'GET', signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) })
    if (!res.ok) return null
    return (await res.json()) as T
  } catch {
    return null
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
