/**
 * `POST /slack/events`: slash commands, interactivity and events on one Request URL
 * (docs/operations.md), served by Bolt 5 inside the app's one HTTP server.
 *
 * Order of work, per request (docs/architecture.md): our gate (verify.ts: signature in a 5-minute window
 * both ways, body shape) → Bolt's ExpressReceiver (verifies again, parses, dispatches) → ack at
 * once → zod-parse → the core → render → `response_url` / `chat.postMessage`.
 *
 * Slack gives a request 3 seconds (https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response):
 * every listener acks first and does the work afterwards, tracked so shutdown and tests can wait
 * for it (`idle()`).
 */
import { App, ExpressReceiver, LogLevel, type AckFn, type Context, type Receiver, type RespondArguments, type ViewResponseAction } from '@slack/bolt'
import { WebClient, type RetryOptions, type WebClientOptions } from '@slack/web-api'
import { Router } from 'express'
import { createDeliveryDeduper, createDeliveryLedger } from '../../src/chat/deliveries.ts'
import type { Deps } from '../../src/deps.ts'
import type { ChatNotifier } from '../../src/notices/chat-notifier.ts'
import type { ReadinessCheck } from '../../src/server/http.ts'
import { SLACK_CALL_TIMEOUT_MS, type SlackConfig } from './config.ts'
import { createSlackNotifier } from './notices.ts'
import { createSlackSocket } from './socket.ts'
import { boltLogger } from './bolt-logger.ts'
import { createIdentityResolver, type IdentityResolver } from './identity.ts'
import { createSlackHandlers } from './interactions.ts'
import { EDIT_MODAL_BLOCK_ID } from './render.ts'
import { BlockActionsPayload, SlashCommandBody, ViewSubmissionPayload } from './schemas.ts'
import { createSlackGate, readRawBody } from './verify.ts'
import { createSlackIO } from './web-io.ts'

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

/**
 * Retries of Web API reads (`users.info`): a couple, within 30 seconds. The client's default (10
 * retries over about 30 minutes) suits a background job, not an administrator waiting for an
 * answer; a rate limit is still waited out (the client pauses for Retry-After) within the same
 * budget. Asking again changes nothing at Slack.
 */
const READ_RETRIES: RetryOptions = { retries: 2, factor: 2, minTimeout: 1_000, maxRetryTime: 30_000 }

/**
 * Web API writes (`chat.postMessage`, `views.open`) are never retried. A post that timed out may
 * have reached Slack, and posting again shows the confirmation twice (the client retries a
 * timeout like any network error); a `views.open` trigger_id is single-use, so a second try
 * cannot work. A rate limit is returned at once rather than waited out: a refused post falls
 * back to the `response_url` (interactions.ts).
 */
const WRITE_POLICY: WebClientOptions = { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true }

export interface SlackRouterOptions {
  /**
   * Extra WebClient options (tests: `retryConfig: { retries: 0 }`). They apply to reads; writes
   * keep `WRITE_POLICY` whatever is given here.
   */
  clientOptions?: WebClientOptions
  /** Deadlines of outside calls (tests shorten them); default `SLACK_DEADLINES`. */
  deadlines?: Partial<SlackDeadlines>
  identities?: IdentityResolver
  /** Time for the signature window, in ms (default `Date.now`). */
  nowMs?: () => number
  /** Posts to `response_url` (default global fetch, which nock intercepts in tests). */
  fetch?: typeof fetch
  /** How long a delivery key is remembered to drop duplicates (default 10 minutes). */
  dedupeTtlMs?: number
}

/** An express Router with a way to wait for the work acknowledged requests started. */
export type SlackRouter = Router & {
  /** Resolves when every piece of background work started so far has finished. */
  idle(): Promise<void>
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
  if (config.appToken) {
    const socket = createSlackSocket({ appToken: config.appToken, apiUrl: config.apiUrl, logger, clientOptions: options.clientOptions })
    const router = buildSlackApp(deps, config, options, socket.receiver)
    return { router, notifier: createSlackNotifier(config), readiness: [socket.readiness], start: () => socket.start(), stop: () => socket.stop() }
  }
  const router = createSlackRouter(deps, config, options)
  return { router, notifier: createSlackNotifier(config), readiness: [], start: async () => {}, stop: async () => {} }
}

/** Builds the Slack router over HTTP. Mount it at the app root: it serves `POST /slack/events`. */
export function createSlackRouter(deps: Deps, config: SlackConfig, options: SlackRouterOptions = {}): SlackRouter {
  if (!config.signingSecret) throw new Error('createSlackRouter: SLACK_SIGNING_SECRET is needed to receive Slack over HTTP')
  const logger = deps.logger.child({ adapter: 'slack' })
  const receiver = new ExpressReceiver({
    signingSecret: config.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    // Ack first, work after: the HTTP answer must not wait for the database (3-second limit).
    processBeforeResponse: false,
    logger: boltLogger(logger),
  })
  const router = buildSlackApp(deps, config, options, receiver)
  const gated = Router()
  gated.post(SLACK_EVENTS_PATH, readRawBody, createSlackGate({ signingSecret: config.signingSecret, logger, nowMs: options.nowMs ?? (() => Date.now()) }))
  gated.use(receiver.router)
  gated.use(router)
  return Object.assign(gated, { idle: () => router.idle() })
}

/**
 * The Bolt app and our listeners on `receiver`. Returns a router for whatever HTTP routes the
 * edge serves besides the receiver's own (none yet), and the wait for acknowledged work.
 */
function buildSlackApp(deps: Deps, config: SlackConfig, options: SlackRouterOptions, receiver: Receiver): SlackRouter {
  const logger = deps.logger.child({ adapter: 'slack' })
  const deadlines = { ...SLACK_DEADLINES, ...options.deadlines }
  // Two clients: the Web API client has no per-call retry setting, and reads and writes need
  // different ones.
  const readOptions: WebClientOptions = { slackApiUrl: config.apiUrl, timeout: deadlines.webApiMs, logLevel: LogLevel.ERROR, retryConfig: READ_RETRIES, ...options.clientOptions }
  const writeOptions: WebClientOptions = { ...readOptions, ...WRITE_POLICY }
  const reads = new WebClient(config.botToken ?? undefined, readOptions)
  const writes = new WebClient(config.botToken ?? undefined, writeOptions)
  const identities = options.identities ?? createIdentityResolver({ client: reads, logger })
  const dedupeTtlMs = options.dedupeTtlMs ?? 10 * 60_000
  const deduper = createDeliveryDeduper(dedupeTtlMs)

  const io = createSlackIO({ client: writes, apiUrl: config.apiUrl, logger, fetch: options.fetch, responseUrlTimeoutMs: deadlines.responseUrlMs })
  const handlers = createSlackHandlers(deps, io, identities)

  // The same key seen by another replica (Slack may redeliver to any of them) also means "done
  // already": the database remembers keys for `dedupeTtlMs`.
  const ledger = createDeliveryLedger(deps, 'slack', dedupeTtlMs)
  async function firstTimeEverywhere(key: string): Promise<boolean> {
    const first = await ledger.firstTime(key)
    if (!first) logger.info({ key: key.split(':')[0] }, 'slack request already handled by another replica: not run twice')
    return first
  }

  const pending = new Set<Promise<void>>()
  /** Runs work after the ack; an outage is logged and the administrator told, never thrown at Bolt. */
  function afterAck(what: string, responseUrl: string | null, work: () => Promise<void>): void {
    const p = work()
      .catch(async (error: unknown) => {
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
      .finally(() => pending.delete(p))
    pending.add(p)
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
    // A single-workspace bot token; `authorize` avoids Bolt's auth.test round trip at start.
    authorize: async () => ({ botToken: config.botToken ?? undefined }),
    logger: boltLogger(logger),
    ignoreSelf: false,
    convoStore: false,
    // Bolt's own client (a listener's `client`, unused by ours): what a listener would do with it
    // is post, so the writes' policy.
    clientOptions: writeOptions,
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
    await ack()
    afterAck('command', parsed.data.response_url, async () => {
      if (await firstTimeEverywhere(key)) await handlers.slashCommand(parsed.data)
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
    afterAck('action', parsed.data.response_url ?? null, async () => {
      if (await firstTimeEverywhere(key)) await handlers.blockAction(parsed.data)
    })
  }

  // Any callback id: an unknown one is answered inside `viewSubmission` rather than left to time out.
  app.view(/.*/, async ({ ack: boltAck, body }) => {
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
      // The edit runs before the ack so that a refusal shows in the modal; it is one short transaction.
      const { ack: answer, after } = await handlers.viewSubmission(parsed.data)
      if (answer) await ack(answer)
      else await ack()
      afterAck('view', null, after)
    } catch (error) {
      await failed(error)
    }
  })

  app.error(async (error) => {
    logger.error({ err: error.message }, 'bolt error')
  })

  const router = Router()
  return Object.assign(router, {
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending])
    },
  })
}

