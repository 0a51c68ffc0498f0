import { INSTALL_LINK_DEFAULT_DAYS, INSTALL_LINK_MAX_DAYS, INSTALL_LINK_MIN_DAYS } from '../../src/installations/install-link.ts'
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.ts'
import { CliFailure, UsageError, type Io } from './args.ts'

export { joinArgs } from './args.ts'

/** `inviteops …`: the operator's CLI (docs/operations.md). Exit 0 done, 1 refused or failed, 2 usage. */

const USAGE: Record<string, string> = {
  serve: 'inviteops serve',
  migrate: 'inviteops migrate',
  'accounts create': 'inviteops accounts create --name <name> --admin <email> [--admin-name "First Last"] [--timezone <zone, e.g. Europe/Berlin; default UTC>] [--json]',
  'accounts list': 'inviteops accounts list [--json]',
  'accounts set-timezone': 'inviteops accounts set-timezone <id|name> <zone, e.g. Europe/Berlin>',
  'groups create': 'inviteops groups create --account <id|name> --name <group> [--admin] [--json]',
  'groups list': 'inviteops groups list --account <id|name> [--json]',
  'slack connect': 'inviteops slack connect --team <T…> --account <id|name> [--channel <C…>]',
  'slack disconnect': 'inviteops slack disconnect --team <T…|E…> [--account <id|name>]',
  'slack install-link': `inviteops slack install-link --account <id|name> [--days <${INSTALL_LINK_MIN_DAYS}-${INSTALL_LINK_MAX_DAYS}, default ${INSTALL_LINK_DEFAULT_DAYS}>]`,
  'teams connect': 'inviteops teams connect --tenant <tenant id> --account <id|name>',
  'users list': 'inviteops users list --account <id|name> [--status invited|expired|active|declined|removed|all] [--json]',
  'api-keys create': 'inviteops api-keys create --account <id|name> --name <label: letters, digits, . _ -> [--json]',
  'api-keys list': 'inviteops api-keys list [--account <id|name>] [--json]',
  'api-keys revoke': 'inviteops api-keys revoke <id|prefix iok_…>',
  run: 'inviteops run --account <id|name> --as <admin email> [--yes] [--json] -- <command text>',
  'webhooks add': 'inviteops webhooks add --account <id|name> --url <https://…> [--events <type,type,…>] [--json]',
  'webhooks list': 'inviteops webhooks list [--account <id|name>] [--json]',
  'webhooks test': 'inviteops webhooks test <endpoint id>',
  'webhooks remove': 'inviteops webhooks remove <endpoint id>',
  'webhooks enable': 'inviteops webhooks enable <endpoint id>',
}

const ALL_USAGE = Object.values(USAGE).join('\n  ')

/** What `inviteops <command> --help` adds under the usage line. */
const HELP: Partial<Record<string, string>> = {
  'slack install-link': [
    'Prints a link to this server\'s "Add to Slack" page (/slack/install) for one account, signed and valid',
    `for --days days (default ${INSTALL_LINK_DEFAULT_DAYS}). Whoever installs the app through it links the workspace to the account, but`,
    "only if their confirmed Slack email is an Active administrator of it; anyone else installs and links nothing.",
    'Needs a server in distribution mode (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET): docs/slack-distribution.md.',
  ].join('\n'),
  'webhooks add': [
    "Sends the account's events to your product's URL, signed per Standard Webhooks (docs/webhooks.md).",
    'Prints the endpoint id and its signing secret (whsec_…) once: store the secret in your product to verify deliveries.',
    `--events: a comma-separated list of ${WEBHOOK_EVENT_TYPES.join(', ')}; without it, every event (including ones added later).`,
    'The URL must be https in production and must not resolve to a loopback, private or link-local address (unless WEBHOOK_ALLOW_PRIVATE_URLS=true).',
  ].join('\n'),
  'webhooks test': 'Sends a webhook.test event to the endpoint now, signed like every delivery, and prints what the receiver answered.',
  'webhooks enable': 'Enables an endpoint that was disabled after failing for WEBHOOK_DISABLE_AFTER; the events that waited for it are delivered.',
}

/**
 * The light entry: the usage table, `--help` and unknown commands are answered from here alone.
 * Everything else (the environment, the database, Slack, the server) is imported only once a
 * command has been recognised (./dispatch.ts), so `inviteops --help` does not pay for it.
 */
export async function main(argv: string[], io: Io, processEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [first, second] = argv
  const key = first && second && USAGE[`${first} ${second}`] ? `${first} ${second}` : (first ?? '')
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    io.out(`Usage:\n  ${ALL_USAGE}`)
    return first ? 0 : 2
  }
  if (!USAGE[key]) {
    const group = Object.keys(USAGE).filter((k) => k.startsWith(`${first} `))
    io.err(`Unknown command "${[first, second].filter(Boolean).join(' ')}".\nUsage:\n  ${(group.length > 0 ? group.map((k) => USAGE[k]) : Object.values(USAGE)).join('\n  ')}`)
    return 2
  }
  const rest = argv.slice(key.split(' ').length)
  const usage = USAGE[key]!
  // `--help` among the options (not in `run`'s command text after `--`): the usage, and nothing run.
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest
  if (options.includes('--help') || options.includes('-h')) {
    io.out(`Usage: ${usage}${HELP[key] ? `\n\n${HELP[key]}` : ''}`)
    return 0
  }

  try {
    const { dispatch } = await import('./dispatch.ts')
    return await dispatch(key, rest, usage, io, processEnv)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nUsage: ${err.usage}`)
      return 2
    }
    if (err instanceof CliFailure) {
      io.err(err.message)
      return 1
    }
    throw err
  }
}

/**
 * `bin/inviteops.js`: run with this process's arguments and environment, and set its exit code.
 * An unexpected failure prints its message; with LOG_LEVEL=debug or trace, its whole stack, whose
 * frames name the TypeScript lines (the build's source maps).
 */
export async function runFromCommandLine(): Promise<void> {
  const io: Io = { out: (t) => console.log(t), err: (t) => console.error(t) }
  try {
    process.exitCode = await main(process.argv.slice(2), io)
  } catch (err) {
    const verbose = ['debug', 'trace'].includes(process.env.LOG_LEVEL?.trim() ?? '')
    console.error(err instanceof Error ? `inviteops: ${verbose ? (err.stack ?? err.message) : err.message}` : err)
    process.exitCode = 1
  }
}
