/**
 * `POST /slack/events`: slash commands, interactivity and events on one Request URL
 * (docs/operations.md), served by Bolt 5 inside the app's one HTTP server (or the same listeners
 * over Socket Mode).
 *
 * Order of work, per request (docs/architecture.md): our gate (verify.ts: signature in a 5-minute window
 * both ways, body shape) → Bolt's ExpressReceiver (parses; the signature is not checked twice) → `authorize` (the
 * workspace's own bot token: workspaces.ts) → dispatch → ack at once → zod-parse → the core →
 * render → `response_url` / `chat.postMessage` with that token.
 *
 * A workspace without a working installation (distribution mode: never installed, uninstalled,
 * revoked) is not an error to Bolt: `authorize` says so in the context, and the listeners answer
 * with how to reinstall, in the ack (commands, forms) or through `response_url` (clicks), neither
 * of which needs a token. Throwing from `authorize` would leave Slack with an empty answer.
 *
 * Slack gives a request 3 seconds (https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response):
 * every listener acks first and does the work afterwards. That work takes its turn in a bounded
 * queue (src/shared/work-queue.ts): a burst waits in order instead of exhausting the database pool,
 * a full queue is answered "busy, try again in a minute", and shutdown and tests wait for what is
 * queued and running (`idle()`).
 */
import { App, ExpressReceiver, type AckFn, type AuthorizeResult, type AuthorizeSourceData, type Context, type Receiver, type RespondArguments, type ViewResponseAction } from '@slack/bolt'
import type { WebClientOptions } from '@slack/web-api'
import { Router } from 'express'
import { createDeliveryDeduper, createDeliveryLedger } from '../../src/chat/deliveries.ts'
import type { Deps } from '../../src/deps.ts'
import { disableSlackInstallation } from '../../src/installations/slack-installations.ts'
import type { ChatNotifier } from '../../src/notices/chat-notifier.ts'
import type { ReadinessCheck } from '../../src/server/http.ts'
import { concurrencyForPool, createWorkQueue, type WorkQueue } from '../../src/shared/work-queue.ts'
import { SLACK_CALL_TIMEOUT_MS, SLACK_INSTALL_PATH, type SlackConfig } from './config.ts'
import { createSlackNotifier } from './notices.ts'
import { createSlackSocket } from './socket.ts'
import { boltLogger } from './bolt-logger.ts'
import { createIdentityResolver, type IdentityResolver } from './identity.ts'
import { actionWorkspace, commandWorkspace, createSlackHandlers, linkIdsOf, type SlackRequestTools, type SlackWorkspace } from './interactions.ts'
import { createSlackInstallRouter } from './oauth.ts'
import { EDIT_MODAL_BLOCK_ID, renderNotInstalled, type SlackMessage } from './render.ts'
import { BlockActionsPayload, SlackEventCallback, SlashCommandBody, TokensRevokedEvent, ViewSubmissionPayload } from './schemas.ts'
import { createSlackGate, readRawBody } from './verify.ts'
import { createSlackIO, createSlackResponder } from './web-io.ts'
import { createSlackWorkspaces, WRITE_POLICY, type SlackWorkspaces, type WorkspaceAccess } from './workspaces.ts'

export const SLACK_EVENTS_PATH = '/slack/events'

const SOMETHING_WENT_WRONG_PLAIN = 'Something went wrong on our side.'
const SOMETHING_WENT_WRONG = `${SOMETHING_WENT_WRONG_PLAIN} Check with \`/invite show <email>\` before trying again.`

/**
 * The slash commands we answer: `/invite` (docs/commands.md) and `/inviteops`, for a workspace where
 * the app's `/invite` would clash with Slack's built-in one (README.md, Slack → Troubleshooting).
 */
export const SLASH_COMMANDS: readonly string[] = ['/invite', '/inviteops']

/**
 * Deadlines of the calls the request handlers make (`SLACK_CALL_TIMEOUT_MS` each). The work runs
 * after the ack, so one slow call holds up nobody's HTTP request, only the answer the
 * administrator waits for.
 */
export const SLACK_DEADLINES: Readonly<SlackDeadlines> = { webApiMs: SLACK_CALL_TIMEOUT_MS, responseUrlMs: SLACK_CALL_TIMEOUT_MS }

/** Milliseconds each kind of outside call may take. */
export interface SlackDeadlines {
  /** One Web API attempt (`users.info`, `chat.postMessage`, `views.open`). */
  webApiMs: number
  /** One `response_url` post. */
  responseUrlMs: number
}

export interface SlackRouterOptions {
  /**
   * Extra WebClient options (tests: `retryConfig: { retries: 0 }`). They apply to reads; writes
   * keep `WRITE_POLICY` (workspaces.ts) whatever is given here.
   */
  clientOptions?: WebClientOptions
  /** The tokens of the workspaces (default: from `config`); the edge shares one with its notifier. */
  workspaces?: SlackWorkspaces
  /** Deadlines of outside calls (tests shorten them); default `SLACK_DEADLINES`. */
  deadlines?: Partial<SlackDeadlines>
  identities?: IdentityResolver
  /** Time for the signature window, in ms (default `Date.now`). */
  nowMs?: () => number
  /** Posts to `response_url` (default global fetch, which nock intercepts in tests). */
  fetch?: typeof fetch
  /** How long a delivery key is remembered to drop duplicates (default 10 minutes). */
  dedupeTtlMs?: number
  /** Pieces of work after the ack running at once (default: `concurrencyForPool(deps.db)`). */
  workConcurrency?: number
  /** Pieces of work after the ack allowed to wait for their turn (default `SLACK_WORK_QUEUE_LIMIT`). */
  workQueueLimit?: number
  /**
   * The process's chat work queue, shared with Teams (the server passes it). Without it the
   * router makes its own of `workConcurrency` (tests, a router alone).
   */
  workQueue?: WorkQueue
}

/**
 * How many acknowledged requests may wait for their turn before new ones are told we are busy.
 * One command is a few milliseconds of database work, so on a small machine (about a hundred
 * commands a second) a full queue is well under a minute of waiting; a response_url stays
 * usable for 30 minutes.
 */
export const SLACK_WORK_QUEUE_LIMIT = 5000

/** What an administrator is told when the queue is full: nothing was done, and when to try again. */
export const SLACK_BUSY = 'InviteOps is busy with many requests right now, so this one was not run. Please try again in a minute.'

/** An express Router with a way to wait for the work acknowledged requests started. */
export type SlackRouter = Router & {
  /** Resolves when every piece of background work started so far has finished. */
  idle(): Promise<void>
  /** Work after the ack running and waiting now (for a metrics gauge or a status line). */
  workDepth(): { running: number; waiting: number }
}

/**
 * Everything the server needs from Slack, whichever way requests arrive (HTTP or Socket Mode) and
 * whichever way tokens are found (one workspace or distribution): what to mount, what posts the
 * notices, what `/readyz` asks, and the lifecycle around the HTTP server's.
 */
export interface SlackEdge {
  /** Mount at the app root: `POST /slack/events` over HTTP, and the install pages in distribution mode. */
  router: SlackRouter
  /** Posts the channel notices, with the token of each destination's workspace. */
  notifier: ChatNotifier
  /** Extra readiness checks (Socket Mode: the connection is open). */
  readiness: ReadinessCheck[]
  /** After the HTTP server listens: opens the socket in Socket Mode; nothing over HTTP. */
  start(): Promise<void>
  /** Closes the socket (no new requests); work already acknowledged is awaited with `router.idle()`. */
  stop(): Promise<void>
}

/**
 * The Slack edge for `inviteops serve`: the receiver the configuration asks for (Bolt's
 * ExpressReceiver on `POST /slack/events`, or its SocketModeReceiver), the listeners, the notifier.
 */
export function createSlackEdge(deps: Deps, config: SlackConfig, options: SlackRouterOptions = {}): SlackEdge {
  const logger = deps.logger.child({ adapter: 'slack' })
  // One token cache for the requests and the notices: a workspace's clients are built once.
  const workspaces = options.workspaces ?? createWorkspaces(deps, config, options)
  const shared = { ...options, workspaces }
  const notifier = createSlackNotifier(config, { deps, workspaces })
  if (config.appToken) {
    const socket = createSlackSocket({ appToken: config.appToken, apiUrl: config.apiUrl, logger, clientOptions: options.clientOptions })
    const router = buildSlackApp(deps, config, shared, socket.receiver)
    return { router, notifier, readiness: [socket.readiness], start: () => socket.start(), stop: () => socket.stop() }
  }
  const router = createSlackRouter(deps, config, shared)
  return { router, notifier, readiness: [], start: async () => {}, stop: async () => {} }
}

function createWorkspaces(deps: Deps, config: SlackConfig, options: SlackRouterOptions): SlackWorkspaces {
  return createSlackWorkspaces(deps, config, { clientOptions: options.clientOptions, webApiMs: options.deadlines?.webApiMs ?? SLACK_DEADLINES.webApiMs })
}

/** Where `authorize` leaves what it found in Bolt's context, for our listeners. */
const WORKSPACE_KEY = 'inviteopsWorkspace'

/** What `authorize` found: the workspace's token, why there is none, or an outage (the database). */
type RequestAccess = WorkspaceAccess | { ok: false; outage: true }

function accessOf(context: Context): RequestAccess {
  const found = context[WORKSPACE_KEY] as RequestAccess | undefined
  // Always set by our `authorize`; absent only for events Bolt does not authorize (uninstall, revocation).
  return found ?? { ok: false, outage: true }
}

/** Builds the Slack router over HTTP. Mount it at the app root: it serves `POST /slack/events`. */
export function createSlackRouter(deps: Deps, config: SlackConfig, options: SlackRouterOptions = {}): SlackRouter {
  if (!config.signingSecret) throw new Error('createSlackRouter: SLACK_SIGNING_SECRET is needed to receive Slack over HTTP')
  const logger = deps.logger.child({ adapter: 'slack' })
  const receiver = new ExpressReceiver({
    signingSecret: config.signingSecret,
    // Verified once, by our gate, which every request passes before it reaches this receiver
    // (below): the same HMAC, in a window both ways where Bolt's is one way only. Bolt's second
    // HMAC of every body was pure cost.
    signatureVerification: false,
    endpoints: SLACK_EVENTS_PATH,
    // Ack first, work after: the HTTP answer must not wait for the database (3-second limit).
    processBeforeResponse: false,
    logger: boltLogger(logger),
  })
  const router = buildSlackApp(deps, config, options, receiver)
  const gated = Router()
  // The receiver is reachable only as the last handler of the gated route: a request Bolt sees has
  // passed the gate, whatever path or method it tried.
  gated.post(SLACK_EVENTS_PATH, readRawBody, createSlackGate({ signingSecret: config.signingSecret, logger, nowMs: options.nowMs ?? (() => Date.now()) }), receiver.router)
  gated.use(router)
  return Object.assign(gated, { idle: () => router.idle(), workDepth: () => router.workDepth() })
}

/**
 * The Bolt app and our listeners on `receiver`. Returns a router for whatever HTTP routes the
 * edge serves besides the receiver's own (none yet), and the wait for acknowledged work.
 */
function buildSlackApp(deps: Deps, config: SlackConfig, options: SlackRouterOptions, receiver: Receiver): SlackRouter {
  const logger = deps.logger.child({ adapter: 'slack' })
  const deadlines = { ...SLACK_DEADLINES, ...options.deadlines }
  const workspaces = options.workspaces ?? createWorkspaces(deps, config, options)
  // One cache of who is who, keyed by workspace and member; each lookup uses its workspace's token.
  const identities: IdentityResolver = options.identities ?? createIdentityResolver({ logger })
  const dedupeTtlMs = options.dedupeTtlMs ?? 10 * 60_000
  const deduper = createDeliveryDeduper(dedupeTtlMs)

  const ioOptions = { apiUrl: config.apiUrl, logger, fetch: options.fetch, responseUrlTimeoutMs: deadlines.responseUrlMs }
  // Needs no token: what went wrong, and how to reinstall, reach a workspace whatever its state.
  const io = createSlackResponder(ioOptions)
  const installUrl = `${deps.config.publicBaseUrl}${SLACK_INSTALL_PATH}`
  const handlers = createSlackHandlers(deps, { distribution: workspaces.distribution, installUrl })

  /** A request's I/O and identity lookup, over its workspace's own token. */
  function toolsFor(access: Extract<WorkspaceAccess, { ok: true }>): SlackRequestTools {
    return {
      io: createSlackIO({ ...ioOptions, client: access.clients.writes }),
      identify: (teamId, userId) => identities.resolve(teamId, userId, access.clients.reads),
    }
  }

  /** What a request from a workspace without a token is told (or, for an outage, that something went wrong). */
  function cannotAnswer(access: Exclude<RequestAccess, { ok: true }>): SlackMessage {
    if ('outage' in access) return { text: SOMETHING_WENT_WRONG, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:warning: ${SOMETHING_WENT_WRONG}` } }] }
    return renderNotInstalled(access.gone, installUrl)
  }

  /** Bolt's `authorize`: the workspace's token; never throws (see the file's comment). */
  async function authorize(source: AuthorizeSourceData<boolean>): Promise<AuthorizeResult> {
    let access: RequestAccess
    try {
      access = await workspaces.access({ teamId: source.teamId ?? null, enterpriseId: source.enterpriseId ?? null, isEnterpriseInstall: source.isEnterpriseInstall === true })
    } catch (error) {
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), teamId: source.teamId }, 'slack installation lookup failed')
      access = { ok: false, outage: true }
    }
    if (!access.ok && !('outage' in access)) logger.info({ teamId: source.teamId, enterpriseId: source.enterpriseId, gone: access.gone }, 'slack request from a workspace without a working installation: told how to reinstall')
    // The token stays out of Bolt's own result: Bolt would keep a WebClient for every team and
    // token it is given, for ever (App#clients), and rotation makes a new token twice a day. Our
    // listeners use the bounded cache of workspaces.ts instead.
    return { [WORKSPACE_KEY]: access }
  }

  // The same key seen by another replica (Slack may redeliver to any of them) also means "done
  // already": the database remembers keys for `dedupeTtlMs`.
  const ledger = createDeliveryLedger(deps, 'slack', dedupeTtlMs)
  // The same statement reads which account the request's workspace is linked to, as the link
  // stands now (never cached): the handler then makes no statement of its own for it.
  async function firstTimeEverywhere(key: string, workspace: SlackWorkspace | null): Promise<Pick<SlackRequestTools, 'links'> | null> {
    const seen = await ledger.firstTimeWithLinks(key, workspace ? linkIdsOf(workspace) : [])
    if (!seen.first) logger.info({ key: key.split(':')[0] }, 'slack request already handled by another replica: not run twice')
    return seen.first ? { links: seen } : null
  }

  // Work after the ack takes its turn here (work-queue.ts says why): a burst of commands waits in
  // order rather than all asking the database pool at once and failing on its acquire timeout.
  // Slack's own bound on what waits, also on a queue shared with Teams.
  const waitLimit = { maxWaiting: options.workQueueLimit ?? SLACK_WORK_QUEUE_LIMIT }
  const work = options.workQueue ?? createWorkQueue({ concurrency: options.workConcurrency ?? concurrencyForPool(deps.db), maxWaiting: waitLimit.maxWaiting })
  let lastBusyLogMs = Number.NEGATIVE_INFINITY
  const busyAnswers = new Set<Promise<void>>()

  /** Tells the administrator that the request was not run; never throws. */
  async function tellBusy(responseUrl: string | null): Promise<void> {
    if (!responseUrl) return
    await io.respond(responseUrl, { text: SLACK_BUSY, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:hourglass: ${SLACK_BUSY}` } }], response_type: 'ephemeral', replace_original: false }).catch(() => {})
  }

  /** Whether the queue would take one more piece of work now (the ack can then say "busy" itself). */
  function roomForWork(): boolean {
    return work.hasRoom(waitLimit)
  }

  function logBusy(what: string): void {
    // At most one line a second: a burst that fills the queue would otherwise log every refusal.
    const now = Date.now()
    if (now - lastBusyLogMs < 1000) return
    lastBusyLogMs = now
    logger.warn({ what, running: work.running, waiting: work.waiting }, 'slack work queue full: the request was answered "busy" and not run')
  }

  /**
   * Queues work after the ack; an outage is logged and the administrator told, never thrown at
   * Bolt. Returns false when the queue is full: the work is dropped and the administrator told
   * through `responseUrl` that we are busy. `mustRun` work (rare lifecycle events) is never refused.
   */
  function afterAck(what: string, responseUrl: string | null, task: () => Promise<void>, opts: { mustRun?: boolean } = {}): boolean {
    const run = () =>
      task().catch(async (error: unknown) => {
        logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), what }, 'slack work failed')
        if (responseUrl) {
          await io
            .respond(responseUrl, {
              text: SOMETHING_WENT_WRONG,
              blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:warning: ${SOMETHING_WENT_WRONG}` } }],
              response_type: 'ephemeral',
              replace_original: false,
            })
            .catch(() => {})
        }
      })
    if (opts.mustRun) {
      work.enqueue(run)
      return true
    }
    if (work.offer(run, waitLimit)) return true
    logBusy(what)
    // Not queued itself: the answer is one short post under its deadline, and it must not wait
    // behind the work that made us busy. Tracked, so that shutdown waits for it too.
    const told = tellBusy(responseUrl).finally(() => busyAnswers.delete(told))
    busyAnswers.add(told)
    return false
  }

  /**
   * An ack that remembers it was sent, and what to do when a listener throws: log once, and ack
   * with `failure` when nothing was acknowledged yet. Bolt would otherwise log the error, wait
   * out its 3 seconds for an ack and answer 404, which Slack shows as a timeout.
   */
  function guardedAck<A>(boltAck: AckFn<A>, what: string, failure: A | undefined): { ack: AckFn<A>; failed(error: unknown): Promise<void> } {
    let acked = false
    const ack: AckFn<A> = async (response?: A) => {
      acked = true
      await boltAck(response)
    }
    return {
      ack,
      async failed(error: unknown) {
        logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), what }, 'slack listener failed before its work was handed off')
        if (acked) return
        await boltAck(failure).catch(() => {})
      },
    }
  }

  const app = new App({
    receiver,
    // Our own rather than Bolt's InstallationStore lookup: it tells a missing installation apart
    // from an outage without throwing, rotates tokens once across replicas, and avoids Bolt's
    // auth.test round trip.
    authorize,
    logger: boltLogger(logger),
    ignoreSelf: false,
    convoStore: false,
    // Bolt's own client (a listener's `client`, unused by ours): what a listener would do with it
    // is post, so the writes' policy.
    clientOptions: { slackApiUrl: config.apiUrl, timeout: deadlines.webApiMs, ...options.clientOptions, ...WRITE_POLICY },
  })

  app.command(/.*/, async ({ ack: boltAck, body, command, context }) => {
    const { ack, failed } = guardedAck(boltAck, 'command', { response_type: 'ephemeral', text: SOMETHING_WENT_WRONG })
    try {
      await commandListener(ack, body, command.command, context)
    } catch (error) {
      await failed(error)
    }
  })

  async function commandListener(ack: AckFn<string | RespondArguments>, body: unknown, commandName: string, context: Context): Promise<void> {
    const parsed = SlashCommandBody.safeParse(body)
    if (!parsed.success) {
      await ack({ response_type: 'ephemeral', text: 'This command arrived incomplete, so nothing was done. Please try again.' })
      return
    }
    if (!SLASH_COMMANDS.includes(commandName)) {
      await ack({ response_type: 'ephemeral', text: `InviteOps only answers \`/invite\`, not \`${commandName}\`.` })
      return
    }
    const access = accessOf(context)
    if (!access.ok) {
      await ack({ response_type: 'ephemeral', ...cannotAnswer(access) })
      return
    }
    // A retry (X-Slack-Retry-Num) means Slack did not see our ack in time, not that we missed the
    // request: acknowledge it and do not run the command twice. Slack's retry policy:
    // https://docs.slack.dev/apis/events-api/#retries . The trigger_id, unique per invocation,
    // also catches a duplicate delivered without the header.
    const key = `command:${parsed.data.team_id}:${parsed.data.trigger_id}`
    if ((context.retryNum ?? 0) > 0 || !deduper.firstTime(key)) {
      logger.info({ retryNum: context.retryNum, retryReason: context.retryReason }, 'slack command delivered again: acknowledged, not run twice')
      await ack()
      return
    }
    // A full queue is said in the ack itself: no outside call, and the administrator sees it at once.
    if (!roomForWork()) {
      logBusy('command')
      await ack({ response_type: 'ephemeral', text: SLACK_BUSY })
      return
    }
    await ack()
    afterAck('command', parsed.data.response_url, async () => {
      const first = await firstTimeEverywhere(key, commandWorkspace(parsed.data))
      if (first) await handlers.slashCommand(parsed.data, { ...toolsFor(access), ...first })
    })
  }

  app.action(/.*/, async ({ ack: boltAck, body, context }) => {
    // A click is acknowledged empty: Slack shows nothing for it, so what went wrong goes to the
    // response_url (afterAck) when there is one.
    const { ack, failed } = guardedAck<never>(boltAck, 'action', undefined)
    try {
      await ack()
      actionListener(body, context)
    } catch (error) {
      await failed(error)
    }
  })

  function actionListener(body: unknown, context: Context): void {
    const parsed = BlockActionsPayload.safeParse(body)
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'slack action payload refused')
      return
    }
    const action = parsed.data.actions[0]
    // action_ts is unique per click: the same payload twice, or a retry, runs once.
    const key = `action:${parsed.data.team?.id ?? ''}:${parsed.data.user.id}:${action?.action_id ?? ''}:${action?.block_id ?? ''}:${action?.action_ts ?? ''}`
    if ((context.retryNum ?? 0) > 0 || !deduper.firstTime(key)) {
      logger.info({ retryNum: context.retryNum }, 'slack action delivered again: acknowledged, not run twice')
      return
    }
    const responseUrl = parsed.data.response_url ?? null
    const access = accessOf(context)
    if (!access.ok) {
      // The response_url needs no token: the clicker is told, nothing else is called.
      const answer = cannotAnswer(access)
      if (responseUrl) afterAck('action', null, () => io.respond(responseUrl, { ...answer, response_type: 'ephemeral', replace_original: false }))
      return
    }
    afterAck('action', responseUrl, async () => {
      const first = await firstTimeEverywhere(key, actionWorkspace(parsed.data))
      if (first) await handlers.blockAction(parsed.data, { ...toolsFor(access), ...first })
    })
  }

  // Any callback id: an unknown one is answered inside `viewSubmission` rather than left to time out.
  app.view(/.*/, async ({ ack: boltAck, body, context }) => {
    // A modal has no response_url: the failure is shown under the input, where Slack shows a
    // refusal (https://docs.slack.dev/surfaces/modals, "response_action: errors"). The edit may have been
    // saved before the failure, hence "check" rather than "nothing changed".
    // Our view listener only takes view_submission (the callback constraint's default type).
    const { ack, failed } = guardedAck(boltAck as AckFn<ViewResponseAction>, 'view', { response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: `${SOMETHING_WENT_WRONG_PLAIN} Close this form and check the user with /invite show before trying again.` } })
    try {
      const parsed = ViewSubmissionPayload.safeParse(body)
      if (!parsed.success) {
        await ack({ response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: 'This form arrived incomplete: nothing was changed.' } })
        return
      }
      const access = accessOf(context)
      if (!access.ok) {
        await ack({ response_action: 'errors', errors: { [EDIT_MODAL_BLOCK_ID]: cannotAnswer(access).text } })
        return
      }
      // The edit runs before the ack so that a refusal shows in the modal; it is one short transaction.
      const { ack: answer, after } = await handlers.viewSubmission(parsed.data, toolsFor(access))
      if (answer) await ack(answer)
      else await ack()
      // The edit is saved already: what follows it (its confirmation) is never dropped.
      afterAck('view', null, after, { mustRun: true })
    } catch (error) {
      await failed(error)
    }
  })

  // Events (acknowledged by Bolt before the listener runs). Slack redelivers an event it did not
  // see acknowledged, with the same event_id, to any replica. No delivery key is recorded for
  // these: applying one is idempotent (only an active installation changes, under its row lock,
  // and one installed after the event is kept), so a copy changes nothing once the first has
  // worked, and a first attempt that failed (the database down) leaves nothing behind that would
  // make a redelivery skip it. What is left: Bolt acks before the listener runs, so Slack
  // redelivers only when that ack was late; an event whose work failed after a timely ack is not
  // sent again. Its workspace's next Web API call is then refused (invalid_auth, token_revoked),
  // and that disables the installation (workspaces.ts), so requests get the reinstall answer and
  // notices are held from then on.
  app.event(/^(app_uninstalled|tokens_revoked)$/, async ({ body }) => {
    const parsed = SlackEventCallback.safeParse(body)
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'slack event refused')
      return
    }
    // Rare, and not redelivered once acknowledged: never refused for a full queue.
    afterAck('event', null, () => onLifecycleEvent(parsed.data), { mustRun: true })
  })

  /** `app_uninstalled` and `tokens_revoked`: the workspace's installation stops answering at once. */
  async function onLifecycleEvent(body: SlackEventCallback): Promise<void> {
    const type = body.event.type
    // Whom the event is about, read as Bolt reads it (helpers.isBodyWithTypeEnterpriseInstall):
    // the first authorization, else the envelope.
    const auth = body.authorizations?.[0]
    const key = {
      teamId: auth?.team_id ?? body.team_id ?? null,
      enterpriseId: auth?.enterprise_id ?? body.enterprise_id ?? null,
      isEnterpriseInstall: auth?.is_enterprise_install ?? body.is_enterprise_install ?? false,
    }
    let reason: 'uninstalled' | 'revoked'
    if (type === 'tokens_revoked') {
      const revoked = TokensRevokedEvent.safeParse(body.event)
      if (!revoked.success) {
        logger.warn({ ...key }, 'slack tokens_revoked without a readable token list: ignored')
        return
      }
      const { bot = [], oauth = [] } = revoked.data.tokens
      // We never store user tokens (only the bot's): nothing of ours stopped working.
      if (oauth.length > 0) logger.info({ ...key, users: oauth.length }, 'slack user tokens revoked: InviteOps stores none, nothing to do')
      if (bot.length === 0) return
      reason = 'revoked'
    } else {
      reason = 'uninstalled'
    }
    if (!workspaces.distribution) {
      logger.warn(
        { ...key, event: type },
        `slack ${type === 'tokens_revoked' ? 'revoked the bot token' : 'app was uninstalled'} in the workspace of SLACK_BOT_TOKEN: that token no longer works. Reinstall the app in the workspace, set its new bot token as SLACK_BOT_TOKEN and restart`,
      )
      return
    }
    // Applied only to an installation that predates the event: an uninstall processed after a
    // quick reinstall (late, or redelivered) must not wipe the new install. `event_time` is in
    // whole seconds, so an install and its uninstall within the same second keep the install; its
    // dead token then disables it at its next Web API call.
    const happenedAt = body.event_time === undefined ? undefined : new Date(body.event_time * 1000)
    const changed = await disableSlackInstallation(deps, key, reason, { happenedAt })
    logger.info({ ...key, event: type, changed }, changed ? `slack installation ${reason}: its requests are told how to reinstall, its notices held` : `slack ${type}: no active installation to disable`)
  }

  app.error(async (error) => {
    logger.error({ err: error.message }, 'bolt error')
  })

  const router = Router()
  // Distribution mode: the "Add to Slack" pages (oauth.ts). Browser pages, so served over HTTP
  // whether Slack's requests arrive over HTTP or Socket Mode.
  if (config.oauth) router.use(createSlackInstallRouter(deps, config, { clientOptions: options.clientOptions }))
  return Object.assign(router, {
    async idle() {
      await work.idle()
      while (busyAnswers.size > 0) await Promise.allSettled([...busyAnswers])
    },
    workDepth: () => ({ running: work.running, waiting: work.waiting }),
  })
}

