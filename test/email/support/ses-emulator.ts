import type { Server } from 'node:http'

type StartEmulator = (config: { host: string; port: number }) => Promise<Server>

/** The emulator is CommonJS with `exports.default`; depending on the loader it sits one level deeper. */
function emulatorFactory(mod: unknown): StartEmulator {
  const inner = (m: unknown): unknown => (typeof m === 'object' && m !== null && 'default' in m ? m.default : undefined)
  const found = [mod, inner(mod), inner(inner(mod))].find((c) => typeof c === 'function')
  if (!found) throw new Error('aws-ses-v2-local: no server factory export')
  return found as StartEmulator
}

/** Start the `aws-ses-v2-local` emulator on a free loopback port. */
export async function startSesEmulator(): Promise<Server> {
  return emulatorFactory(await import('aws-ses-v2-local'))({ host: '127.0.0.1', port: 0 })
}
