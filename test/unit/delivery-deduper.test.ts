import { expect, test } from 'vitest'
import { createDeliveryDeduper } from '../../src/chat/deliveries.ts'

test('a key is new once within the TTL, new again after it; the memory stays bounded', () => {
  let t = 0
  const deduper = createDeliveryDeduper(1000, 3, () => t)
  expect(deduper.firstTime('a')).toBe(true)
  expect(deduper.firstTime('a')).toBe(false)
  t = 999
  expect(deduper.firstTime('a')).toBe(false)
  t = 1000
  expect(deduper.firstTime('a')).toBe(true)
  // Past the cap the oldest key is forgotten (a redelivery after that many others runs again).
  for (const k of ['b', 'c', 'd', 'e']) expect(deduper.firstTime(k)).toBe(true)
  expect(deduper.firstTime('a')).toBe(true)
  expect(deduper.firstTime('e')).toBe(false)
})
