import { describe, expect, it } from 'vitest'
import { concurrencyForPool, createWorkQueue } from '../../src/shared/work-queue.ts'

/** A task the test finishes by hand, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void
  const done = new Promise<void>((resolve) => (open = resolve))
  return { task: () => (log.push(`start ${name}`), done.then(() => void log.push(`end ${name}`))), open }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('work queue', () => {
  it('runs at most `concurrency` tasks at once, the rest in the order they were offered', async () => {
    const log: string[] = []
    const q = createWorkQueue({ concurrency: 2, maxWaiting: 10 })
    const tasks = ['a', 'b', 'c', 'd'].map((n) => gate(log, n))
    for (const t of tasks) expect(q.offer(t.task)).toBe(true)
    expect(log).toEqual(['start a', 'start b'])
    expect([q.running, q.waiting]).toEqual([2, 2])
    tasks[1]!.open()
    await settle()
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c'])
    tasks[0]!.open()
    await settle()
    expect(log.at(-1)).toBe('start d')
    expect([q.running, q.waiting]).toEqual([2, 0])
    tasks[2]!.open()
    tasks[3]!.open()
    await q.idle()
    expect([q.running, q.waiting]).toEqual([0, 0])
  })

  it('refuses an offer once `maxWaiting` tasks wait, and accepts again when one has started', async () => {
    const log: string[] = []
    const q = createWorkQueue({ concurrency: 1, maxWaiting: 1 })
    const a = gate(log, 'a')
    const b = gate(log, 'b')
    expect(q.offer(a.task)).toBe(true)
    expect(q.offer(b.task)).toBe(true)
    let ranRefused = false
    expect(q.offer(async () => void (ranRefused = true))).toBe(false)
    // enqueue is never refused (rare work that must not be dropped).
    const c = gate(log, 'c')
    q.enqueue(c.task)
    expect(q.waiting).toBe(2)
    a.open()
    await settle()
    expect(q.offer(async () => {})).toBe(false)
    b.open()
    c.open()
    await q.idle()
    expect(ranRefused).toBe(false)
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })

  it('idle waits for tasks offered while it waited, and resolves at once when empty', async () => {
    const q = createWorkQueue({ concurrency: 1, maxWaiting: 5 })
    await q.idle()
    const done: string[] = []
    q.offer(async () => {
      await settle()
      // Work that starts more work: idle must wait for it too.
      q.offer(async () => {
        await settle()
        done.push('second')
      })
      done.push('first')
    })
    await q.idle()
    expect(done).toEqual(['first', 'second'])
  })

  it('a task that throws or rejects frees its slot and is reported, the next one runs', async () => {
    const errors: unknown[] = []
    const q = createWorkQueue({ concurrency: 1, maxWaiting: 5, onError: (e) => errors.push(e) })
    const ran: string[] = []
    q.offer(() => {
      throw new Error('sync')
    })
    q.offer(() => Promise.reject(new Error('async')))
    q.offer(async () => void ran.push('after'))
    await q.idle()
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync', 'async'])
    expect(ran).toEqual(['after'])
  })

  it('keeps order across many tasks (the head of its array is compacted as it goes)', async () => {
    const q = createWorkQueue({ concurrency: 3, maxWaiting: 10_000 })
    const order: number[] = []
    for (let i = 0; i < 5000; i++) expect(q.offer(async () => void order.push(i))).toBe(true)
    await q.idle()
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i))
  })

  it('for a chat adapter, runs as many as the database pool has connections', () => {
    expect(concurrencyForPool({ client: { config: { pool: { max: 10 } } } })).toBe(10)
    expect(concurrencyForPool({ client: { config: { pool: { max: 2 } } } })).toBe(2)
    expect(concurrencyForPool({ client: { config: {} } })).toBe(10)
  })

  it('refuses a concurrency that would never run a task, at creation', () => {
    for (const concurrency of [Number.NaN, 0, -1, 0.5, Number.POSITIVE_INFINITY]) {
      expect(() => createWorkQueue({ concurrency, maxWaiting: 1 }), String(concurrency)).toThrow(RangeError)
    }
  })

  it('an onError that throws is no unhandled rejection, and the queue carries on', async () => {
    const unhandled: unknown[] = []
    const on = (reason: unknown) => void unhandled.push(reason)
    process.on('unhandledRejection', on)
    try {
      const q = createWorkQueue({
        concurrency: 1,
        maxWaiting: 5,
        onError: () => {
          throw new Error('onError broke')
        },
      })
      const ran: string[] = []
      q.offer(() => Promise.reject(new Error('task')))
      q.offer(async () => void ran.push('after'))
      await q.idle()
      // Unhandled rejections are reported after the microtasks of the turn: give them one.
      await settle()
      expect(ran).toEqual(['after'])
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', on)
    }
  })

  it('shared: each caller may bound what of its own waits below the queue\'s bound; the limits read back normalised', async () => {
    const log: string[] = []
    const q = createWorkQueue({ concurrency: 1, maxWaiting: Number.POSITIVE_INFINITY })
    expect([q.concurrency, q.maxWaiting]).toEqual([1, Number.POSITIVE_INFINITY])
    expect(createWorkQueue({ concurrency: 2, maxWaiting: 3.7 }).maxWaiting).toBe(3)
    const a = gate(log, 'a')
    expect(q.offer(a.task, { maxWaiting: 1 })).toBe(true)
    expect(q.hasRoom({ maxWaiting: 1 })).toBe(true)
    expect(q.offer(gate(log, 'b').task, { maxWaiting: 1 })).toBe(true)
    // One waits: a caller bounded at one is refused, another with a larger bound is not.
    expect(q.hasRoom({ maxWaiting: 1 })).toBe(false)
    expect(q.offer(gate(log, 'c').task, { maxWaiting: 1 })).toBe(false)
    expect(q.offer(gate(log, 'd').task, { maxWaiting: 5000 })).toBe(true)
    expect([q.running, q.waiting]).toEqual([1, 2])
    expect(log).toEqual(['start a'])
  })
})
