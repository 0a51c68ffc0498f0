#!/usr/bin/env node
// The `inviteops` command. TypeScript runs through tsx (no build step); see README.
import { register } from 'tsx/esm/api'

register()
process.env.INVITEOPS_CLI_ENTRY = '1'
await import('../adapters/cli/main.ts')
