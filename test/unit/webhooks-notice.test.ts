/**
 * The chat notice of a disabled webhook endpoint, on every platform: read the way the notices job
 * reads it, rendered by Slack's and Teams' notice renderers (the card checked against the Adaptive
 * Card schema) and the tests' third platform. It names the host only (a path or query may hold a
 * token of the product's) and keeps the receiver's error text as text.
 */
import { describe, expect, test } from 'vitest'
import { renderNotices } from '../../adapters/slack/render-notices.ts'
import { renderTeamsNotices } from '../../adapters/teams/render-notices.ts'
import { readAccountEvent, type AccountEvent } from '../../src/notices/account-events.ts'
import { pigeonNotifier } from '../chat/pigeon.ts'
import { assertValidAdaptiveCard } from '../support/adaptive-card-schema.ts'

const NOW = new Date('2026-12-04T10:00:00Z')
const ENDPOINT = '00000000-0000-4000-8000-000000000042'

function disabled(lastError: string | null): AccountEvent {
  const read = readAccountEvent({
    id: '9',
    account_id: '6f0f3c1e-0000-4000-8000-000000000001',
    type: 'webhook.endpoint_disabled',
    payload: { endpointId: ENDPOINT, url: 'https://app.example.com/hooks/inviteops?token=s3cr3t', failingSince: '2026-11-29T08:15:00.000Z', lastError },
    created_at: NOW,
  })
  if (!read.ok) throw new Error(read.reason)
  return read.value
}

describe('webhook endpoint disabled: the notice', () => {
  test('Slack: the host, since when, the last error escaped, and the command that enables it again', () => {
    const [notice] = renderNotices([disabled('HTTP 503 <!channel> *bold*')], { now: NOW, timeZone: 'UTC' })
    const text = JSON.stringify(notice!.message.blocks)
    expect(text).toContain('The webhook endpoint at *app.example.com* was disabled: every delivery failed since 2026-11-29 08:15 UTC')
    expect(text).toContain(`inviteops webhooks enable ${ENDPOINT}`)
    expect(text).not.toContain('s3cr3t')
    expect(text).not.toContain('<!channel>')
    expect(notice!.eventIds).toEqual(['9'])
  })

  test('Teams: a valid Adaptive Card saying the same', () => {
    const [batch] = renderTeamsNotices([disabled('ECONNREFUSED: connect ECONNREFUSED 203.0.113.9:443'), disabled(null)], { now: NOW, timeZone: 'UTC' })
    expect(batch!.message.kind).toBe('card')
    if (batch!.message.kind !== 'card') return
    assertValidAdaptiveCard(batch!.message.card)
    const text = JSON.stringify(batch!.message.card)
    expect(text).toContain('The webhook endpoint at **app.example.com** was disabled')
    expect(text).toContain('(last: ECONNREFUSED')
    expect(text).not.toContain('s3cr3t')
  })

  test('the third platform renders it like any event', () => {
    const [rendered] = pigeonNotifier([]).render([disabled(null)], { now: NOW, timeZone: 'UTC' })
    expect(rendered!.eventIds).toEqual(['9'])
  })
})
