import { unwrapMailtoLinks } from '../../../src/commands/parse-command.ts'
import { runCommandText } from '../../../src/commands/run-command.ts'
import { joinArgs } from '../args.ts'
import { accountOrFail, safeUser, withDatabase, type CliContext } from '../database.ts'
import { resolveLinkBase } from '../link-base.ts'
import { renderOutcome } from '../render.ts'

/** `inviteops run … -- <command text>`: the chat commands from a terminal (docs/commands.md). */
export function runCommand(cli: CliContext, args: { accountArg: string; as: string; words: string[]; yes: boolean; json: boolean }): Promise<number> {
  const { io, env } = cli
  const { as } = args
  return withDatabase(cli, async (deps) => {
    const account = await accountOrFail(deps, args.accountArg)
    // A link must carry the server's base, not this process's PORT default (resolveLinkBase).
    const linkBase = await resolveLinkBase(deps.db, env.app)
    const outcome = await runCommandText({ ...deps, config: { ...deps.config, publicBaseUrl: linkBase.url } }, {
      accountId: account.id,
      actor: { platform: 'cli', platformUserId: safeUser(), email: as, displayName: as },
      // Text copied from Slack's raw form of a message holds `<mailto:a@b|a@b>`: read as the address.
      text: unwrapMailtoLinks(joinArgs(args.words)),
      confirmed: args.yes,
    })
    const rendered = renderOutcome(outcome, deps.clock.now())
    if (args.json) io.out(JSON.stringify(outcome))
    else (rendered.ok ? io.out : io.err)(rendered.text)
    // On stderr: stdout keeps its shape, and --json stays parseable.
    if (outcome.kind === 'link' && linkBase.note) io.err(linkBase.note)
    return rendered.ok ? 0 : 1
  })
}
