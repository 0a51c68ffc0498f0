/**
 * The notices job's loops (docs/notices.md): at most one round in flight, a wake during a round
 * runs the next one as soon as it ends, and a start during an un-awaited stop never runs two
 * rounds side by side. Timers are vitest's fake ones; each round waits until the test ends it.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { createLoop } from '../../src/notices/notices-job.ts'
import { silentLogger } from '../../src/ports/logger.ts'

const HOUR = 60 * 60_000

/** A loop whose rounds each wait for `finish()`; counts the rounds started and the most at once. */
function controlledLoop() {
  const waiting: (() => void)[] = []
  const state = { started: 0, running: 0, mostAtOnce: 0 }
  const loop = createLoop(HOUR, silentLogger, 'test', async () => {
    state.started += 1
    state.running += 1
    state.mostAtOnce = Math.max(state.mostAtOnce, state.running)
    await new Promise<void>((resolve) => waiting.push(resolve))
    state.running -= 1
  })
  /** End the oldest round in flight and let its `.finally` run. */
  const finish = async () => {
    waiting.shift()?.()
    await vi.advanceTimersByTimeAsync(0)
  }
  return { loop, state, finish }
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

test('a wake while a round is in flight runs the next round as soon as it ends, not an interval later', async () => {
  const { loop, state, finish } = controlledLoop()
  loop.start()
  await vi.advanceTimersByTimeAsync(0)
  expect(state.started).toBe(1)
  loop.wake()
  await finish()
  expect(state.started).toBe(2)
  // Without a wake, the next round waits its interval.
  await finish()
  await vi.advanceTimersByTimeAsync(HOUR - 1)
  expect(state.started).toBe(2)
  await vi.advanceTimersByTimeAsync(1)
  expect(state.started).toBe(3)
  await finish()
  await loop.stop()
})

test('a wake while waiting runs the round at once', async () => {
  const { loop, state, finish } = controlledLoop()
  loop.start()
  await vi.advanceTimersByTimeAsync(0)
  await finish()
  loop.wake()
  await vi.advanceTimersByTimeAsync(0)
  expect(state.started).toBe(2)
  await finish()
  await loop.stop()
})

test('start during an un-awaited stop runs no second round beside the stopped one; one loop goes on', async () => {
  const { loop, state, finish } = controlledLoop()
  loop.start()
  await vi.advanceTimersByTimeAsync(0)
  const stopped = loop.stop()
  loop.start()
  await vi.advanceTimersByTimeAsync(0)
  expect(state.started).toBe(1)
  await finish()
  await stopped
  // The restarted loop runs its next round now (it was started meanwhile), then one per interval.
  await vi.advanceTimersByTimeAsync(0)
  expect(state.started).toBe(2)
  for (let i = 0; i < 3; i++) {
    await finish()
    await vi.advanceTimersByTimeAsync(HOUR)
  }
  expect(state.started).toBe(5)
  expect(state.mostAtOnce).toBe(1)
  await finish()
  await loop.stop()
})

test('stop waits for the round in flight and nothing runs after it', async () => {
  const { loop, state, finish } = controlledLoop()
  loop.start()
  await vi.advanceTimersByTimeAsync(0)
  loop.wake()
  let done = false
  const stopped = loop.stop().then(() => (done = true))
  await vi.advanceTimersByTimeAsync(0)
  expect(done).toBe(false)
  await finish()
  await stopped
  await vi.advanceTimersByTimeAsync(2 * HOUR)
  expect(state.started).toBe(1)
})
