/**
 * A bounded, first-in first-out queue of background work for one process: at most `concurrency`
 * tasks run at once, at most `maxWaiting` wait for a slot, and an offer beyond that is refused at
 * once (the caller tells whoever asked that we are busy) instead of piling up.
 *
 * Why it exists: a chat adapter acknowledges a request at once and does its work afterwards. Left
 * unbounded, a burst of requests starts all of that work together, every piece asks the database
 * pool for a connection at the same moment, and the ones that wait longer than the pool's acquire
 * timeout fail, although each of them alone would have taken milliseconds. Queued here, they
 * take their turn and each gets its real answer.
 *
 * Written here rather than taken from p-queue or p-limit: neither is a dependency of ours (p-queue
 * only arrives, as an old major version, inside the Slack Web API client), neither refuses work
 * beyond a bound by itself, and what is needed (a counter, an array and a wait for "empty") is
 * shorter than the glue around either.
 */

/** One piece of work. It should not reject: a rejection is handed to `onError` and otherwise ignored. */
export type WorkTask = () => Promise<void>

export interface WorkQueueOptions {
  /** Tasks running at once: a whole number ≥ 1 (anything else is refused: the queue would never run a task). */
  concurrency: number
  /** Tasks allowed to wait for a slot (≥ 0); an offer beyond it is refused. */
  maxWaiting: number
  /** Told of a task that rejected anyway (the queue itself carries on, even when this throws). */
  onError?: (error: unknown) => void
}

export interface WorkQueue {
  /**
   * Starts `task` now when a slot is free, or queues it behind the ones already waiting. Returns
   * false, and neither runs nor keeps `task`, when `maxWaiting` tasks already wait, or, when
   * given, `opts.maxWaiting` (a caller's own, smaller bound on a queue it shares).
   */
  offer(task: WorkTask, opts?: { maxWaiting?: number }): boolean
  /** Whether `offer` would take one more task now (with the same `opts`). */
  hasRoom(opts?: { maxWaiting?: number }): boolean
  /** Tasks allowed to run at once, as normalised at creation. */
  readonly concurrency: number
  /** Tasks allowed to wait, as normalised at creation. */
  readonly maxWaiting: number
  /** Like `offer`, but never refused: for rare work that must not be dropped (it still waits its turn). */
  enqueue(task: WorkTask): void
  /** Tasks running now. */
  readonly running: number
  /** Tasks waiting for a slot. */
  readonly waiting: number
  /** Resolves once nothing runs and nothing waits, including tasks offered while it waited. */
  idle(): Promise<void>
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  // NaN, 0 or a negative concurrency would queue every task for ever: refused here, loudly, where
  // the wrong number is given, rather than clamped into a width nobody chose.
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`work queue: concurrency must be a whole number ≥ 1, not ${String(options.concurrency)}`)
  const concurrency = options.concurrency
  // NaN counts as 0 (nothing waits); Infinity is allowed (bounded by each caller's own offer).
  const maxWaiting = Number.isNaN(options.maxWaiting) ? 0 : Math.max(0, Math.floor(options.maxWaiting))
  // FIFO as an array and the index of its head: shift() would copy the array on every start.
  let queue: (WorkTask | undefined)[] = []
  let head = 0
  let running = 0
  let idleWaiters: (() => void)[] = []

  const waiting = () => queue.length - head

  function start(task: WorkTask): void {
    running += 1
    let p: Promise<void>
    try {
      p = task()
    } catch (error) {
      p = Promise.reject(error)
    }
    p.catch((error: unknown) => {
      // A throwing onError must not become an unhandled rejection (which ends the process).
      try {
        options.onError?.(error)
      } catch {
        // Nothing left to tell.
      }
    }).finally(finished)
  }

  function finished(): void {
    running -= 1
    if (head < queue.length) {
      const next = queue[head]!
      queue[head] = undefined
      head += 1
      // Keep the array the size of what waits: drop the consumed head now and then.
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head)
        head = 0
      }
      start(next)
      return
    }
    if (running === 0) {
      queue = []
      head = 0
      const waiters = idleWaiters
      idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  function add(task: WorkTask): void {
    if (running < concurrency) start(task)
    else queue.push(task)
  }

  function hasRoom(opts?: { maxWaiting?: number }): boolean {
    const bound = Math.min(maxWaiting, opts?.maxWaiting ?? maxWaiting)
    return running < concurrency || waiting() < bound
  }

  return {
    offer(task, opts) {
      if (!hasRoom(opts)) return false
      add(task)
      return true
    },
    hasRoom,
    concurrency,
    maxWaiting,
    enqueue: add,
    get running() {
      return running
    },
    get waiting() {
      return waiting()
    },
    idle() {
      if (running === 0 && waiting() === 0) return Promise.resolve()
      return new Promise<void>((resolve) => idleWaiters.push(resolve))
    },
  }
}

/**
 * Work running at once for the chat adapters of one process, whose every piece needs a database
 * connection: as many as the pool has connections, so no piece waits out the pool's acquire
 * timeout behind the others. One queue of this width serves Slack and Teams together
 * (adapters/server/start.ts), never one each: two would let twice the pool ask for connections.
 * Not two fewer to leave room for the workers and the API: that cost about 15 % of the throughput
 * and about 0.6 ms more CPU per command in the benchmark (docs/performance.md), the pool then sitting
 * partly idle while commands waited here; a worker asking meanwhile waits for one short piece of
 * chat work (milliseconds), far inside the pool's acquire timeout.
 */
export function concurrencyForPool(db: { client: { config?: { pool?: { max?: unknown } } } }): number {
  const max = db.client.config?.pool?.max
  return typeof max === 'number' && Number.isFinite(max) && max >= 1 ? Math.floor(max) : 10
}
