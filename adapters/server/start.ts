import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openDatabase, type Database } from '../../src/db/open-database.ts'
import { migrateLatest } from '../../src/db/migrate.ts'
import { resolveInviteSecret } from '../../src/config.ts'
import type { Deps } from '../../src/deps.ts'
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { createEmailWorker, emailSendingReadiness, registerEmailGateMetrics, type EmailWorker } from '../../src/email/outbox-worker.ts'
import { systemClock } from '../../src/ports/clock.ts'
import type { EmailSender } from '../../src/ports/email.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { createHttpApp, type Mount, type ReadinessCheck } from '../../src/server/http.ts'
import { recordPublicBaseUrl } from '../../src/server/instance-settings.ts'
import type { ChatNotifier } from '../../src/notices/chat-notifier.ts'
import { createNoticesJob } from '../../src/notices/notices-job.ts'
import { createWebhookWorker, type WebhookWorker } from '../../src/webhooks/worker.ts'
import { concurrencyForPool, createWorkQueue } from '../../src/shared/work-queue.ts'
import { createFileEmailSender } from '../email/file-sender.ts'
import { createInviteeRouter } from '../web/router.ts'
import type { Environment } from './environment.ts'

export interface RunningServer {
  url: string
  port: number
  deps: Deps
  database: Database
  worker: EmailWorker
  webhooks: WebhookWorker
  /** Graceful stop: no new requests, in-flight ones and the email round finish, then the database closes. */
  close(): Promise<void>
}

/**
 * The composition root of `inviteops serve` (docs/operations.md): migrate, wire the core to its
 * adapters, serve HTTP, run the email and webhook workers. Everything is passed in; nothing is global.
 */
export async function startServer(env: Environment, logger: Logger, opts: { emailSender?: EmailSender; workerPollMs?: number; webhookPollMs?: number } = {}): Promise<RunningServer> {
  const { app: config } = env
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedMode: 'exclusive', logger })
  try {
    const applied = await migrateLatest(database.knex)
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
    const deps: Deps = {
      db: database.knex,
      clock: systemClock,
      logger,
      config: { ...config.service, inviteSecret: await resolveInviteSecret(config) },
    }
    // The CLI is another process with its own environment: it prints links with this base.
    await recordPublicBaseUrl(deps)
    // Adapters that are off are not even loaded (the AWS SDK and Bolt cost start-up time).
    const sender =
      opts.emailSender ??
      (config.emailTransport === 'ses'
        ? (await import('../email/ses-sender.ts')).createSesSender({
            configurationSet: env.ses.configurationSet,
            quotaWaitMs: env.ses.quotaWaitMs,
            connectTimeoutMs: env.ses.connectTimeoutMs,
            requestTimeoutMs: env.ses.requestTimeoutMs,
          })
        : createFileEmailSender({ dataDir: config.dataDir, logger }))
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    registerEmailGateMetrics(registry, deps)
    // The worker's own deadline covers the transport's two (connect, then request) with a margin;
    // the lease is long enough that a send ending by its deadline ends while the claim holds.
    const sendTimeoutMs = env.ses.connectTimeoutMs + env.ses.requestTimeoutMs + 1_000
    const worker = createEmailWorker({
      deps,
      sender,
      registry,
      concurrency: config.emailSendConcurrency,
      sendTimeoutMs,
      lockMs: Math.max(60_000, 2 * sendTimeoutMs + 10_000),
      // SES_MAX_SEND_RATE is SES's account limit; the file transport has none.
      ...(config.emailTransport === 'ses' ? { maxSendRate: env.ses.maxSendRate } : {}),
      ...(opts.workerPollMs ? { pollIntervalMs: opts.workerPollMs } : {}),
    })
    // Webhooks (docs/webhooks.md): posted to each account's endpoints from the outbox the use cases write.
    const webhooks = createWebhookWorker({ deps, settings: env.webhooks, registry, ...(opts.webhookPollMs ? { pollIntervalMs: opts.webhookPollMs } : {}) })

    const mounts: Mount[] = [{ path: '/', router: createInviteeRouter(deps, { secureCookies: config.service.publicBaseUrl.startsWith('https:') }) }]
    // Slack over HTTP or Socket Mode, one workspace or many (docs/operations.md): one edge either way.
    // One queue for the work of both chat adapters (work-queue.ts says why): each adapter still
    // bounds what of its own may wait; the queue's own bound is theirs.
    const chatWork = createWorkQueue({ concurrency: concurrencyForPool(database.knex), maxWaiting: Number.POSITIVE_INFINITY })
    // Read at each scrape: a queue that keeps waiting work shows a backlog before anyone is told "busy".
    new Gauge({
      name: 'inviteops_chat_work',
      help: 'Slack and Teams work after the ack: running, and waiting for a slot',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        this.set({ state: 'running' }, chatWork.running)
        this.set({ state: 'waiting' }, chatWork.waiting)
      },
    })
    const slack = env.slack ? (await import('../slack/router.ts')).createSlackEdge(deps, env.slack, { workQueue: chatWork }) : null
    if (slack) mounts.push({ path: '/', router: slack.router })
    const teams = env.teams ? (await import('../teams/router.ts')).createTeamsRouter(deps, env.teams, { workQueue: chatWork }) : null
    if (teams) mounts.push({ path: '/', router: teams })
    // The host product's API (docs/api.md): always on; without a key only its OpenAPI document answers.
    mounts.push({ path: '/', router: (await import('../api/router.ts')).createApiRouter(deps, env.api) })
    // Notices (docs/notices.md): one core job whenever any chat platform is enabled, posting
    // through each enabled platform's notifier to the destinations accounts chose.
    const notifiers: ChatNotifier[] = []
    if (slack) notifiers.push(slack.notifier)
    if (env.teams) notifiers.push((await import('../teams/notices.ts')).createTeamsNotifier(env.teams, { logger }))
    const notices = env.slack || env.teams ? createNoticesJob(deps, notifiers) : null
    if (env.ses.snsTopicArn) {
      const { createSesNotificationsRouter } = await import('../email/ses-notifications-router.ts')
      mounts.push({ path: '/ses/notifications', router: createSesNotificationsRouter(deps, { topicArn: env.ses.snsTopicArn }) })
    }
    const checks: ReadinessCheck[] = [emailSendingReadiness(deps), ...(slack?.readiness ?? [])]
    const { app } = createHttpApp({ db: database.knex, logger, mounts, checks, registry })

    const server: Server = await new Promise((resolve, reject) => {
      // Express 5 hands a failed listen (a port in use) to this callback rather than only to 'error'.
      const failed = (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.port} is already in use: stop what listens there, or set PORT to a free port`) : err)
      const s = app.listen(config.port, (err?: Error) => (err ? failed(err) : resolve(s)))
      s.once('error', failed)
    })
    const port = (server.address() as AddressInfo).port
    worker.start()
    webhooks.start()
    notices?.start()
    // Socket Mode: connect once the rest is serving (nothing to do over HTTP). The connection opens
    // in the background and `start` never throws: a Slack that cannot be reached yet is retried,
    // and shows in /readyz and the log, without holding up the start (docs/operations.md).
    await slack?.start()
    return {
      url: `http://localhost:${port}`,
      port,
      deps,
      database,
      worker,
      webhooks,
      close: async () => {
        // Everything below shares SHUTDOWN_GRACE_MS (less a second to close the database): a step
        // that would overrun it is left unfinished and said so, so the process still exits 0
        // before the grace timer forces exit 1. What is left is safe: emails and notices not
        // recorded are claimed again after their lease, and so are webhook messages (posted again
        // with the same webhook-id).
        const until = Date.now() + Math.max(0, config.shutdownGraceMs - 1_000)
        const within = (what: string, work: Promise<unknown> | undefined) => finishBy(until, what, work, logger)
        // No new Slack requests over the socket either.
        await within('Slack socket', slack?.stop())
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        // Both hand back what they have not done yet; neither waits for the other.
        await Promise.all([within('email worker', worker.stop()), within('webhook worker', webhooks.stop()), within('notices', notices?.stop())])
        await within('HTTP requests in flight', closed)
        // Work acknowledged to Slack but still running (answers via response_url) finishes first.
        await within('Slack work acknowledged', slack?.router.idle())
        await within('Teams turns', teams?.idle())
        await database.close()
      },
    }
  } catch (err) {
    await database.close()
    throw err
  }
}

/** Wait for `work` until `until` (epoch ms) at the latest; past it, log what was left and go on. */
async function finishBy(until: number, what: string, work: Promise<unknown> | undefined, logger: Logger): Promise<void> {
  if (!work) return
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, until - Date.now()))
  })
  const outcome = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), late])
  clearTimeout(timer)
  if (outcome === 'late') logger.warn({ step: what }, 'shutdown: left unfinished to stop within SHUTDOWN_GRACE_MS')
}
