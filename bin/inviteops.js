#!/usr/bin/env node
// The `inviteops` command. TypeScript runs through tsx (no build step); see README.
import { register } from 'tsx/esm/api'

register()
const { runFromCommandLine } = await import('../adapters/cli/main.ts')
await runFromCommandLine()
