/**
 * Invoke activities (a card's Action.Execute, a message extension, a sign-in step) are questions
 * the Teams client waits on. InviteOps offers none of them, so none is handled: each is answered
 * 200 with an empty object (botbuilder alone would answer 501), never a 5xx, and nothing runs.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import type { Harness } from './support.ts'
import { channelText, post, snapshotCounts, useTeamsRouteTests } from './support.ts'

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

describe('unknown invoke activities', () => {
  it.each(['adaptiveCard/action', 'composeExtension/query', 'task/fetch', 'signin/verifyState', 'something/new'])('%s: 200 {}, no connector call, nothing changes', async (name) => {
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, { ...channelText(''), type: 'invoke', name, value: { action: { type: 'Action.Execute', verb: 'whatever' } } })
    expect(res).toEqual({ status: 200, text: '{}' })
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('an invoke without a name: 200 {}', async () => {
    const res = await post(h.base, { ...channelText(''), type: 'invoke' })
    expect(res).toEqual({ status: 200, text: '{}' })
  })

  it('other activity types we do not act on still get a plain 200', async () => {
    for (const type of ['conversationUpdate', 'messageReaction', 'installationUpdate', 'typing']) {
      const res = await post(h.base, { ...channelText(''), type })
      expect(res).toEqual({ status: 200, text: '' })
    }
  })
})
