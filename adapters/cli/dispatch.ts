import { z } from 'zod'
import { INSTALL_LINK_DEFAULT_DAYS, INSTALL_LINK_MAX_DAYS, INSTALL_LINK_MIN_DAYS } from '../../src/installations/install-link.ts'
import { displayStatuses } from '../../src/invitations/model.ts'
import { isUuid } from '../../src/shared/ids.ts'
import { nameCharacterProblem, oneLine } from '../../src/shared/names.ts'
import { parseEventList, WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.ts'
import { loadEnvironment } from '../server/environment.ts'
import { CliFailure, check, parse, required, UsageError, type Io } from './args.ts'
import type { CliContext } from './database.ts'
import { nameProblemText } from './render.ts'

/**
 * A recognised command: the environment is checked, the arguments read, and only then is the
 * command's own module imported (./commands/*), with the database, Slack or the server behind it.
 * A usage error therefore costs the environment's schemas and nothing more.
 */

const teamId = z.string().regex(/^[TE][A-Z0-9]{2,30}$/, 'a Slack team id looks like T0123ABCD')
const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'a Slack channel id looks like C0123ABCD')
const tenantId = z.string().refine(isUuid, 'a tenant id is a GUID')
const installLinkDays = z
  .string()
  .regex(/^\s*[0-9]+\s*$/, `give a whole number of days from ${INSTALL_LINK_MIN_DAYS} to ${INSTALL_LINK_MAX_DAYS}`)
  .transform(Number)
  .pipe(z.number().int().min(INSTALL_LINK_MIN_DAYS, `at least ${INSTALL_LINK_MIN_DAYS} day`).max(INSTALL_LINK_MAX_DAYS, `at most ${INSTALL_LINK_MAX_DAYS} days (a link is a standing invitation to link a workspace: send a new one when it expires)`))

export async function dispatch(key: string, rest: string[], usage: string, io: Io, processEnv: NodeJS.ProcessEnv): Promise<number> {
  const loaded = loadEnvironment(processEnv)
  if (!loaded.ok) {
    io.err(`Configuration problems:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  }
  const cli: CliContext = { env: loaded.env, io, processEnv }

  switch (key) {
    case 'serve':
      parse(rest, usage, {})
      return (await import('./commands/serve.ts')).serve(cli)
    case 'migrate': {
      parse(rest, usage, {})
      await (await import('./database.ts')).withDatabase(cli, async () => undefined)
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
      return (await import('./commands/accounts.ts')).createAccountCommand(cli, { name, admin, adminFirst, adminLast: adminLast.join(' '), timeZone, json: values.json === true })
    }
    case 'accounts list': {
      const { values } = parse(rest, usage, { json: { type: 'boolean' } })
      return (await import('./commands/accounts.ts')).listAccountsCommand(cli, { json: values.json === true })
    }
    case 'accounts set-timezone': {
      const { positionals } = parse(rest, usage, {}, true)
      const [accountArg, zoneArg, ...extra] = positionals
      if (!accountArg || !zoneArg || extra.length > 0) throw new UsageError('give the account and the time zone', usage)
      return (await import('./commands/accounts.ts')).setTimeZoneCommand(cli, { accountArg, zoneArg })
    }
    case 'groups create': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' }, json: { type: 'boolean' } })
      const accountArg = required(values, 'account', usage)
      const name = required(values, 'name', usage)
      return (await import('./commands/groups.ts')).createGroupCommand(cli, { accountArg, name, admin: values.admin === true, json: values.json === true })
    }
    case 'groups list': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
      const accountArg = required(values, 'account', usage)
      return (await import('./commands/groups.ts')).listGroupsCommand(cli, { accountArg, json: values.json === true })
    }
    case 'slack connect':
    case 'teams connect': {
      const platform = key === 'slack connect' ? 'slack' : 'teams'
      const { values } = parse(rest, usage, platform === 'slack' ? { team: { type: 'string' }, account: { type: 'string' }, channel: { type: 'string' } } : { tenant: { type: 'string' }, account: { type: 'string' } })
      const externalId = platform === 'slack' ? check(teamId, required(values, 'team', usage), 'team', usage) : check(tenantId, required(values, 'tenant', usage), 'tenant', usage).toLowerCase()
      const channel = typeof values.channel === 'string' ? check(channelId, values.channel, 'channel', usage) : null
      const accountArg = required(values, 'account', usage)
      return (await import('./commands/chat.ts')).connectCommand(cli, { platform, externalId, channel, accountArg })
    }
    case 'slack disconnect': {
      const { values } = parse(rest, usage, { team: { type: 'string' }, account: { type: 'string' } })
      const externalId = check(teamId, required(values, 'team', usage), 'team', usage)
      const accountArg = typeof values.account === 'string' ? values.account : null
      return (await import('./commands/chat.ts')).disconnectSlackCommand(cli, { externalId, accountArg })
    }
    case 'slack install-link': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, days: { type: 'string' } })
      const accountArg = required(values, 'account', usage)
      const days = check(installLinkDays, typeof values.days === 'string' ? values.days : String(INSTALL_LINK_DEFAULT_DAYS), 'days', usage)
      return (await import('./commands/chat.ts')).installLinkCommand(cli, { accountArg, days })
    }
    case 'users list': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' } })
      const accountArg = required(values, 'account', usage)
      const status = check(z.enum([...displayStatuses, 'all']), typeof values.status === 'string' ? values.status : 'all', 'status', usage)
      return (await import('./commands/users.ts')).listUsersCommand(cli, { accountArg, status, json: values.json === true })
    }
    case 'api-keys create': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } })
      const accountArg = required(values, 'account', usage)
      const label = required(values, 'name', usage)
      return (await import('./commands/api-keys.ts')).createApiKeyCommand(cli, { accountArg, label, json: values.json === true })
    }
    case 'api-keys list': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
      return (await import('./commands/api-keys.ts')).listApiKeysCommand(cli, { accountArg: typeof values.account === 'string' ? values.account : null, json: values.json === true })
    }
    case 'api-keys revoke': {
      const { positionals } = parse(rest, usage, {}, true)
      const [named, ...extra] = positionals
      if (!named || extra.length > 0) throw new UsageError('give one key: its id or its prefix (iok_…)', usage)
      return (await import('./commands/api-keys.ts')).revokeApiKeyCommand(cli, { named })
    }
    case 'run': {
      const { values, positionals } = parse(rest, usage, { account: { type: 'string' }, as: { type: 'string' }, yes: { type: 'boolean' }, json: { type: 'boolean' } }, true)
      const accountArg = required(values, 'account', usage)
      const as = required(values, 'as', usage)
      if (positionals.length === 0) throw new UsageError('the command text is missing (after --)', usage)
      return (await import('./commands/run.ts')).runCommand(cli, { accountArg, as, words: positionals, yes: values.yes === true, json: values.json === true })
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
      return (await import('./commands/webhooks.ts')).addWebhookCommand(cli, { accountArg, url, events, json: values.json === true })
    }
    case 'webhooks list': {
      const { values } = parse(rest, usage, { account: { type: 'string' }, json: { type: 'boolean' } })
      return (await import('./commands/webhooks.ts')).listWebhooksCommand(cli, { accountArg: typeof values.account === 'string' ? values.account : null, json: values.json === true })
    }
    case 'webhooks test':
    case 'webhooks remove':
    case 'webhooks enable': {
      const { positionals } = parse(rest, usage, {}, true)
      const [id, ...extra] = positionals
      if (!id || extra.length > 0) throw new UsageError('give the endpoint id (inviteops webhooks list shows them)', usage)
      const shown = oneLine(id.slice(0, 60))
      if (!isUuid(id)) throw new UsageError(`"${shown}" is not an endpoint id (inviteops webhooks list shows them)`, usage)
      const action = key === 'webhooks remove' ? 'remove' : key === 'webhooks enable' ? 'enable' : 'test'
      return (await import('./commands/webhooks.ts')).endpointCommand(cli, { action, id })
    }
  }
  return 2
}
