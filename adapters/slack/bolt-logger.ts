/**
 * Slack's libraries (Bolt, @slack/oauth, @slack/web-api) log through a logger interface of their
 * own, which logs strings; these put their lines into ours, as structured lines of our log.
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt'
import type { Logger } from '../../src/ports/logger.ts'

/** Bolt's logger interface over ours (Bolt logs strings). */
export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO
  let name = 'bolt'
  return {
    debug: (...msg: unknown[]) => logger.debug({ component: name }, msg.map(String).join(' ')),
    info: (...msg: unknown[]) => logger.info({ component: name }, msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => logger.warn({ component: name }, msg.map(String).join(' ')),
    error: (...msg: unknown[]) => logger.error({ component: name }, msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l
    },
    getLevel: () => level,
    setName: (n: string) => {
      name = n
    },
  }
}

/**
 * For a WebClient (or @slack/oauth's InstallProvider, which hands its logger to its own clients)
 * that carries credentials in its requests: its info, warnings and errors go to our log, its
 * debug lines nowhere, whatever LOG_LEVEL says. At debug a WebClient logs each request's body,
 * redacting only keys that name a token, so `client_secret`, an OAuth `code` and the
 * `refresh_token`'s answer would be written out; the install flow also logs the authorize URL
 * (with the signed state) and the install options (with the install link).
 */
export function quietSlackLogger(logger: Logger, name = 'slack-web-api'): BoltLogger {
  const inner = boltLogger(logger)
  inner.setName(name)
  return { ...inner, debug: () => {}, getLevel: () => LogLevel.INFO, setLevel: () => {} }
}
