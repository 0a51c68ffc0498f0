import { userInfo } from 'node:os'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { z } from 'zod'
import { createAccount, type CreateAccountFailure } from '../../src/accounts/create-account.ts'
import { createGroup } from '../../src/accounts/create-group.ts'
import { connectChat, disconnectChat } from '../../src/accounts/chat-connections.ts'
import { queryGroups } from '../../src/accounts/list-groups.ts'
import { listAccounts, resolveAccount } from '../../src/accounts/resolve-account.ts'
import { setAccountTimeZone } from '../../src/accounts/set-account-time-zone.ts'
import { unwrapMailtoLinks } from '../../src/commands/parse-command.ts'
import { runCommandText } from '../../src/commands/run-command.ts'
import { resolveInviteSecret } from '../../src/config.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { DataDirBusyError } from '../../src/db/embedded.ts'
import { openDatabase, type Database } from '../../src/db/open-database.ts'
import type { Deps } from '../../src/deps.ts'
import { INSTALL_LINK_DEFAULT_DAYS, INSTALL_LINK_MAX_DAYS, INSTALL_LINK_MIN_DAYS, signInstallLink } from '../../src/installations/install-link.ts'
import { displayStatuses, type Actor } from '../../src/invitations/model.ts'
import { systemClock } from '../../src/ports/clock.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { createLogger } from '../../src/server/logger.ts'
import { suggestZone } from '../../src/shared/dates.ts'
import { isUuid } from '../../src/shared/ids.ts'
import { nameCharacterProblem, oneLine } from '../../src/shared/names.ts'
import { listAccountUsers } from '../../src/users/list-users.ts'
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyFailure } from '../../src/api-keys/api-keys.ts'
import { addWebhookEndpoint, enableWebhookEndpoint, listWebhookEndpoints, removeWebhookEndpoint, testWebhookEndpoint, type WebhookTestFailure } from '../../src/webhooks/endpoints.ts'
import { parseEventList, WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.ts'
import type { WebhookUrlProblem } from '../../src/webhooks/ssrf.ts'
import { loadEnvironment, type Environment } from '../server/environment.ts'
import { startServer } from '../server/start.ts'
import { resolveLinkBase } from './link-base.ts'
import { SLACK_INSTALL_PATH } from '../slack/config.ts'
import { formatTime, joinedCell, nameProblemText, renderOutcome } from './render.ts'

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

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message)
  }
}

interface Io {
  out(text: string): void
  err(text: string): void
}

type Options = NonNullable<ParseArgsConfig['options']>

interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
  positionals: string[]
}

function parse(argv: string[], usage: string, options: Options, allowPositionals = false): ParsedArgs {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0]! : String(err), usage)
  }
}

function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`, usage)
  return v
}

/** Open the database as the CLI does: beside a running server (through it), or on its own. */
async function withDatabase<T>(env: Environment, logger: Logger, fn: (db: Database, deps: Deps) => Promise<T>): Promise<T> {
  const db = await openDatabase({ databaseUrl: env.app.databaseUrl, dataDir: env.app.dataDir, embeddedMode: 'share', poolMax: 2, logger })
  try {
    if (db.kind !== 'embedded-shared') await migrateLatest(db.knex)
    const deps: Deps = { db: db.knex, clock: systemClock, logger, config: { ...env.app.service, inviteSecret: await resolveInviteSecret(env.app) } }
    return await fn(db, deps)
  } finally {
    await db.close()
  }
}

async function accountOrFail(deps: Deps, idOrName: string): Promise<{ id: string; name: string }> {
  const account = await resolveAccount(deps.db, idOrName)
  if (!account) throw new CliFailure(`No account "${idOrName}". List them with: inviteops accounts list`)
  return account
}

class CliFailure extends Error {}

const teamId = z.string().regex(/^[TE][A-Z0-9]{2,30}$/, 'a Slack team id looks like T0123ABCD')
const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'a Slack channel id looks like C0123ABCD')
const tenantId = z.string().refine(isUuid, 'a tenant id is a GUID')
const installLinkDays = z
  .string()
  .regex(/^\s*[0-9]+\s*$/, `give a whole number of days from ${INSTALL_LINK_MIN_DAYS} to ${INSTALL_LINK_MAX_DAYS}`)
  .transform(Number)
  .pipe(z.number().int().min(INSTALL_LINK_MIN_DAYS, `at least ${INSTALL_LINK_MIN_DAYS} day`).max(INSTALL_LINK_MAX_DAYS, `at most ${INSTALL_LINK_MAX_DAYS} days (a link is a standing invitation to link a workspace: send a new one when it expires)`))

function check<T>(schema: z.ZodType<T>, value: string, flag: string, usage: string): T {
  const r = schema.safeParse(value)
  if (!r.success) throw new UsageError(`--${flag}: ${r.error.issues[0]?.message ?? 'invalid'}`, usage)
  return r.data
}

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

  const loaded = loadEnvironment(processEnv)
  if (!loaded.ok) {
    io.err(`Configuration problems:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  }
  const env = loaded.env
  const logger = createLogger({ level: key === 'serve' ? env.app.logLevel : (processEnv.LOG_LEVEL ?? 'warn'), destination: key === 'serve' ? process.stdout : process.stderr })

  try {
    switch (key) {
      case 'serve':
        parse(rest, usage, {})
        return await serve(env, logger, io)
      case 'migrate': {
        parse(rest, usage, {})
        await withDatabase(env, logger, async () => undefined)
        io.out('Database is up to date.')
        return 0
      }
      case 'accounts create': {
        const { values } = parse(rest, usage, { name: { type: 'string' }, admin: { type: 'string' }, 'admin-name': { type: 'string' }, timezone: { type: 'string' }, json: { type: 'boolean' } })
        const name = required(values, 'name', usage)
        const admin = required(values, 'admin', usage)
        const timeZone = typeof values.timezone === 'string' ? values.timezone.trim() : undefined
        const adminName = typeof values['admin-name'] === 'string' ? values['admin-name'] : ''
        // The whole value first: split into words, a line break would look like a space.
        const adminNameProblem = nameCharacterProblem(adminName)
        if (adminNameProblem) throw new CliFailure(`--admin-name ${nameProblemText(adminNameProblem, 0)}. Nothing was created.`)
        const [adminFirst = '', ...adminLast] = adminName.trim().split(/\s+/)
        return await withDatabase(env, logger, async (_db, deps) => {
          const r = await createAccount(deps.db, deps.clock, { name, adminEmail: admin, adminFirstName: adminFirst, adminLastName: adminLast.join(' '), defaultGroup: deps.config.defaultGroup, timeZone })
          if (!r.ok) {
            io.err(accountFailureText(r, admin))
            return 1
          }
          if (values.json) io.out(JSON.stringify(r.value))
          else io.out(`Created account "${r.value.name}" (${r.value.accountId}, time zone ${r.value.timeZone}) with administrator ${admin.toLowerCase()} and groups Administrators, ${deps.config.defaultGroup}.\nNext: link a Slack workspace with: inviteops slack connect --team <T…> --account "${r.value.name}"\nor try it here:   inviteops run --account "${r.value.name}" --as ${admin.toLowerCase()} -- help`)
          return 0
        })
      }
      case 'accounts list': {
        const { values } = parse(rest, usage, { json: { type: 'boolean' } })
        return await withDatabase(env, logger, async (_db, deps) => {
          const rows = await listAccounts(deps.db)
          if (values.json) io.out(JSON.stringify(rows))
          else io.out(rows.length === 0 ? 'No accounts yet. Create one with: inviteops accounts create --name <name> --admin <email>' : rows.map((r) => `${r.id}  ${oneLine(r.name)}  (${r.timeZone})`).join('\n'))
          return 0
        })
      }
      case 'accounts set-timezone': {
        const { positionals } = parse(rest, usage, {}, true)
        const [accountArg, zoneArg, ...extra] = positionals
        if (!accountArg || !zoneArg || extra.length > 0) throw new UsageError('give the account and the time zone', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const r = await setAccountTimeZone(deps, { accountId: account.id, actor: operator(), timeZone: zoneArg.trim() })
          if (!r.ok) {
            io.err(r.code === 'account.time_zone_invalid' ? `${timeZoneProblem(r.input)} Nothing was changed.` : `No account "${accountArg}".`)
            return 1
          }
          io.out(r.value.previous === r.value.timeZone ? `${account.name} already uses ${r.value.timeZone}.` : `${account.name} now shows dates in ${r.value.timeZone} (was ${r.value.previous}): emails queued from now on, the invitee's page and the daily digest.`)
          return 0
        })
      }
      case 'groups create': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' }, json: { type: 'boolean' } })
        const accountArg = required(values, 'account', usage)
        const name = required(values, 'name', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const r = await createGroup(deps.db, deps.clock, { accountId: account.id, name, isAdmin: values.admin === true })
          if (!r.ok) {
            io.err(r.code === 'group.name_taken' ? `The group "${r.name}" already exists in ${account.name}.` : `--name: the group name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`)
            return 1
          }
          io.out(values.json ? JSON.stringify(r.value) : `Created group "${name.trim()}"${values.admin ? ' (administrators)' : ''} in ${account.name}.`)
          return 0
        })
      }
      case 'groups list': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
        const accountArg = required(values, 'account', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const groups = await queryGroups(deps.db, account.id)
          io.out(values.json ? JSON.stringify(groups) : groups.map((g) => `${oneLine(g.name)}${g.isAdmin ? ' (administrators)' : ''} — ${g.memberCount}`).join('\n'))
          return 0
        })
      }
      case 'slack connect':
      case 'teams connect': {
        const platform = key === 'slack connect' ? 'slack' : 'teams'
        const { values } = parse(rest, usage, platform === 'slack' ? { team: { type: 'string' }, account: { type: 'string' }, channel: { type: 'string' } } : { tenant: { type: 'string' }, account: { type: 'string' } })
        const externalId = platform === 'slack' ? check(teamId, required(values, 'team', usage), 'team', usage) : check(tenantId, required(values, 'tenant', usage), 'tenant', usage).toLowerCase()
        const channel = typeof values.channel === 'string' ? check(channelId, values.channel, 'channel', usage) : null
        const accountArg = required(values, 'account', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          // The channel becomes the account's Slack notice destination, audited as the operator's action.
          // A Slack channel's destination names its workspace: in distribution mode the notice is
          // posted with that workspace's own bot token.
          const reference = platform === 'slack' && channel ? { teamId: externalId } : undefined
          const r = await connectChat(deps.db, { platform, externalId, accountId: account.id, channelId: channel, reference, actor: { platform: 'cli', platformUserId: safeUser(), email: null }, now: deps.clock.now() })
          if (!r.ok) {
            io.err(`${externalId} is already linked to another account (${r.accountId}); a workspace or tenant serves exactly one account.`)
            return 1
          }
          io.out(`Linked ${platform === 'slack' ? 'Slack workspace' : 'Teams tenant'} ${externalId} to ${account.name}${channel ? `, notices in ${channel}` : ''}.`)
          return 0
        })
      }
      case 'slack disconnect': {
        const { values } = parse(rest, usage, { team: { type: 'string' }, account: { type: 'string' } })
        const externalId = check(teamId, required(values, 'team', usage), 'team', usage)
        const accountArg = typeof values.account === 'string' ? values.account : null
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = accountArg === null ? null : await accountOrFail(deps, accountArg)
          const r = await disconnectChat(deps.db, { platform: 'slack', externalId, accountId: account?.id ?? null, actor: { platform: 'cli', platformUserId: safeUser(), email: null }, now: deps.clock.now() })
          if (!r.ok) {
            io.err(r.code === 'chat.not_linked' ? `${externalId} is not linked to any account: nothing was changed.` : `${externalId} is linked to another account (${r.accountId}), not ${oneLine(account?.name ?? '')}: nothing was changed.`)
            return 1
          }
          io.out(`Unlinked Slack workspace ${externalId} from account ${r.accountId}. Its installation is kept: an install link (inviteops slack install-link) links it again.`)
          return 0
        })
      }
      case 'slack install-link': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, days: { type: 'string' } })
        const accountArg = required(values, 'account', usage)
        const days = check(installLinkDays, typeof values.days === 'string' ? values.days : String(INSTALL_LINK_DEFAULT_DAYS), 'days', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          // The link must reach the running server's /slack/install, not this process's PORT default.
          const linkBase = await resolveLinkBase(deps.db, env.app)
          const expiresAt = new Date(deps.clock.now().getTime() + days * 86_400_000)
          const token = signInstallLink(deps.config.inviteSecret, { accountId: account.id, expiresAt })
          io.out(
            [
              `${linkBase.url}${SLACK_INSTALL_PATH}?link=${token}`,
              `Valid until ${formatTime(expiresAt)} (${days} day${days === 1 ? '' : 's'}), for any number of workspaces.`,
              `Send it to an Active administrator of ${oneLine(account.name)}: they open it while signed in to the Slack workspace to install InviteOps into, and that workspace is then linked to ${oneLine(account.name)}. Anyone else who opens it can install the app but links nothing.`,
            ].join('\n'),
          )
          // On stderr, so stdout stays the link and its two lines.
          if (linkBase.note) io.err(linkBase.note)
          if (env.slack && !env.slack.oauth) io.err('Note: this environment runs Slack for one workspace (SLACK_BOT_TOKEN): the link works only on a server in distribution mode (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET). See docs/slack-distribution.md.')
          return 0
        })
      }
      case 'users list': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' } })
        const accountArg = required(values, 'account', usage)
        const status = check(z.enum([...displayStatuses, 'all']), typeof values.status === 'string' ? values.status : 'all', 'status', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const now = deps.clock.now()
          const users = await listAccountUsers(deps.db, account.id, { now, filter: status })
          if (values.json) io.out(JSON.stringify(users))
          else io.out(users.length === 0 ? 'No users.' : users.map((u) => `${oneLine(u.email).padEnd(32)} ${oneLine(`${u.firstName} ${u.lastName}`.trim()).padEnd(24)} ${oneLine(u.groups.join(', ')).padEnd(24)} ${joinedCell(u, now)}`).join('\n'))
          return 0
        })
      }
      case 'api-keys create': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } })
        const accountArg = required(values, 'account', usage)
        const label = required(values, 'name', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const r = await createApiKey(deps, { accountId: account.id, label, operator: operator().platformUserId })
          if (!r.ok) {
            io.err(`${apiKeyFailureText(r)} Nothing was created.`)
            return 1
          }
          const k = r.value.apiKey
          // The API's address is the running server's, not this process's PORT default (resolveLinkBase).
          const base = await resolveLinkBase(deps.db, env.app)
          if (values.json) io.out(JSON.stringify({ id: k.id, accountId: account.id, label: k.label, prefix: k.prefix, key: r.value.key }))
          else
            io.out(
              [
                `Created API key "${k.label}" (${k.prefix}…, id ${k.id}) for ${oneLine(account.name)}.`,
                `Key (shown once, never stored; give it to the product's backend as a secret): ${r.value.key}`,
                `Its requests: Authorization: Bearer <key> to ${base.url}/api/v1 (docs/api.md). Revoke with: inviteops api-keys revoke ${k.prefix}`,
              ].join('\n'),
            )
          return 0
        })
      }
      case 'api-keys list': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = typeof values.account === 'string' ? await accountOrFail(deps, values.account) : null
          const keys = await listApiKeys(deps.db, account?.id ?? null)
          if (values.json) io.out(JSON.stringify(keys))
          else if (keys.length === 0) io.out(`No API keys${account ? ` for ${oneLine(account.name)}` : ''}. Create one with: inviteops api-keys create --account <id|name> --name <label>`)
          else
            io.out(
              keys
                .map(
                  (k) =>
                    `${k.prefix}…  ${k.label}  ${k.revokedAt ? `REVOKED ${formatTime(k.revokedAt)}` : 'active'}  (${oneLine(k.accountName ?? k.accountId)})  created ${formatTime(k.createdAt)}${k.createdBy ? ` by ${oneLine(k.createdBy)}` : ''} · last used ${k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'} · id ${k.id}`,
                )
                .join('\n'),
            )
          return 0
        })
      }
      case 'api-keys revoke': {
        const { positionals } = parse(rest, usage, {}, true)
        const [named, ...extra] = positionals
        if (!named || extra.length > 0) throw new UsageError('give one key: its id or its prefix (iok_…)', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const r = await revokeApiKey(deps, { key: named, operator: operator().platformUserId })
          if (!r.ok) {
            io.err(apiKeyFailureText(r))
            return 1
          }
          io.out(`Revoked API key "${r.value.apiKey.label}" (${r.value.apiKey.prefix}…): every request with it is refused from now on.`)
          return 0
        })
      }
      case 'run': {
        const { values, positionals } = parse(rest, usage, { account: { type: 'string' }, as: { type: 'string' }, yes: { type: 'boolean' }, json: { type: 'boolean' } }, true)
        const accountArg = required(values, 'account', usage)
        const as = required(values, 'as', usage)
        if (positionals.length === 0) throw new UsageError('the command text is missing (after --)', usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          // A link must carry the server's base, not this process's PORT default (resolveLinkBase).
          const linkBase = await resolveLinkBase(deps.db, env.app)
          const outcome = await runCommandText({ ...deps, config: { ...deps.config, publicBaseUrl: linkBase.url } }, {
            accountId: account.id,
            actor: { platform: 'cli', platformUserId: safeUser(), email: as, displayName: as },
            // Text copied from Slack's raw form of a message holds `<mailto:a@b|a@b>`: read as the address.
            text: unwrapMailtoLinks(joinArgs(positionals)),
            confirmed: values.yes === true,
          })
          const rendered = renderOutcome(outcome, deps.clock.now())
          if (values.json) io.out(JSON.stringify(outcome))
          else (rendered.ok ? io.out : io.err)(rendered.text)
          // On stderr: stdout keeps its shape, and --json stays parseable.
          if (outcome.kind === 'link' && linkBase.note) io.err(linkBase.note)
          return rendered.ok ? 0 : 1
        })
      }
      case 'webhooks add': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, url: { type: 'string' }, events: { type: 'string' }, json: { type: 'boolean' } })
        const accountArg = required(values, 'account', usage)
        const url = required(values, 'url', usage).trim()
        let events = null
        if (typeof values.events === 'string') {
          const parsed = parseEventList(values.events)
          if (!parsed.ok) throw new UsageError(`--events: ${parsed.unknown.map((n) => `"${oneLine(n)}"`).join(', ')} ${parsed.unknown.length === 1 ? 'is not an event' : 'are not events'}; choose from ${WEBHOOK_EVENT_TYPES.join(', ')}`, usage)
          events = parsed.events
        }
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = await accountOrFail(deps, accountArg)
          const r = await addWebhookEndpoint(deps, env.webhooks, { accountId: account.id, url, events, actor: operator() })
          if (!r.ok) {
            io.err(r.code === 'account.not_found' ? `No account "${accountArg}".` : `--url: ${webhookUrlProblemText(r)} Nothing was added.`)
            return 1
          }
          if (values.json) io.out(JSON.stringify({ id: r.value.id, accountId: account.id, url: r.value.url, events: r.value.events ?? 'all', secret: r.value.secret }))
          else
            io.out(
              [
                `Added webhook endpoint ${r.value.id} for ${oneLine(account.name)}: ${r.value.url} (${r.value.events ? r.value.events.join(', ') : 'every event'}).`,
                `Signing secret (shown once; your product verifies each delivery with it): ${r.value.secret}`,
                `Try it: inviteops webhooks test ${r.value.id}`,
              ].join('\n'),
            )
          return 0
        })
      }
      case 'webhooks list': {
        const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
        return await withDatabase(env, logger, async (_db, deps) => {
          const account = typeof values.account === 'string' ? await accountOrFail(deps, values.account) : null
          const endpoints = await listWebhookEndpoints(deps, account?.id ?? null)
          if (values.json) io.out(JSON.stringify(endpoints))
          else if (endpoints.length === 0) io.out(`No webhook endpoints${account ? ` for ${oneLine(account.name)}` : ''}. Add one with: inviteops webhooks add --account <id|name> --url <https://…>`)
          else
            io.out(
              endpoints
                .map((e) =>
                  [
                    `${e.id}  ${e.status.toUpperCase()}  ${oneLine(e.url)}  (${oneLine(e.accountName)})`,
                    `    events: ${e.events ? e.events.join(', ') : 'all'} · waiting: ${e.queued} · given up: ${e.failed}`,
                    e.status === 'disabled'
                      ? `    disabled ${formatTime(e.disabledAt!)} after failing since ${e.failingSince ? formatTime(e.failingSince) : '?'}${e.lastError ? ` (last: ${oneLine(e.lastError)})` : ''}; enable with: inviteops webhooks enable ${e.id}`
                      : e.failingSince
                        ? `    failing since ${formatTime(e.failingSince)}${e.lastError ? ` (last: ${oneLine(e.lastError)})` : ''}`
                        : null,
                  ]
                    .filter((l) => l !== null)
                    .join('\n'),
                )
                .join('\n'),
            )
          return 0
        })
      }
      case 'webhooks test':
      case 'webhooks remove':
      case 'webhooks enable': {
        const { positionals } = parse(rest, usage, {}, true)
        const [id, ...extra] = positionals
        if (!id || extra.length > 0) throw new UsageError('give the endpoint id (inviteops webhooks list shows them)', usage)
        const shown = oneLine(id.slice(0, 60))
        if (!isUuid(id)) throw new UsageError(`"${shown}" is not an endpoint id (inviteops webhooks list shows them)`, usage)
        return await withDatabase(env, logger, async (_db, deps) => {
          const notFound = `No webhook endpoint ${id}. List them with: inviteops webhooks list`
          if (key === 'webhooks remove') {
            const r = await removeWebhookEndpoint(deps, { id, actor: operator() })
            if (!r.ok) throw new CliFailure(notFound)
            io.out(`Removed webhook endpoint ${r.value.id} (${oneLine(r.value.url)}) and the messages still waiting for it.`)
            return 0
          }
          if (key === 'webhooks enable') {
            const r = await enableWebhookEndpoint(deps, { id, actor: operator() })
            if (!r.ok) throw new CliFailure(notFound)
            io.out(r.value.wasDisabled ? `Enabled webhook endpoint ${r.value.id} (${oneLine(r.value.url)}): the events that waited for it are delivered now.` : `Webhook endpoint ${r.value.id} is already enabled.`)
            return 0
          }
          const r = await testWebhookEndpoint(deps, env.webhooks, { id })
          if (!r.ok) {
            io.err(webhookTestFailureText(r, notFound))
            return 1
          }
          io.out(`Sent webhook.test (${r.value.messageId}) to ${oneLine(r.value.url)}: the receiver answered ${r.value.status}.`)
          return 0
        })
      }
    }
    return 2
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nUsage: ${err.usage}`)
      return 2
    }
    if (err instanceof CliFailure || err instanceof DataDirBusyError) {
      io.err(err.message)
      return 1
    }
    throw err
  }
}

/** Why a webhook URL was refused, and what would be accepted. */
function webhookUrlProblemText(p: WebhookUrlProblem): string {
  switch (p.code) {
    case 'webhook.url_invalid':
      return {
        not_a_url: 'not a URL (give the whole address, e.g. https://app.example.com/hooks/inviteops).',
        too_long: 'longer than 2000 characters.',
        scheme: 'only http(s) URLs can receive webhooks.',
        https_required: 'must be https in production (the deliveries carry people\'s names and addresses).',
        credentials: 'must not hold a user name or password: the receiver checks the signature instead.',
      }[p.reason]
    case 'webhook.url_not_allowed':
      return `resolves to ${p.address}, a ${p.range.replace('_', '-')} address, which InviteOps does not post to (set WEBHOOK_ALLOW_PRIVATE_URLS=true to allow it, e.g. for local development).`
    case 'webhook.url_unresolvable':
      return p.reason === 'timeout' ? `the name ${oneLine(p.host)} did not resolve in time; try again.` : `the name ${oneLine(p.host)} does not resolve.`
    default: {
      const unhandled: never = p
      return `refused (${(unhandled as { code: string }).code}).`
    }
  }
}

/** Why `webhooks test` did not get a 2xx. */
function webhookTestFailureText(f: WebhookTestFailure, notFound: string): string {
  switch (f.code) {
    case 'webhook.not_found':
      return notFound
    case 'webhook.secret_unreadable':
      return "The endpoint's signing secret cannot be opened: INVITE_SECRET differs from the one it was added with. Remove the endpoint and add it again."
    case 'webhook.test_failed':
      return `The receiver did not accept webhook.test: ${f.reason}.`
    default:
      return `The endpoint's URL is refused now: ${webhookUrlProblemText(f)}`
  }
}

/** Why `accounts create` was refused, naming the flag (or setting) at fault. */
function accountFailureText(r: CreateAccountFailure, admin: string): string {
  switch (r.code) {
    case 'account.name_taken':
      return `An account named "${r.name}" already exists.`
    case 'email.invalid':
      return `"${admin}" is not a valid email address.`
    case 'account.name_invalid':
      return `--name: the account name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'account.admin_name_invalid':
      return `--admin-name: the ${r.part} name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'group.name_invalid':
      return `DEFAULT_GROUP: the group name ${nameProblemText(r.problem, r.limit)}. Nothing was created.`
    case 'account.time_zone_invalid':
      return `--timezone: ${timeZoneProblem(r.input)} Nothing was created.`
    default: {
      const unhandled: never = r
      return `Refused (${(unhandled as { code: string }).code}).`
    }
  }
}

/**
 * The shell already split the command text; put it back together so the grammar's own quoting
 * survives (`--name "Bob Smith"` arrives as one argument `Bob Smith`).
 */
export function joinArgs(args: string[]): string {
  if (args.length === 1) return args[0]!
  return args.map((a) => (/\s/.test(a) ? (a.includes('"') ? `'${a}'` : `"${a}"`) : a)).join(' ')
}

/** Why a time zone was refused, and what to type instead. */
function timeZoneProblem(input: string): string {
  const better = suggestZone(input)
  if (better) return `"${oneLine(input)}" is not how time zones are named here: use ${better}.`
  return `"${oneLine(input)}" is not a time zone this server knows. Use an IANA name such as Europe/Berlin, America/New_York or UTC (not an offset like +02:00, nor an abbreviation like CET).`
}

/** What the operator reads when an API key command is refused. */
function apiKeyFailureText(f: ApiKeyFailure): string {
  switch (f.code) {
    case 'api_key.label_invalid':
      return `--name: "${oneLine(f.label)}" is not a label: 1 to 60 letters, digits, dots, underscores or dashes, starting with a letter or digit (it shows in the audit as api:<label>).`
    case 'api_key.label_taken':
      return `The account already has an active key named "${f.label}": choose another name, or revoke that key first.`
    case 'api_key.not_found':
      return `No API key "${oneLine(f.key)}". List them with: inviteops api-keys list`
    case 'api_key.ambiguous':
      return `"${oneLine(f.key)}" names more than one key: use its id (inviteops api-keys list).`
    case 'api_key.already_revoked':
      return `The key "${f.key.label}" (${f.key.prefix}…) was revoked already, ${f.key.revokedAt ? formatTime(f.key.revokedAt) : ''}.`
  }
}

/** The operator at this terminal, as the audit log names them. */
function operator(): Actor {
  return { platform: 'cli', platformUserId: safeUser(), email: null }
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}

async function serve(env: Environment, logger: Logger, io: Io): Promise<number> {
  const started = Date.now()
  const server = await startServer(env, logger)
  const embedded = server.database.kind === 'embedded'
  logger.info({ port: server.port, database: server.database.kind, email: env.app.emailTransport, slack: env.slack !== null, teams: env.teams !== null, ms: Date.now() - started }, 'inviteops ready')
  io.err(
    [
      `InviteOps is running on ${server.url} (${embedded ? `embedded database in ${env.app.dataDir}` : 'Postgres'}; emails: ${env.app.emailTransport === 'file' ? `${env.app.dataDir}/outbox` : 'Amazon SES'}).`,
      'Next, in another terminal:',
      '  npx inviteops accounts create --name "Acme" --admin you@example.com --admin-name "Your Name"',
      '  npx inviteops run --account Acme --as you@example.com -- add bob@example.com --name "Bob Smith"',
      env.slack
        ? env.slack.appToken
          ? 'Slack: over Socket Mode (SLACK_APP_TOKEN), no Request URL needed; /readyz is ready once the socket is open.'
          : `Slack: point your app's Request URL at ${env.app.service.publicBaseUrl}/slack/events`
        : 'Slack is off: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode), or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP), to enable it (see README).',
      env.teams
        ? `Teams: point your bot's messaging endpoint at ${env.app.service.publicBaseUrl}/api/messages${env.teams.appId ? '' : ' (UNAUTHENTICATED: for the Bot Framework Emulator only)'}`
        : 'Teams is off: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to enable it (see README).',
    ].join('\n'),
  )
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  const timer = setTimeout(() => {
    logger.error({ graceMs: env.app.shutdownGraceMs }, 'shutdown took too long; exiting (unsent emails stay queued)')
    process.exit(1)
  }, env.app.shutdownGraceMs)
  timer.unref()
  await server.close()
  logger.info({}, 'stopped')
  return 0
}

const io: Io = { out: (t) => console.log(t), err: (t) => console.error(t) }
if (process.argv[1] && import.meta.url.endsWith('/adapters/cli/main.ts') && process.env.INVITEOPS_CLI_ENTRY === '1') {
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      console.error(err instanceof Error ? `inviteops: ${err.message}` : err)
      process.exitCode = 1
    },
  )
}
