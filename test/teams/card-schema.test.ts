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
import { CHANNEL_CONVERSATION, TEAM_ID, cardSubmit, channelText, mockMember, mockReplies, mockUpdate, post, useTeamsRouteTests, type Card, type CardElement, type Harness, type Sent } from './support.ts'

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

/** Every button of ours on a card (Action.Submit or Action.Execute), wherever it sits. */
function buttons(card: Card | CardElement): CardElement[] {
  const out: CardElement[] = []
  const walk = (els: CardElement[] | undefined) => {
    for (const el of els ?? []) {
      if (el.type === 'Action.Submit' || el.type === 'Action.Execute') out.push(el)
      walk(el.items)
      walk(el.actions)
      walk(el.columns)
    }
  }
  walk('body' in card ? (card.body as CardElement[]) : undefined)
  walk(card.actions)
  return out
}

function buttonFor(card: Card, email: string, title: string): CardElement {
  const rowOf = card.body.find((el) => JSON.stringify(el).includes(email) && buttons(el).length > 0) ?? card
  const found = buttons(rowOf).find((b) => b.title === title)
  if (!found) throw new Error(`no ${title} for ${email}: ${buttons(rowOf).map((b) => b.title).join(', ')}`)
  return found
}

async function command(text: string): Promise<Card> {
  const sent: Sent[] = []
  mockMember(TEAM_ID)
  mockReplies(sent, CHANNEL_CONVERSATION)
  expect((await post(h.base, channelText(text))).status).toBe(200)
  return validCard(sent[0])
}

/** A click on `button` of the card posted as CARD_ID: the card that replaced it. */
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
