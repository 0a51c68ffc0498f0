import type { PGlite } from '@electric-sql/pglite'

interface Pending {
  handlerId: number
  message: Uint8Array
  onData: (data: Uint8Array) => void
  resolve: (bytes: number) => void
  reject: (err: Error) => void
}

// Frontend message types that end an exchange (PostgreSQL protocol 3.0): Sync closes an
// extended-protocol query (Parse, Bind, Describe, Execute, Sync), Query is a whole simple query,
// Terminate ends the session. A startup packet has no type byte; its first byte is 0.
const SYNC = 0x53
const QUERY = 0x51
const TERMINATE = 0x58
const STARTUP = 0x00
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4])

/**
 * Serialises the connections of pglite-socket onto PGlite's one session, an exchange at a time.
 *
 * Why not the queue pglite-socket ships: it interleaves connections message by message, so one
 * client's Bind can land after another client's Parse ("unnamed prepared statement does not
 * exist", "portal does not exist") as soon as two requests run at once. Here a connection keeps the
 * session from its first message until its exchange ends (Sync/Query) and, inside a transaction,
 * until the transaction ends; only then may another connection's messages run.
 *
 * It implements the three methods PGLiteSocketHandler calls on its queue.
 */
export class PgliteSessionQueue {
  private readonly queue: Pending[] = []
  private owner: number | null = null
  private processing = false

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject })
      void this.process()
    })
  }

  getQueueLength(): number {
    return this.queue.length
  }

  /** A connection went away: drop what it still had queued. */
  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i]!
      if (item.handlerId === handlerId) {
        this.queue.splice(i, 1)
        item.reject(new Error('connection closed'))
      }
    }
  }

  /**
   * A connection went away while holding the session: roll back its transaction, end its
   * half-sent exchange, and let the others run.
   */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return
    await this.db.runExclusive(async () => {
      // A Sync leaves the "skip until Sync" state an error may have left behind.
      await this.db.execProtocolRaw(SYNC_MESSAGE)
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK')
    })
    this.owner = null
    void this.process()
  }

  private async process(): Promise<void> {
    if (this.processing) return
    this.processing = true
    try {
      for (;;) {
        const index = this.owner === null ? (this.queue.length > 0 ? 0 : -1) : this.queue.findIndex((q) => q.handlerId === this.owner)
        if (index < 0) return
        const item = this.queue.splice(index, 1)[0]!
        let bytes = 0
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length
                item.onData(data)
              },
            }),
          )
        } catch (err) {
          item.reject(err instanceof Error ? err : new Error(String(err)))
          continue
        }
        const type = item.message[0]
        const endsExchange = type === SYNC || type === QUERY || type === TERMINATE || type === STARTUP
        this.owner = endsExchange && !this.db.isInTransaction() ? null : item.handlerId
        item.resolve(bytes)
      }
    } finally {
      this.processing = false
    }
  }
}
