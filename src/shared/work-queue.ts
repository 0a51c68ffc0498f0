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
  /** Tasks running at once (≥ 1). */
  concurrency: number
  /** Tasks allowed to wait for a slot (≥ 0); an offer beyond it is refused. */
  maxWaiting: number
  /** Told of a task that rejected anyway (the queue itself carries on). */
  onError?: (error: unknown) => void
}

export interface WorkQueue {
  /**
   * Starts `task` now when a slot is free, or queues it behind the ones already waiting. Returns
   * false, and neither runs nor keeps `task`, when `maxWaiting` tasks already wait.
   */
  offer(task: WorkTask): boolean
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
  const concurrency = Math.max(1, Math.floor(options.concurrency))
  const maxWaiting = Math.max(0, Math.floor(options.maxWaiting))
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
    p.catch((error: unknown) => options.onError?.(error)).finally(finished)
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

  return {
    offer(task) {
      if (running >= concurrency && waiting() >= maxWaiting) return false
      add(task)
      return true
    },
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
 * Work running at once for a chat adapter whose every piece needs a database connection: as many
 * as the pool has connections, so no piece waits out the pool's acquire timeout behind the others.
 * (Two fewer, leaving room for the workers, cost a quarter of the throughput and about 1 ms of CPU
 * per command in the benchmark: the pool then sat partly idle while commands waited here.)
 */
export function concurrencyForPool(db: { client: { config?: { pool?: { max?: unknown } } } }): number {
  const max = db.client.config?.pool?.max
  return typeof max === 'number' && Number.isFinite(max) && max >= 1 ? Math.floor(max) : 10
}
