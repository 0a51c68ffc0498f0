/**
 * Every Adaptive Card the Teams adapter sends for commands and clicks (the list, one user's card,
 * the edit form, the removal prompt, and the cards refreshed after a click) is valid against
 * Microsoft's Adaptive Card schema (test/support/adaptive-card-schema.ts). The cards are taken
 * from the connector calls the real route makes, so what is checked is what Teams receives.
 * The notice cards are checked in notices.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { DAY, inviteUser } from '../support/factories.ts'
import { adaptiveCardProblems, assertValidAdaptiveCard } from '../support/adaptive-card-schema.ts'
import nock from 'nock'
import { CHANNEL_CONVERSATION, SERVICE_ORIGIN, TEAM_ID, button, cardSubmit, channelText, fixture, mockMember, mockReplies, mockUpdate, post, useTeamsRouteTests, type Activity, type Card, type CardElement, type Harness, type Sent } from './support.ts'

let h: Harness
useTeamsRouteTests({ onHarness: (x) => (h = x) })

const CARD_ID = '1795687209999'

/** The card of a connector call, validated on the way. */
function validCard(sent: Sent | undefined): Card {
  const card = sent?.body.attachments?.[0]?.content
  expect(card, JSON.stringify(sent?.body).slice(0, 300)).toBeDefined()
  assertValidAdaptiveCard(card)
  return card!
}

/** The button titled `title` in the row of `email` (a container `row-…`, wherever it sits), or on the card itself. */
function buttonFor(card: Card, email: string, title: string): CardElement {
  const rows: CardElement[] = []
  const walk = (els: CardElement[] | undefined) => {
    for (const el of els ?? []) {
      if (String(el.id ?? '').startsWith('row-') && JSON.stringify(el).includes(email)) rows.push(el)
      walk(el.items)
      walk(el.columns)
    }
  }
  walk(card.body)
  const [first] = rows
  return button(first ? { items: [first] } : card, title)
}

async function command(text: string): Promise<Card> {
  const sent: Sent[] = []
  mockMember(TEAM_ID)
  mockReplies(sent, CHANNEL_CONVERSATION)
  expect((await post(h.base, channelText(text))).status).toBe(200)
  return validCard(sent[0])
}

/**
 * A click on `button` as Teams sends an Action.Execute: an `adaptiveCard/action` invoke. The card
 * it is answered with and the card updated for everyone (when it is) are both validated.
 */
async function execute(button: CardElement): Promise<Card> {
  expect(button.type).toBe('Action.Execute')
  const updated: Sent[] = []
  mockMember(TEAM_ID)
  nock(SERVICE_ORIGIN)
    .put((uri) => decodeURIComponent(uri).endsWith(`/activities/${CARD_ID}`), (body: Sent['body']) => (updated.push({ path: CARD_ID, body }), true))
    .optionally()
    .reply(200, { id: CARD_ID })
  const activity: Activity = { ...fixture('invoke-card-action.json'), id: `f:${crypto.randomUUID()}`, replyToId: CARD_ID, value: { action: { type: 'Action.Execute', verb: button.verb, data: button.data } } }
  const res = await post(h.base, activity)
  await h.router.idle()
  const answer = JSON.parse(res.text) as { type: string; value: unknown }
  expect(answer.type, JSON.stringify(answer.value)).toBe('application/vnd.microsoft.card.adaptive')
  assertValidAdaptiveCard(answer.value)
  for (const u of updated) validCard(u)
  return answer.value as Card
}

/** A click on `button` of the card posted as CARD_ID, as an older Action.Submit card sends it: the card that replaced it. */
async function click(button: CardElement): Promise<Card> {
  const sent: Sent[] = []
  mockMember(TEAM_ID)
  mockUpdate(sent, CHANNEL_CONVERSATION, CARD_ID)
  expect((await post(h.base, cardSubmit(button.data, CARD_ID))).status).toBe(200)
  return validCard(sent[0])
}

describe('the validator', () => {
  it('refuses what Teams would refuse: an unknown property, a missing text, a wrong msteams', () => {
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: 'hi' }], msteams: { width: 'Full' } })).toEqual([])
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', txt: 'hi' }] }).join('\n')).toMatch(/text.*\n.*txt/s)
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.4', body: [], actions: [{ type: 'Action.Execute', title: 'x', verb: 'v', colour: 'red' }] })).toHaveLength(1)
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.4', body: [], msteams: { width: 'Wide' } })).toHaveLength(1)
  })
})

describe('cards of commands and clicks', () => {
  it('the same through Action.Execute invokes: every card answered to the clicker and every card updated for everyone is valid', async () => {
    await inviteUser(h.deps, h.seed, 'old@acme.test', { firstName: 'Olga', lastName: 'Old *[x](y)*' })
    h.deps.clock.advance(8 * DAY)
    await inviteUser(h.deps, h.seed, 'new@acme.test')
    const list = await command('list')
    await execute(buttonFor(list, 'old@acme.test', 'Edit groups'))
    const prompt = await execute(buttonFor(list, 'old@acme.test', 'Remove user…'))
    expect(JSON.stringify(await execute(buttonFor(prompt, 'old@acme.test', 'Cancel')))).toContain('Nothing was changed')
    expect(JSON.stringify(await execute(buttonFor(list, 'old@acme.test', 'Send new invitation')))).toContain('New invitation sent to old@acme.test')
    const next = await execute(buttonFor(list, 'new@acme.test', 'Remove user…'))
    expect(JSON.stringify(await execute(buttonFor(next, 'new@acme.test', 'Remove')))).toContain('new@acme.test')
  })

  it('list, show, edit form, removal prompt, and the list refreshed after Cancel and after an action are valid cards', async () => {
    await inviteUser(h.deps, h.seed, 'old@acme.test', { firstName: 'Olga', lastName: 'Old *[x](y)*' })
    h.deps.clock.advance(8 * DAY)
    await inviteUser(h.deps, h.seed, 'new@acme.test')

    const list = await command('list')
    await command('show old@acme.test')
    await command('list expired')
    await click(buttonFor(list, 'old@acme.test', 'Edit groups'))
    const prompt = await click(buttonFor(list, 'old@acme.test', 'Remove user…'))
    const cancelled = await click(buttonFor(prompt, 'old@acme.test', 'Cancel'))
    expect(JSON.stringify(cancelled)).toContain('Nothing was changed')
    const regenerated = await click(buttonFor(list, 'old@acme.test', 'Send new invitation'))
    expect(JSON.stringify(regenerated)).toContain('New invitation sent to old@acme.test')
  })
})
