/**
 * Socket Mode (docs/operations.md): with `SLACK_APP_TOKEN` set, InviteOps opens a WebSocket to
 * Slack (`apps.connections.open` on SLACK_API_URL gives its address) and receives commands,
 * clicks and form submissions over it instead of over HTTP, acknowledging each envelope by its
 * `envelope_id`. Bolt's SocketModeReceiver does the protocol; this module adds what an operator
 * needs around it: `/readyz` says whether the socket is open, and a dropped socket reconnects.
 */
import { SocketModeReceiver, type Receiver } from '@slack/bolt'
import type { WebClientOptions } from '@slack/web-api'
import type { Logger } from '../../src/ports/logger.ts'
import type { ReadinessCheck } from '../../src/server/http.ts'
import { SLACK_CALL_TIMEOUT_MS } from './config.ts'
import { boltLogger } from './bolt-logger.ts'

export interface SlackSocketOptions {
  appToken: string
  apiUrl: string
  logger: Logger
  /** Extra Web API options for `apps.connections.open` (tests: `retryConfig: { retries: 0 }`). */
  clientOptions?: WebClientOptions
}

export interface SlackSocket {
  receiver: Receiver
  readiness: ReadinessCheck
  start(): Promise<void>
  stop(): Promise<void>
}

export function createSlackSocket(opts: SlackSocketOptions): SlackSocket {
  const receiver = new SocketModeReceiver({
    appToken: opts.appToken,
    logger: boltLogger(opts.logger),
    autoReconnectEnabled: true,
    installerOptions: { clientOptions: { slackApiUrl: opts.apiUrl, timeout: SLACK_CALL_TIMEOUT_MS, ...opts.clientOptions } },
  })
  let connected = false
  receiver.client.on('connected', () => {
    connected = true
  })
  receiver.client.on('disconnected', () => {
    connected = false
  })
  receiver.client.on('reconnecting', () => {
    connected = false
  })
  return {
    receiver,
    readiness: {
      name: 'slack_socket',
      async check() {
        return connected ? { ok: true } : { ok: false, reason: 'slack_socket_closed', detail: 'the Socket Mode connection to Slack is not open' }
      },
    },
    async start() {
      await receiver.start()
    },
    async stop() {
      await receiver.stop()
    },
  }
}
