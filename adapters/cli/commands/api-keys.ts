import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyFailure } from '../../../src/api-keys/api-keys.ts'
import { oneLine } from '../../../src/shared/names.ts'
import { accountOrFail, operator, withDatabase, type CliContext } from '../database.ts'
import { resolveLinkBase } from '../link-base.ts'
import { formatTime } from '../render.ts'

/** `inviteops api-keys …`: the keys of the host product's API (docs/api.md). */

export function createApiKeyCommand(cli: CliContext, args: { accountArg: string; label: string; json: boolean }): Promise<number> {
  const { io, env } = cli
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    const r = await createApiKey(deps, { accountId: account.id, label: args.label, operator: operator().platformUserId })
    if (!r.ok) {
      io.err(`${apiKeyFailureText(r)} Nothing was created.`)
      return 1
    }
    const k = r.value.apiKey
    // The API's address is the running server's, not this process's PORT default (resolveLinkBase).
    const base = await resolveLinkBase(deps.db, env.app)
    if (args.json) io.out(JSON.stringify({ id: k.id, accountId: account.id, label: k.label, prefix: k.prefix, key: r.value.key }))
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

export function listApiKeysCommand(cli: CliContext, args: { accountArg: string | null; json: boolean }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const account = args.accountArg !== null ? await accountOrFail(deps, args.accountArg) : null
    const keys = await listApiKeys(deps.db, account?.id ?? null)
    if (args.json) io.out(JSON.stringify(keys))
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

export function revokeApiKeyCommand(cli: CliContext, args: { named: string }): Promise<number> {
  const { io } = cli
  return withDatabase(cli, async (deps) => {
    const r = await revokeApiKey(deps, { key: args.named, operator: operator().platformUserId })
    if (!r.ok) {
      io.err(apiKeyFailureText(r))
      return 1
    }
    io.out(`Revoked API key "${r.value.apiKey.label}" (${r.value.apiKey.prefix}…): every request with it is refused from now on.`)
    return 0
  })
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
