/**
 * Invoke activities are questions the Teams client waits on. Our cards' Action.Execute is answered
 * (actions.test.ts); a verb not ours gets a Universal Actions error. The others (a message
 * extension, a sign-in step) InviteOps does not offer: each is answered 200 with an empty object
 * (botbuilder alone would answer 501), never a 5xx, and nothing runs.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import type { Harness } from './support.ts'
import { channelText, post, snapshotCounts, useTeamsRouteTests } from './support.ts'

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

describe('unknown invoke activities', () => {
  it('adaptiveCard/action with a verb not ours: answered with a Universal Actions error, no connector call, nothing changes', async () => {
    const before = await snapshotCounts(h.deps)
    const res = await post(h.base, { ...channelText(''), type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'whatever' } } })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' })
    expect(await snapshotCounts(h.deps)).toEqual(before)
    expect(nock.pendingMocks()).toEqual([])
  })

  it.each(['composeExtension/query', 'task/fetch', 'signin/verifyState', 'something/new'])('%s: 200 {}, no connector call, nothing changes', async (name) => {
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
