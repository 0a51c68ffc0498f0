import { addWebhookEndpoint, enableWebhookEndpoint, listWebhookEndpoints, removeWebhookEndpoint, testWebhookEndpoint, type WebhookTestFailure } from '../../../src/webhooks/endpoints.ts'
import type { WebhookEventType } from '../../../src/webhooks/events.ts'
import type { WebhookUrlProblem } from '../../../src/webhooks/ssrf.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { CliFailure } from '../args.ts'
import { accountOrFail, operator, withDatabase, type CliContext } from '../database.ts'
import { formatTime } from '../render.ts'

/** `inviteops webhooks …`: the account's events posted to the product (docs/webhooks.md). */

export function addWebhookCommand(cli: CliContext, args: { accountArg: string; url: string; events: WebhookEventType[] | null; json: boolean }): Promise<number> {
  const { io, env } = cli
  const { accountArg, url, events } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, accountArg)
    const r = await addWebhookEndpoint(deps, env.webhooks, { accountId: account.id, url, events, actor: operator() })
    if (!r.ok) {
      io.err(r.code === 'account.not_found' ? `No account "${accountArg}".` : `--url: ${webhookUrlProblemText(r)} Nothing was added.`)
      return 1
    }
    if (args.json) io.out(JSON.stringify({ id: r.value.id, accountId: account.id, url: r.value.url, events: r.value.events ?? 'all', secret: r.value.secret }))
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

export function listWebhooksCommand(cli: CliContext, args: { accountArg: string | null; json: boolean }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const account = args.accountArg !== null ? await accountOrFail(deps, args.accountArg) : null
    const endpoints = await listWebhookEndpoints(deps, account?.id ?? null)
    if (args.json) io.out(JSON.stringify(endpoints))
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

/** `webhooks test`, `webhooks remove` and `webhooks enable`: one endpoint, by its id. */
export function endpointCommand(cli: CliContext, args: { action: 'test' | 'remove' | 'enable'; id: string }): Promise<number> {
  const { io, env } = cli
  const { id } = args
  return withDatabase(cli, async (deps) => {
    const notFound = `No webhook endpoint ${id}. List them with: inviteops webhooks list`
    if (args.action === 'remove') {
      const r = await removeWebhookEndpoint(deps, { id, actor: operator() })
      if (!r.ok) throw new CliFailure(notFound)
      io.out(`Removed webhook endpoint ${r.value.id} (${oneLine(r.value.url)}) and the messages still waiting for it.`)
      return 0
    }
    if (args.action === 'enable') {
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
