/**
 * The signature is checked once, by our gate; Bolt's receiver does not check it again
 * (router.ts), so it must be reachable only through the gate. These requests try to reach Bolt
 * around it: other spellings of the path, other methods, a forged or missing signature.
 */
import { describe, expect, it } from 'vitest'
import { slackSignature } from '../../adapters/slack/verify.ts'
import { ALICE, fixture, formBody, mockResponseUrl, mockUsersInfo, postSigned, slashCommand, snapshotCounts, useSlackRouteTests, type Harness } from './support.ts'

let h: Harness
const RESPONSE_URL = fixture<Record<string, string>>('slash-command.json').response_url as string
useSlackRouteTests({ onHarness: (x) => (h = x) })

describe('one signature check, in front of Bolt', () => {
  it.each(['/slack/events', '/slack/events/', '/SLACK/EVENTS', '/slack/events?x=1', '/slack//events'])('%s with a forged signature: refused before Bolt, nothing runs', async (path) => {
    const before = await snapshotCounts(h.deps)
    const body = formBody(slashCommand('help', { trigger_id: `1.2.${path.length}forged` }))
    const ts = String(Math.floor(Date.now() / 1000))
    const res = await fetch(`${h.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature('not-the-secret', ts, body) },
      body,
    })
    await h.router.idle()
    // Refused by the gate (401) or by no route at all (404): never an ack from Bolt.
    expect([401, 404]).toContain(res.status)
    expect(await res.text()).not.toContain('response_type')
    expect(await snapshotCounts(h.deps)).toEqual(before)
  })

  it('a request without any signature header is refused whatever the method', async () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      const res = await fetch(`${h.base}/slack/events`, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(slashCommand('help')) })
      expect([401, 404], method).toContain(res.status)
    }
  })

  it('a correctly signed command still reaches Bolt and is answered', async () => {
    mockUsersInfo(ALICE)
    const answers: { text?: string }[] = []
    mockResponseUrl(RESPONSE_URL, answers)
    const res = await postSigned(h.base, formBody(slashCommand('help', { trigger_id: '1.2.signed' })))
    await h.router.idle()
    expect(res.status).toBe(200)
    expect(answers[0]?.text).toContain('InviteOps')
  })
})
