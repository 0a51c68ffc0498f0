/**
 * `POST /api/messages`: the Teams bot endpoint (docs/operations.md), served by botbuilder's
 * CloudAdapter inside the app's one HTTP server.
 *
 * Order of work, per request (docs/architecture.md): JSON body parsed for this route only, with a size
 * limit (malformed → 400, nothing runs) → the activity is authenticated (botbuilder's check of the
 * Bot Framework JWT when an App ID is set, run here under a deadline: any failure, whatever its
 * cause, is a 401 with a fixed body, and nothing runs) → the envelope botbuilder reads and copies
 * into replies is zod-checked (malformed → 400, nothing runs) → botbuilder's turn pipeline →
 * zod-parse → duplicate check → the core → render → connector calls (turn-io.ts, each under a deadline).
 *
 * The turn runs inside the request: the Bot Framework gives a bot 15 seconds to answer
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit#handle-rate-limits-for-bots)
 * and one invitation command is a short transaction. A redelivery of the same activity (the
 * channel retrying after a timeout) is recognised by its id and not run twice.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder'
import express, { Router, type ErrorRequestHandler } from 'express'
import { z } from 'zod'
import { createDeliveryDeduper, createDeliveryLedger } from '../../src/chat/deliveries.ts'
import type { Deps } from '../../src/deps.ts'
import type { Logger } from '../../src/ports/logger.ts'
import { concurrencyForPool, createWorkQueue, type WorkQueue } from '../../src/shared/work-queue.ts'
import type { TeamsConfig } from './config.ts'
import { createTeamsHandlers, type TeamsIO } from './interactions.ts'
import { SOMETHING_WENT_WRONG, type TeamsMessage } from './render.ts'
import { ActivityEnvelope, INVITEOPS_VERB, MessageActivity } from './schemas.ts'
import { createTurnIO, toActivity, withConnectorDeadline } from './turn-io.ts'

export const TEAMS_MESSAGES_PATH = '/api/messages'

/**
 * Deadlines of the calls the Teams adapter makes, in one place. The turn runs inside the
 * channel's request, which the Bot Framework gives 15 seconds; a turn makes up to three connector
 * calls in a row (a member lookup, a reply or card update, a 1:1 chat), so each gets 5 seconds,
 * far more than a healthy call needs. Verifying an activity may first fetch Microsoft's OpenID
 * metadata and signing keys (two requests, normally cached for a day): 5 seconds for both.
 */
export const TEAMS_DEADLINES: Readonly<TeamsDeadlines> = { verifyMs: 5_000, connectorMs: 5_000 }

/** Milliseconds each kind of outside call may take. */
export interface TeamsDeadlines {
  /** Verifying an activity's token, Microsoft's metadata and keys included. */
  verifyMs: number
  /** One Bot Connector call. */
  connectorMs: number
}

/**
 * The least an activity is: an object with a type, all that authentication needs (the same check
 * botbuilder's CloudAdapter.process makes). The envelope is checked after authentication
 * (ActivityEnvelope), so a caller without a valid token learns nothing of the schema.
 */
const TypedBody = z.looseObject({ type: z.string().min(1).max(100) })
/** The body, typed as botbuilder's Activity for its authentication once it has a type. */
const BotbuilderActivity = z.custom<Activity>((body) => TypedBody.safeParse(body).success)
/** The name of an invoke, for the log. */
const InvokeName = z.object({ name: z.string().max(100) })
/** A JWT's claims we look at before botbuilder does (times), read without trusting them. */
const JwtTimes = z.looseObject({ exp: z.number().optional(), nbf: z.number().optional() })
/** What the errors of a failed verification carry (botframework-connector's AuthenticationError, node-fetch's FetchError). */
const VerificationError = z.object({ name: z.string().optional(), statusCode: z.number().optional() })

/** botbuilder's clock skew allowance on token times (tokenValidationParameters.js: 5 minutes). */
const CLOCK_TOLERANCE_S = 5 * 60
/**
 * After a verification outlived its deadline (Microsoft's metadata hanging), how long new ones
 * are refused at once rather than each starting a fetch that may hang too: the library's fetch
 * cannot be cancelled, so this bounds the connections left waiting to one per period.
 */
const STALLED_RETRY_MS = 30_000

/** Why an activity was refused as unauthenticated: logged, never sent back. */
export type TeamsAuthRefusal =
  | 'missing_authorization'
  | 'malformed_authorization'
  | 'token_expired'
  | 'token_rejected'
  | 'keys_unavailable'
  | 'keys_timeout'
  | 'keys_stalled'

type AuthenticateRequestResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>
type Verdict = { ok: true; result: AuthenticateRequestResult } | { ok: false; reason: TeamsAuthRefusal }

export interface TeamsRouterOptions {
  /** How long an activity id is remembered to drop duplicates (default 10 minutes). */
  dedupeTtlMs?: number
  /** Largest JSON body accepted (express `limit`, default 256 kB: Teams activities are a few kB). */
  bodyLimit?: string
  /**
   * Extra botbuilder authentication settings (ConfigurationBotFrameworkAuthenticationOptions),
   * e.g. `ChannelService` for a government cloud. The App ID, password, type and tenant always
   * come from `config`.
   */
  authSettings?: Record<string, string>
  /** Deadlines of outside calls (tests shorten them); default `TEAMS_DEADLINES`. */
  deadlines?: Partial<TeamsDeadlines>
  /** Turns running at once (default: `concurrencyForPool(deps.db)`). */
  workConcurrency?: number
  /** Turns allowed to wait for their turn (default `TEAMS_WORK_QUEUE_LIMIT`). */
  workQueueLimit?: number
  /**
   * The process's chat work queue, shared with Slack (the server passes it). Without it the
   * router makes its own of `workConcurrency` (tests, a router alone).
   */
  workQueue?: WorkQueue
}

/**
 * How many activities may wait for a slot before new ones are told we are busy. A waiting turn
 * holds its HTTP request, which the Bot Framework gives 15 seconds: at about a hundred short
 * turns a second on a small machine, a few seconds of waiting.
 */
export const TEAMS_WORK_QUEUE_LIMIT = 500

/** What the sender is told when the queue is full: nothing was done, and when to try again. */
export const TEAMS_BUSY = 'InviteOps is busy with many requests right now, so this one was not run. Please try again in a minute.'

/** An express Router with a way to wait for the turns in flight. */
export type TeamsRouter = Router & {
  /** Resolves when every turn started so far has finished. */
  idle(): Promise<void>
  /** Turns running and waiting now (for a metrics gauge or a status line). */
  workDepth(): { running: number; waiting: number }
}

/** Builds the Teams router. Mount it at the app root: it serves `POST /api/messages`. */
export function createTeamsRouter(deps: Deps, config: TeamsConfig, options: TeamsRouterOptions = {}): TeamsRouter {
  const logger = deps.logger.child({ adapter: 'teams' })
  if (!config.appId) logger.warn('Teams runs UNAUTHENTICATED (TEAMS_UNAUTHENTICATED=1): activities are not verified. Never in production.')
  const deadlines = { ...TEAMS_DEADLINES, ...options.deadlines }
  const { auth, adapter } = createBotAdapter(config, { connectorMs: deadlines.connectorMs, authSettings: options.authSettings })
  const verify = createActivityVerifier({ auth, authenticated: config.appId !== null, timeoutMs: deadlines.verifyMs, logger })
  // Plain http to a loopback connector only without an App ID: the Emulator's mode, never production.
  const envelope = ActivityEnvelope({ loopbackHttp: config.appId === null })
  const handlers = createTeamsHandlers(deps)
  const dedupeTtlMs = options.dedupeTtlMs ?? 10 * 60_000
  const deduper = createDeliveryDeduper(dedupeTtlMs)
  const ledger = createDeliveryLedger(deps, 'teams', dedupeTtlMs)
  // Turns take their turn here (src/shared/work-queue.ts says why): a burst of activities waits in
  // order, inside their requests, rather than all asking the database pool at once and failing on
  // its acquire timeout.
  // Teams' own bound on what waits (a waiting turn holds its request), also on a shared queue.
  const waitLimit = { maxWaiting: options.workQueueLimit ?? TEAMS_WORK_QUEUE_LIMIT }
  const work = options.workQueue ?? createWorkQueue({ concurrency: options.workConcurrency ?? concurrencyForPool(deps.db), maxWaiting: waitLimit.maxWaiting })
  let lastBusyLogMs = Number.NEGATIVE_INFINITY

  /** Runs `task` when the queue gives it a slot; false, without running it, when the queue is full. */
  function inTurn(task: () => Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (!work.offer(() => task().then(() => resolve(true), reject), waitLimit)) resolve(false)
    })
  }

  /** Tells the sender of a message or a click that it was not run; other activities need no answer. */
  async function busy(context: TurnContext): Promise<void> {
    const now = Date.now()
    if (now - lastBusyLogMs >= 1000) {
      // At most one line a second: a burst that fills the queue would otherwise log every refusal.
      lastBusyLogMs = now
      logger.warn({ running: work.running, waiting: work.waiting }, 'teams work queue full: the activity was answered "busy" and not run')
    }
    if (context.activity.type === 'invoke') return answerInvoke(context, textAnswer(TEAMS_BUSY))
    if (context.activity.type !== 'message') return
    await context.sendActivity(toActivity({ kind: 'text', text: TEAMS_BUSY })).catch((sendError: unknown) => {
      logger.warn({ err: sendError instanceof Error ? sendError.message : String(sendError) }, 'teams: could not tell the sender we are busy')
    })
  }

  async function turn(context: TurnContext): Promise<void> {
    // A click on a card's Action.Execute: answered with the updated card (cardAction below).
    if (context.activity.type === 'invoke') return cardAction(context)
    // Installs, member changes, reactions: nothing to do. (A click on an older card's
    // Action.Submit arrives as a message with `value` and is handled as one.)
    if (context.activity.type !== 'message') return
    const parsed = MessageActivity.safeParse(context.activity)
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'teams activity refused')
      return
    }
    const activity = parsed.data
    // After authentication, so an unauthenticated request can never mark a real id as seen.
    // In-process first (the fast path), then the database: a redelivery may reach another replica.
    const key = `${activity.conversation.id}|${activity.id}`
    const again = () => logger.info({ activityId: activity.id }, 'teams activity delivered again: not run twice')
    if (!deduper.firstTime(key)) return again()
    try {
      if (!(await ledger.firstTime(key))) return again()
      await handlers.message(activity, createTurnIO(context, activity, { adapter, appId: config.appId, logger }))
    } catch (error) {
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), activityId: activity.id }, 'teams turn failed')
      // Told once, without details; if even that fails, the log has it.
      await context.sendActivity(toActivity({ kind: 'text', text: `⚠️ ${SOMETHING_WENT_WRONG}` })).catch((sendError: unknown) => {
        logger.warn({ err: sendError instanceof Error ? sendError.message : String(sendError) }, 'teams: could not tell the user about the failure')
      })
    }
  }

  /**
   * An `adaptiveCard/action` invoke: a click on one of our cards' Action.Execute buttons
   * (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards).
   * Its `data` is what the button carried, so the click runs like a message with `value` (the
   * same parsing, checks, audit and duplicate check), through an I/O that turns the card's update
   * into the invoke's answer:
   *  - the card the click came from (`replyToId`), updated, is the answer, so the clicker sees it
   *    at once, and it is also updated in place for everyone (`PUT …/activities/{replyToId}`)
   *    unless the update is for the caller only (a question before acting);
   *    that update runs after the answer, so the clicker waits only for the member lookup and
   *    the command, never for a second connector call;
   *  - a text answer (a refusal, "not an administrator") is shown to the clicker alone
   *    (`application/vnd.microsoft.activity.message`), and the shared card stays as it was.
   * Other invokes, and other verbs, are left to the route's `200 {}`.
   */
  async function cardAction(context: TurnContext): Promise<void> {
    const invoke = CardActionInvoke.safeParse(context.activity)
    if (!invoke.success) return
    const action = invoke.data.value.action
    if (action.verb !== INVITEOPS_VERB) {
      logger.info({ verb: action.verb.slice(0, 100) }, 'teams card action with an unknown verb')
      return answerInvoke(context, { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'InviteOps does not know this button.' } })
    }
    // Our buttons always carry an object; anything else is not a click of ours (and must not be
    // run as a typed command, which a message without a value would be).
    const data = action.data
    const parsed = typeof data === 'object' && data !== null && !Array.isArray(data) ? MessageActivity.safeParse({ ...context.activity, type: 'message', text: undefined, value: data }) : null
    if (!parsed?.success) {
      logger.warn({ issues: parsed ? parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) : ['value.action.data'] }, 'teams card action refused')
      return answerInvoke(context, { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'The click could not be read.' } })
    }
    const activity = parsed.data
    const key = `${activity.conversation.id}|${activity.id}`
    if (!deduper.firstTime(key) || !(await ledger.firstTime(key))) {
      logger.info({ activityId: activity.id }, 'teams card action delivered again: not run twice')
      return answerInvoke(context, textAnswer('This click was already handled.'))
    }
    const base = createTurnIO(context, activity, { adapter, appId: config.appId, logger })
    const answered: { message: TeamsMessage | null } = { message: null }
    const afterAnswer: (() => Promise<void>)[] = []
    const io: TeamsIO = {
      ...base,
      // `onlyForCaller` (a question such as remove's "are you sure?"): the clicker's answer only;
      // the shared card is left as it is.
      async update(activityId: string, message: TeamsMessage, opts?: { onlyForCaller?: boolean }) {
        if (activityId !== activity.replyToId || message.kind !== 'card') return base.update(activityId, message)
        answered.message = message
        if (!opts?.onlyForCaller) afterAnswer.push(() => base.update(activityId, message))
      },
      async reply(message) {
        // The first text said in answer to a click is the clicker's alone; anything else is posted.
        if (answered.message === null && message.kind === 'text') answered.message = message
        else await base.reply(message)
      },
    }
    try {
      await handlers.message(activity, io)
    } catch (error) {
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), activityId: activity.id }, 'teams card action failed')
      return answerInvoke(context, textAnswer(`⚠️ ${SOMETHING_WENT_WRONG}`))
    }
    const given = answered.message
    await answerInvoke(context, given === null ? textAnswer('Done.') : given.kind === 'card' ? cardAnswer(given) : textAnswer(given.text))
    // Queued, never refused: the click's work is done and answered; this only shows it to everyone.
    for (const update of afterAnswer) {
      work.enqueue(() =>
        update().catch((error: unknown) => {
          logger.warn({ err: error instanceof Error ? error.message : String(error), activityId: activity.replyToId }, 'teams: the card could not be updated for everyone')
        }),
      )
    }
  }

  const router = Router()
  router.post(TEAMS_MESSAGES_PATH, express.json({ limit: options.bodyLimit ?? '256kb' }), async (req, res) => {
    // botbuilder throws (→ 500) on some shapes it cannot read; an activity needs at least a type.
    const body = BotbuilderActivity.safeParse(req.body)
    if (!body.success) {
      res.status(400).json({ error: 'The body is not a Bot Framework activity.' })
      return
    }
    const verdict = await verify(body.data, req.get('authorization') ?? '')
    if (!verdict.ok) {
      // One fixed answer, whatever went wrong: the reason is for our log, not for the caller.
      logger.warn({ reason: verdict.reason }, 'teams activity refused: not authenticated')
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' })
      return
    }
    // The envelope, after authentication: a forged request gets the same 401 whatever its shape,
    // never a 400 that tells which field is wrong. botbuilder then runs on the checked copy (its
    // unreadable locale dropped, unknown account fields gone), never on the raw body.
    const checked = envelope.safeParse(req.body)
    if (!checked.success) {
      logger.warn({ issues: checked.error.issues.slice(0, 3).map((i) => i.path.join('.')), type: body.data.type }, 'teams activity refused: malformed envelope')
      res.status(400).json({ error: 'The activity is malformed.' })
      return
    }
    const activity = BotbuilderActivity.parse(checked.data)
    let answer: InvokeResponse | undefined
    try {
      answer = await adapter.runAuthenticated(verdict.result, activity, async (context) => {
        if (!(await inTurn(() => turn(context)))) await busy(context)
      })
    } catch (error) {
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), type: activity.type }, 'teams activity failed')
      answer = { status: 500, body: { error: 'internal' } }
    }
    // An invoke is a question the Teams client waits on. Our cards' Action.Execute is answered by
    // cardAction; others (a message extension, a sign-in step) we do not offer: botbuilder would
    // answer 501. Answered 200 with an empty object instead: nothing is wrong with the request
    // (no 4xx), and a 5xx would count as our outage and be retried; `{}` is a valid "nothing to show".
    if (activity.type === 'invoke' && (answer === undefined || answer.status >= 500)) {
      logger.info({ name: InvokeName.safeParse(activity).data?.name ?? null }, 'teams invoke not handled: answered 200 {}')
      answer = { status: 200, body: {} }
    }
    if (answer === undefined) res.status(200).end()
    else if (answer.body === undefined) res.status(answer.status).end()
    else res.status(answer.status).json(answer.body)
  })
  // Body errors of this route (malformed JSON, too large): a plain 4xx, nothing runs.
  const bodyErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const type = typeof err === 'object' && err !== null && 'type' in err ? err.type : null
    if (type === 'entity.parse.failed') {
      res.status(400).json({ error: 'The body is not valid JSON.' })
      return
    }
    if (type === 'entity.too.large') {
      res.status(413).json({ error: 'The body is too large.' })
      return
    }
    next(err)
  }
  router.use(TEAMS_MESSAGES_PATH, bodyErrors)

  return Object.assign(router, {
    idle: () => work.idle(),
    workDepth: () => ({ running: work.running, waiting: work.waiting }),
  })
}

/** An `adaptiveCard/action` invoke, as far as the router reads it; the data is parsed by the handlers (CardValue). */
const CardActionInvoke = z.object({
  name: z.literal('adaptiveCard/action'),
  value: z.object({
    action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(1000), data: z.unknown().optional() }),
  }),
})

/** What an `adaptiveCard/action` invoke is answered with (the Universal Actions response format). */
type CardActionAnswer =
  | { statusCode: 200; type: 'application/vnd.microsoft.card.adaptive'; value: unknown }
  | { statusCode: 200; type: 'application/vnd.microsoft.activity.message'; value: string }
  | { statusCode: 400; type: 'application/vnd.microsoft.error'; value: { code: string; message: string } }

/** The card shown in place of the one clicked: the same JSON as the card's update for everyone. */
function cardAnswer(message: Extract<TeamsMessage, { kind: 'card' }>): CardActionAnswer {
  return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: toActivity(message).attachments?.[0]?.content ?? message.card }
}

/** A short message to the clicker alone (Teams shows it under the card). */
function textAnswer(text: string): CardActionAnswer {
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text }
}

/** Gives botbuilder the invoke's answer; the route sends it back as the HTTP response. */
async function answerInvoke(context: TurnContext, body: CardActionAnswer): Promise<void> {
  await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body } })
}

/**
 * botbuilder's authentication and adapter for `config`, every connector call under `connectorMs`:
 * the router's (turns) and the notifier's (proactive posts, notices.ts).
 */
export function createBotAdapter(config: TeamsConfig, opts: { connectorMs: number; authSettings?: Record<string, string> | undefined; retries?: boolean }): { auth: DeadlineAuthentication; adapter: TeamsCloudAdapter } {
  // An empty App ID is botbuilder's "authentication disabled" (the Emulator's mode); teamsConfigFromEnv
  // gives one only outside production.
  const auth = new DeadlineAuthentication(
    {
      ...opts.authSettings,
      MicrosoftAppId: config.appId ?? '',
      MicrosoftAppPassword: config.appPassword ?? '',
      MicrosoftAppType: config.appType,
      MicrosoftAppTenantId: config.tenantId ?? '',
    },
    opts.connectorMs,
    opts.retries ?? true,
  )
  return { auth, adapter: new TeamsCloudAdapter(auth) }
}

/**
 * botbuilder's CloudAdapter, run from an activity we have authenticated ourselves. Its own
 * `process()` authenticates too, but answers a failure of the key fetch with a 500 carrying the
 * error's message and prints every refusal to the console; its `processActivity` (protected)
 * takes an AuthenticateRequestResult instead of a header: the rest of its pipeline (connector
 * client, turn, invoke and expectReplies answers) is unchanged.
 */
export class TeamsCloudAdapter extends CloudAdapter {
  runAuthenticated(result: AuthenticateRequestResult, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(result, activity, logic)
  }
}

/** botbuilder's configuration-driven authentication, whose connector clients all have a deadline. */
export class DeadlineAuthentication extends ConfigurationBotFrameworkAuthentication {
  readonly #connectorMs: number
  /** Whether the Azure pipeline under each client may retry by itself (withConnectorDeadline). */
  readonly #retries: boolean

  constructor(settings: ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[0], connectorMs: number, retries = true) {
    super(settings)
    this.#connectorMs = connectorMs
    this.#retries = retries
  }

  // The factory of a turn (replies, updates, member lookups) comes with the authentication result.
  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(activity, authHeader)
    return result.connectorFactory ? { ...result, connectorFactory: withConnectorDeadline(result.connectorFactory, this.#connectorMs, { retries: this.#retries }) } : result
  }

  // The factory of a new conversation (createConversationAsync: the 1:1 chat for a link).
  override createConnectorFactory(...args: Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>): ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']> {
    return withConnectorDeadline(super.createConnectorFactory(...args), this.#connectorMs, { retries: this.#retries })
  }
}

/**
 * Where botframework-connector's own console output goes while one of our verifications runs.
 * It prints some refusals itself (jwtTokenExtractor.js: `console.error` for an expired token, and
 * for any failure once the signing key was found, with the key), which would put every forged
 * request on stderr outside our log. The console is process-wide, so it is wrapped once; the
 * wrapper diverts only calls made inside a verification (AsyncLocalStorage follows the awaits)
 * and passes every other call through untouched.
 */
const verificationConsole = new AsyncLocalStorage<(line: string) => void>()
/** Our wrappers (a WeakSet, not a mark on the function: a spy may copy a function's properties). */
const consoleWrappers = new WeakSet<object>()

function divertVerificationConsole(): void {
  for (const method of ['error', 'warn', 'log'] as const) {
    const original = console[method]
    // Wrapped already, unless something (a test's spy) has replaced it since.
    if (consoleWrappers.has(original)) continue
    const wrapper = (...args: unknown[]) => {
      const sink = verificationConsole.getStore()
      if (sink) sink(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' ').slice(0, 300))
      else original.apply(console, args)
    }
    consoleWrappers.add(wrapper)
    console[method] = wrapper
  }
}

/**
 * Authenticates activities: botbuilder's verification of the Bot Framework JWT (signature against
 * Microsoft's published keys, issuer, audience, endorsements, service URL), with what botbuilder
 * lacks around it: a deadline (its metadata fetch has none), one refusal whatever the cause (its
 * errors range from 401s to a network failure's 500), a reason code for the log, and quick
 * refusals of what cannot pass (no header, not a JWT, expired) before any key is fetched.
 */
function createActivityVerifier(opts: { auth: ConfigurationBotFrameworkAuthentication; authenticated: boolean; timeoutMs: number; logger: Logger }): (activity: Activity, header: string) => Promise<Verdict> {
  divertVerificationConsole()
  const quiet = (line: string) => opts.logger.debug({ botbuilder: line }, 'teams: botbuilder output during verification')
  /** Since when a verification has been stuck past its deadline, if one is. */
  let stalledSince: number | null = null

  return async (activity, header) => {
    if (opts.authenticated) {
      const early = earlyRefusal(header)
      if (early) return { ok: false, reason: early }
      if (stalledSince !== null && Date.now() - stalledSince < STALLED_RETRY_MS) return { ok: false, reason: 'keys_stalled' }
    }
    const attempt = verificationConsole.run(quiet, () => opts.auth.authenticateRequest(activity, header))
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), opts.timeoutMs)
    })
    try {
      const outcome = await Promise.race([attempt, late])
      if (outcome !== 'late') return { ok: true, result: outcome }
      const mark = Date.now()
      stalledSince = mark
      const settled = () => {
        if (stalledSince === mark) stalledSince = null
      }
      attempt.then(settled, settled)
      return { ok: false, reason: 'keys_timeout' }
    } catch (error) {
      return { ok: false, reason: refusalOf(error) }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** What can be refused from the header alone; botbuilder would refuse the same, later. */
function earlyRefusal(header: string): TeamsAuthRefusal | null {
  if (header.trim() === '') return 'missing_authorization'
  const jwt = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(header)
  if (!jwt?.[2]) return 'malformed_authorization'
  let claims: unknown
  try {
    claims = JSON.parse(Buffer.from(jwt[2], 'base64url').toString('utf8'))
  } catch {
    return 'malformed_authorization'
  }
  const times = JwtTimes.safeParse(claims)
  if (!times.success) return 'malformed_authorization'
  const now = Date.now() / 1000
  if (times.data.exp !== undefined && times.data.exp + CLOCK_TOLERANCE_S < now) return 'token_expired'
  if (times.data.nbf !== undefined && times.data.nbf - CLOCK_TOLERANCE_S > now) return 'token_rejected'
  return null
}

/** A failed verification's reason: Microsoft's keys out of reach, or the token itself. */
function refusalOf(error: unknown): TeamsAuthRefusal {
  const shape = VerificationError.safeParse(error)
  if (!shape.success) return 'token_rejected'
  // node-fetch's network and body errors; botbuilder's "Failed to load openID config/Keys" (500).
  if (shape.data.name === 'FetchError' || shape.data.statusCode === 500) return 'keys_unavailable'
  return 'token_rejected'
}
