import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/**
 * Real Chromium for the invitee page's browser tests: Debian's `chromium` package, driven by
 * playwright-core (no browser download). CI installs it (`.ci/run`); on a workstation:
 *   sudo apt-get update && sudo apt-get install -y chromium
 * CHROMIUM_PATH overrides the location.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]

/** Why the browser tests cannot run, or null. A missing browser is a failure, never a skip. */
export function chromiumProblem(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `Chromium not found at ${CHROMIUM_PATH}: the browser tests need Debian's chromium package. Run \`apt-get install -y chromium\` (as root; run \`apt-get update\` first on a fresh machine), or set CHROMIUM_PATH.`
}

/** Launch headless Chromium, failing with the install instruction when it is missing. */
export async function launchChromium(): Promise<Browser> {
  const problem = chromiumProblem()
  if (problem) throw new Error(problem)
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}
