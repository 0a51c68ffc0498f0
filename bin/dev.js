#!/usr/bin/env node
// `npm run dev`: `inviteops` straight from the TypeScript sources through tsx (a dev dependency),
// so that `node --watch` restarts on a source change without a build. Production runs
// bin/inviteops.js, the compiled build.
import { register } from 'tsx/esm/api'

register()
const { runFromCommandLine } = await import('../adapters/cli/main.ts')
await runFromCommandLine()
