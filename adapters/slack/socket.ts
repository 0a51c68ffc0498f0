/**
 * Socket Mode (docs/operations.md): with `SLACK_APP_TOKEN` set, InviteOps opens a WebSocket to
 * Slack (`apps.connections.open` on SLACK_API_URL gives its address) and receives commands,
 * clicks and form submissions over it instead of over HTTP, acknowledging each envelope by its
 * `envelope_id` (https://docs.slack.dev/apis/events-api/using-socket-mode).
 *
 * Bolt's SocketModeReceiver and its client (@slack/socket-mode) speak the protocol: `hello`,
 * envelopes and acks, `disconnect`, pings. This module keeps the connection open around them,
 * and that part is ours, because the client's own reconnection (`autoReconnectEnabled`) falls
 * short for a server:
 *
 *  - it waits 5 seconds before every reconnect, even after Slack's routine `disconnect`
 *    (`refresh_requested`), when Slack asks for a new connection as soon as possible;
 *  - when `apps.connections.open` fails during a reconnect with an error it deems unrecoverable
 *    (`invalid_auth`, `account_inactive`…), the rejection is left unhandled, which stops Node;
 *  - on a network or HTTP error, `apps.connections.open` is retried 100 times in a row by the Web
 *    API client, saying nothing meanwhile, and when those run out the connection is given up;
 *  - nothing bounds the wait for `hello` once the WebSocket is open.
 *
 * So the client runs with `autoReconnectEnabled: false` and this module reconnects: at once after
 * a connection that was open closes, then after 1, 2, 4… seconds (at most a minute) while
 * attempts fail, forever, whatever the error (an operator may fix a token or a firewall while we
 * wait; the log and `/readyz` say what failed). `/readyz` is ready only while the socket is open.
 */
import { LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt'
import type { WebClientOptions } from '@slack/web-api'
import type { Logger } from '../../src/ports/logger.ts'
import type { ReadinessCheck, ReadinessResult } from '../../src/server/http.ts'
import { SLACK_CALL_TIMEOUT_MS } from './config.ts'

/** What the socket needs: the app-level token, where the Web API is, and the waits (tests shorten them). */
export interface SlackSocketOptions {
  appToken: string
  apiUrl: string
  logger: Logger
  /** Extra Web API options for `apps.connections.open` (tests: `retryConfig: { retries: 0 }`). */
  clientOptions?: WebClientOptions
  /** How long Slack may take to say `hello` once the WebSocket is open (default `SLACK_CALL_TIMEOUT_MS`). */
  helloTimeoutMs?: number
  /** The wait after the first failed attempt in a row, doubled each time (default 1 s). */
  retryMinMs?: number
  /** The longest wait between attempts (default 60 s). */
  retryMaxMs?: number
}

/** Bolt's receiver for the Slack app, and the connection's lifecycle around it. */
export interface SlackSocket {
  receiver: SocketModeReceiver
  /** `/readyz`: ready while the socket is open (Slack said `hello` and nothing closed it since). */
  readiness: ReadinessCheck
  /**
   * Starts connecting, in the background, and keeps the connection open until `stop`. Resolves at
   * once and never rejects: Slack being slow or unreachable does not hold up the server's start
   * (nor its handling of SIGTERM); `/readyz` and the log say how the connection is doing.
   */
  start(): Promise<void>
  /** Closes the socket (a close frame to Slack) and stops reconnecting. */
  stop(): Promise<void>
}

type State =
  | { kind: 'idle' }
  | { kind: 'connecting'; attempt: number; lastError: string | null }
  | { kind: 'open' }
  | { kind: 'waiting'; attempt: number; lastError: string; waitMs: number }
  | { kind: 'stopped' }

/** The Slack errors from `apps.connections.open` that only an operator can fix (a token, an app setting). */
const OPERATOR_ERRORS = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'not_allowed_token_type', 'missing_scope', 'team_disabled', 'user_removed_from_team'])

/**
 * The Socket Mode receiver for the Slack edge (router.ts gives it to Bolt's `App`), with its
 * `/readyz` check and the reconnecting described at the top of this file.
 */
export function createSlackSocket(opts: SlackSocketOptions): SlackSocket {
  const logger = opts.logger.child({ component: 'slack-socket' })
  const helloTimeoutMs = opts.helloTimeoutMs ?? SLACK_CALL_TIMEOUT_MS
  const retryMinMs = opts.retryMinMs ?? 1_000
  const retryMaxMs = opts.retryMaxMs ?? 60_000
  const receiver = new SocketModeReceiver({
    appToken: opts.appToken,
    logger: socketLogger(logger),
    autoReconnectEnabled: false,
    installerOptions: {
      clientOptions: {
        slackApiUrl: opts.apiUrl,
        timeout: SLACK_CALL_TIMEOUT_MS,
        // One try per attempt: the attempts and their spacing are this module's (the client's
        // default is 100 tries in a row, hiding what fails from the log and /readyz).
        retryConfig: { retries: 0 },
        ...opts.clientOptions,
      },
    },
  })
  const client = receiver.client
  guardMessages(client, logger)

  let state: State = { kind: 'idle' }
  let timer: NodeJS.Timeout | undefined
  /** The attempt under way (client.start()), awaited by `stop`. */
  let attempt: Promise<void> | null = null
  let failuresInARow = 0

  client.on('connected', () => {
    if (state.kind === 'stopped') return
    if (state.kind === 'connecting' && state.attempt > 1) logger.info({ attempts: state.attempt }, 'slack: Socket Mode connection open again')
    else logger.info({}, 'slack: Socket Mode connection open')
    state = { kind: 'open' }
    failuresInARow = 0
  })
  // A connection that was open closed (Slack's `disconnect`, a close frame, a network cut): open
  // a new one at once. While an attempt is under way its own failure schedules the next.
  client.on('disconnected', () => {
    if (state.kind !== 'open') return
    logger.info({}, 'slack: Socket Mode connection closed; opening a new one')
    connect(1, null)
  })

  function connect(n: number, lastError: string | null): void {
    if (state.kind === 'stopped') return
    state = { kind: 'connecting', attempt: n, lastError }
    attempt = tryOnce(n).finally(() => {
      attempt = null
    })
  }

  async function tryOnce(n: number): Promise<void> {
    // The client waits for `hello` without a deadline: past ours, this try is closed and retried.
    let helloTimer: NodeJS.Timeout | undefined
    let onAuthenticated: (() => void) | undefined
    const helloLate = new Promise<'late'>((resolve) => {
      onAuthenticated = () => {
        helloTimer = setTimeout(() => resolve('late'), helloTimeoutMs)
      }
      client.once('authenticated', onAuthenticated)
    })
    // Settled either way below; the race may leave it behind, so it must never go unhandled.
    const started = client.start().then(() => 'open' as const)
    started.catch(() => {})
    try {
      const outcome = await Promise.race([started, helloLate])
      if (outcome === 'late') {
        await client.disconnect()
        throw new Error(`Slack did not say hello within ${helloTimeoutMs} ms of the WebSocket being opened`)
      }
      // `stop` came while this try was under way: it must not leave a connection behind.
      if (state.kind === 'stopped') await client.disconnect()
    } catch (error) {
      if (state.kind === 'stopped') return
      const text = describe(error)
      failuresInARow += 1
      const waitMs = Math.min(retryMaxMs, retryMinMs * 2 ** (failuresInARow - 1))
      const fields = { attempt: n, error: text, retryInMs: waitMs }
      if (isOperatorError(error)) logger.error(fields, 'slack: Slack refused to open a Socket Mode connection: check SLACK_APP_TOKEN (an app-level token with connections:write, of an app with Socket Mode on); retrying')
      else logger.warn(fields, 'slack: could not open the Socket Mode connection; retrying')
      state = { kind: 'waiting', attempt: n, lastError: text, waitMs }
      timer = setTimeout(() => {
        timer = undefined
        connect(n + 1, text)
      }, waitMs)
    } finally {
      clearTimeout(helloTimer)
      if (onAuthenticated) client.off('authenticated', onAuthenticated)
    }
  }

  function readiness(): ReadinessResult {
    switch (state.kind) {
      case 'open':
        return { ok: true }
      case 'idle':
        return { ok: false, reason: 'slack_socket_connecting', detail: 'the Socket Mode connection to Slack has not been started' }
      case 'connecting':
        return { ok: false, reason: 'slack_socket_connecting', detail: `opening the Socket Mode connection to Slack (attempt ${state.attempt}${state.lastError ? `; last error: ${state.lastError}` : ''})` }
      case 'waiting':
        return { ok: false, reason: 'slack_socket_closed', detail: `the Socket Mode connection to Slack is closed (attempt ${state.attempt}: ${state.lastError}); trying again after ${state.waitMs} ms` }
      case 'stopped':
        return { ok: false, reason: 'slack_socket_closed', detail: 'the Socket Mode connection was closed for shutdown' }
    }
  }

  return {
    receiver,
    readiness: { name: 'slack_socket', check: async () => readiness() },
    async start() {
      if (state.kind === 'idle') connect(1, null)
    },
    async stop() {
      const was = state.kind
      state = { kind: 'stopped' }
      clearTimeout(timer)
      // `disconnect` sends a close frame and resolves when the socket has closed; the client also
      // gives up on a peer that never answers (30 s). The caller bounds the wait anyway.
      await client.disconnect()
      await attempt
      if (was === 'open') logger.info({}, 'slack: Socket Mode connection closed for shutdown')
    },
  }
}

/** An attempt's failure in words (the client rejects with nothing when the WebSocket closes before `hello`). */
function describe(error: unknown): string {
  if (error === undefined) return 'the WebSocket closed before Slack said hello'
  return error instanceof Error ? error.message : String(error)
}

function isOperatorError(error: unknown): boolean {
  const code = (error as { data?: { error?: unknown } } | null)?.data?.error
  return typeof code === 'string' && OPERATOR_ERRORS.has(code)
}

/**
 * The client's logger. Its debug lines print whole envelopes and acknowledgements (response_urls,
 * what an administrator typed in a form) and the WebSocket URL with its ticket, so they are not
 * logged. Its errors are logged as warnings: they are the details of what this module reports
 * with its own severity (a network drop is routine and reconnected at once; a refused token is
 * logged as an error here), and an alert on error lines should not fire for each reconnect.
 */
function socketLogger(logger: Logger): BoltLogger {
  let name = 'socket-mode'
  const warn = (...msg: unknown[]) => logger.warn({ component: name }, msg.map(String).join(' '))
  return {
    debug: () => {},
    info: (...msg: unknown[]) => logger.info({ component: name }, msg.map(String).join(' ')),
    warn,
    error: warn,
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: (n: string) => {
      name = n
    },
  }
}

/**
 * The client reads each message in an async listener that assumes Slack's shapes (an
 * `events_api` envelope without `payload.event` throws). A listener's rejection would be
 * unhandled and stop Node, so ours wraps it: a malformed message is logged and dropped.
 */
function guardMessages(client: SocketModeReceiver['client'], logger: Logger): void {
  const listeners = client.listeners('ws_message') as ((data: unknown, isBinary: boolean) => unknown)[]
  client.removeAllListeners('ws_message')
  client.on('ws_message', (data: unknown, isBinary: boolean) => {
    for (const listener of listeners) {
      Promise.resolve()
        .then(() => listener(data, isBinary))
        .catch((error: unknown) => logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'slack: a Socket Mode message Slack sent could not be read; dropped'))
    }
  })
}
