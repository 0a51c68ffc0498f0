/**
 * The `TeamsIO` port over one botbuilder turn: the only file besides router.ts that knows
 * botbuilder's API, so moving to the M365 Agents SDK touches these two (docs/platform-notes.md).
 *
 * Connector calls made (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference):
 *  - GET  {serviceUrl}/v3/conversations/{conversationOrTeamId}/members/{userId}  (TeamsInfo.getMember)
 *  - POST {serviceUrl}/v3/conversations/{conversationId}/activities/{replyToId}  (a reply)
 *  - PUT  {serviceUrl}/v3/conversations/{conversationId}/activities/{activityId} (a card updated in place)
 *  - POST {serviceUrl}/v3/conversations, then POST …/{newId}/activities          (a 1:1 chat for a link)
 */
import { CardFactory, TeamsInfo, TurnContext, type CloudAdapter, type ConfigurationBotFrameworkAuthentication, type ConversationParameters } from 'botbuilder'
import type { Logger } from '../../src/ports/logger.ts'
import type { TeamsIO } from './interactions.ts'
import type { TeamsMessage } from './render.ts'
import type { MessageActivity } from './schemas.ts'
import { tenantOf } from './schemas.ts'

/** What makes Bot Connector clients (botframework-connector's ConnectorFactory, not exported by botbuilder). */
export type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>

/**
 * `factory`, with a deadline on every call its clients make (a member lookup, a reply, a card
 * update, a new 1:1 chat): after `timeoutMs` the call fails with a plain error and the socket is
 * dropped.
 *
 * botframework-connector leaves no option for it: its factory builds each ConnectorClient with
 * fixed options (ConnectorFactoryImpl.create even replaces `requestPolicyFactories`) and the
 * Azure HTTP pipeline under it is private. Every operation goes through the client's public
 * `sendOperationRequest`, whose `abortSignal` option the pipeline honours (it aborts the request
 * and does not retry an abort), so that is the seam. The race covers the one step the signal
 * does not reach: the bot's own access token, fetched from Entra ID before the request is sent.
 */
export function withConnectorDeadline(factory: ConnectorFactory, timeoutMs: number, opts: { retries?: boolean } = {}): ConnectorFactory {
  return {
    async create(serviceUrl, audience) {
      const client = await factory.create(serviceUrl, audience)
      if (opts.retries === false) withoutRetries(client)
      const send = client.sendOperationRequest.bind(client)
      client.sendOperationRequest = (args, spec, callback) => {
        const deadline = AbortSignal.timeout(timeoutMs)
        let onAbort = () => {}
        const late = new Promise<never>((_resolve, reject) => {
          onAbort = () => reject(new Error(`the Bot Connector did not answer within ${timeoutMs} ms`))
          deadline.addEventListener('abort', onAbort, { once: true })
        })
        const call = send({ ...args, options: { ...args.options, abortSignal: args.options?.abortSignal ?? deadline } }, spec, callback)
        return Promise.race([call, late]).finally(() => deadline.removeEventListener('abort', onAbort))
      }
      return client
    },
  }
}

/**
 * Removes the retries the Azure pipeline under a connector client makes by itself (core-rest-pipeline's
 * default retry policy: 429 after its Retry-After, 5xx and network errors with backoff, three
 * times), for callers that retry on their own terms: the notices job gives a 429's Retry-After back
 * to its queue instead of waiting inside a call that has a deadline. botframework-connector offers
 * no option for it (its client context passes no retry options on), so the pipeline, a private
 * field of the client, is reached through a checked shape; if a future version moves it, nothing
 * is removed and the deadline still bounds every call.
 */
function withoutRetries(client: unknown): void {
  const inner: unknown = typeof client === 'object' && client !== null ? Reflect.get(client, 'client') : undefined
  const pipeline: unknown = typeof inner === 'object' && inner !== null ? Reflect.get(inner, 'pipeline') : undefined
  const remove: unknown = typeof pipeline === 'object' && pipeline !== null ? Reflect.get(pipeline, 'removePolicy') : undefined
  if (typeof remove === 'function') remove.call(pipeline, { phase: 'Retry' })
}

/** The Bot Framework's public-cloud audience (botframework-connector's ToChannelFromBotOAuthScope). */
const PUBLIC_CLOUD_AUDIENCE = 'https://api.botframework.com'

/** The Bot Framework activity for one of our messages. */
export function toActivity(message: TeamsMessage): { type: 'message'; text: string; textFormat?: 'markdown'; attachments?: ReturnType<typeof CardFactory.adaptiveCard>[] } {
  switch (message.kind) {
    case 'text':
      return { type: 'message', text: message.text, textFormat: 'markdown' }
    case 'card':
      // `text` stays empty beside a card (Teams would show both); the summary goes in the card's fallback.
      return { type: 'message', text: '', attachments: [CardFactory.adaptiveCard({ ...message.card, fallbackText: message.text })] }
    default: {
      const unreachable: never = message
      return unreachable
    }
  }
}

export function createTurnIO(context: TurnContext, activity: MessageActivity, opts: { adapter: CloudAdapter; appId: string | null; logger: Logger }): TeamsIO {
  return {
    async getMember(userId) {
      try {
        return await TeamsInfo.getMember(context, userId)
      } catch (error) {
        // MemberNotFoundInConversation, throttling, an outage: refuse this once (audited by the core).
        opts.logger.warn({ err: error instanceof Error ? error.message : String(error), userId }, 'teams getMember failed')
        return undefined
      }
    },
    async reply(message) {
      await context.sendActivity(toActivity(message))
    },
    async update(activityId, message) {
      await context.updateActivity({ ...toActivity(message), id: activityId })
    },
    conversationReference() {
      // What a proactive post into this conversation needs (service URL, conversation, bot).
      return TurnContext.getConversationReference(context.activity)
    },
    async sendPrivately(userId, message) {
      const tenantId = tenantOf(activity)
      const parameters: ConversationParameters = {
        isGroup: false,
        bot: { id: activity.recipient.id, name: activity.recipient.name ?? 'InviteOps' },
        members: [{ id: userId, name: activity.from.name ?? '' }],
        channelData: { tenant: { id: tenantId } },
        ...(tenantId ? { tenantId } : {}),
      }
      // The audience of this turn (public or government cloud), as the adapter set it for replies.
      const scope: unknown = context.turnState.get(opts.adapter.OAuthScopeKey)
      const audience = typeof scope === 'string' && scope !== '' ? scope : PUBLIC_CLOUD_AUDIENCE
      await opts.adapter.createConversationAsync(opts.appId ?? '', activity.channelId, activity.serviceUrl, audience, parameters, async (privateContext) => {
        await privateContext.sendActivity(toActivity(message))
      })
    },
  }
}
