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
