import { createLogger } from '../../../src/server/logger.ts'
import { startServer } from '../../server/start.ts'
import { asCliFailure, type CliContext } from '../database.ts'

/** `inviteops serve`: the server until SIGTERM or SIGINT (docs/operations.md). */
export async function serve(cli: CliContext): Promise<number> {
  const { env, io } = cli
  const logger = createLogger({ level: env.app.logLevel, destination: process.stdout })
  const started = Date.now()
  let server
  try {
    server = await startServer(env, logger)
  } catch (err) {
    throw await asCliFailure(err)
  }
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
