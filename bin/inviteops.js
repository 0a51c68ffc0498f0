#!/usr/bin/env node
// The `inviteops` command: the compiled build in dist/ (`npm run build`; `npm install` and `npm ci`
// run it). Stack traces name the TypeScript lines, through the build's source maps.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/adapters/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('inviteops: there is no build in dist/: run npm run build')
  process.exit(1)
}
process.setSourceMapsEnabled(true)
const { runFromCommandLine } = await import(entry.href)
await runFromCommandLine()
