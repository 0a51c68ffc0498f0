/**
 * `POST /api/messages`: the Teams bot endpoint (DESIGN.md §4), served by botbuilder's
 * CloudAdapter inside the app's one HTTP server.
 *
 * Order of work, per request (STYLE.md §4): JSON body parsed for this route only, with a size
 * limit (malformed → 400, nothing runs) → botbuilder authenticates the activity (the Bot Framework
 * JWT when an App ID is set: a missing or invalid Authorization header gets 401 and nothing runs)
 * → zod-parse → duplicate check → the core → render → connector calls (turn-io.ts).
 *
 * The turn runs inside the request: the Bot Framework gives a bot 15 seconds to answer
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit#handle-rate-limits-for-bots)
 * and one invitation command is a short transaction. A redelivery of the same activity (the
 * channel retrying after a timeout) is recognised by its id and not run twice.
 */
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type TurnContext } from 'botbuilder'
import express, { Router, type ErrorRequestHandler } from 'express'
import { z } from 'zod'
import { createDeliveryDeduper, createDeliveryLedger } from '../../src/chat/deliveries.ts'
import type { Deps } from '../../src/deps.ts'
import type { TeamsConfig } from './config.ts'
import { createTeamsHandlers } from './interactions.ts'
import { SOMETHING_WENT_WRONG } from './render.ts'
import { MessageActivity } from './schemas.ts'
import { createTurnIO, toActivity } from './turn-io.ts'

export const TEAMS_MESSAGES_PATH = '/api/messages'

/** The least an activity is: an object with a type. The rest is checked after authentication. */
const ActivityEnvelope = z.looseObject({ type: z.string().min(1).max(100) })

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
}

/** An express Router with a way to wait for the turns in flight. */
export type TeamsRouter = Router & {
  /** Resolves when every turn started so far has finished. */
  idle(): Promise<void>
}

/** Builds the Teams router. Mount it at the app root: it serves `POST /api/messages`. */
export function createTeamsRouter(deps: Deps, config: TeamsConfig, options: TeamsRouterOptions = {}): TeamsRouter {
  const logger = deps.logger.child({ adapter: 'teams' })
  if (!config.appId) logger.warn('Teams runs UNAUTHENTICATED (TEAMS_UNAUTHENTICATED=1): activities are not verified. Never in production.')
  // An empty App ID is botbuilder's "authentication disabled" (the Emulator's mode); teamsConfigFromEnv
  // gives one only outside production.
  const auth = new ConfigurationBotFrameworkAuthentication({
    ...options.authSettings,
    MicrosoftAppId: config.appId ?? '',
    MicrosoftAppPassword: config.appPassword ?? '',
    MicrosoftAppType: config.appType,
    MicrosoftAppTenantId: config.tenantId ?? '',
  })
  const adapter = new CloudAdapter(auth)
  const handlers = createTeamsHandlers(deps)
  const dedupeTtlMs = options.dedupeTtlMs ?? 10 * 60_000
  const deduper = createDeliveryDeduper(dedupeTtlMs)
  const ledger = createDeliveryLedger(deps, 'teams', dedupeTtlMs)
  const pending = new Set<Promise<void>>()

  async function turn(context: TurnContext): Promise<void> {
    // Installs, member changes, reactions: nothing to do. (Our cards use Action.Submit, which
    // arrives as a message with `value`; no invoke activities are expected.)
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

  const router = Router()
  router.post(TEAMS_MESSAGES_PATH, express.json({ limit: options.bodyLimit ?? '256kb' }), async (req, res) => {
    // botbuilder throws (→ 500) on some shapes it cannot read; an activity needs at least a type.
    if (!ActivityEnvelope.safeParse(req.body).success) {
      res.status(400).json({ error: 'The body is not a Bot Framework activity.' })
      return
    }
    const work = adapter.process(req, res, async (context) => {
      const p = turn(context)
      pending.add(p)
      try {
        await p
      } finally {
        pending.delete(p)
      }
    })
    await work
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
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending])
    },
  })
}
