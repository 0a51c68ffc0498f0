/**
 * Harness for Teams adapter tests: the real HTTP app (createHttpApp) with the Teams router
 * mounted, the real core on a real database, activities shaped as the Bot Framework sends them
 * (fixtures/), and the Bot Connector service (`{serviceUrl}/v3/conversations/…`) played by nock.
 *
 * The flows run in unauthenticated mode (TEAMS_UNAUTHENTICATED, as with the Bot Framework
 * Emulator); auth.test.ts covers the App ID mode and its 401.
 */
import { readFileSync } from 'node:fs'
import nock from 'nock'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import type { Logger } from '../../src/ports/logger.ts'
import type { TeamsConfig } from '../../adapters/teams/config.ts'
import { createTeamsRouter, type TeamsRouter } from '../../adapters/teams/router.ts'
import type { TestDatabase } from '../support/db.ts'
import { useRouteTests } from '../support/hooks.ts'
import { serveRouter } from '../support/http.ts'
import { makeDeps, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'

export const ADMIN_EMAIL = 'admin@acme.test'
export const SERVICE_ORIGIN = 'https://smba.trafficmanager.net'

export interface Activity {
  type: string
  id: string
  text?: string
  value?: unknown
  replyToId?: string
  serviceUrl: string
  from: { id: string; name?: string; aadObjectId?: string }
  recipient: { id: string; name?: string }
  conversation: { id: string; conversationType?: string; tenantId?: string; isGroup?: boolean }
  channelData?: { tenant?: { id: string }; team?: { id: string } }
  [key: string]: unknown
}

export function fixture<T = Activity>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T
}

const channelMessage = fixture('message-channel.json')
export const TENANT = channelMessage.channelData?.tenant?.id ?? ''
export const TEAM_ID = channelMessage.channelData?.team?.id ?? ''
export const CHANNEL_CONVERSATION = channelMessage.conversation.id
export const PERSONAL_CONVERSATION = fixture('message-personal.json').conversation.id
export const ALICE = channelMessage.from
export const BOT = channelMessage.recipient
export const PRIVATE_CONVERSATION = fixture<{ id: string }>('conversation-created.json').id

export const UNAUTHENTICATED: TeamsConfig = { appId: null, appPassword: null, appType: 'MultiTenant', tenantId: null }

export interface Harness {
  base: string
  deps: TestDeps
  seed: SeededAccount
  router: TeamsRouter
  close(): Promise<void>
}

/**
 * The hooks every route test file shares: a database of its own, the network closed but for
 * loopback (the connector is played by nock), tables emptied before each test, and a fresh
 * harness per test when `onHarness` is given.
 */
export function useTeamsRouteTests(opts: { onDatabase?: (db: TestDatabase) => void; onHarness?: (h: Harness) => void; logger?: () => Logger }): void {
  useRouteTests((db) => startHarness(db, { logger: opts.logger?.() }), opts)
}

/** A linked tenant, an account whose admin is `admin@acme.test`, the app listening on loopback. */
export async function startHarness(db: TestDatabase, opts: { link?: boolean; config?: TeamsConfig; logger?: Logger | undefined } = {}): Promise<Harness> {
  const deps = makeDeps(db.knex, opts.logger ? { logger: opts.logger } : {})
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL, name: `Acme ${Math.random().toString(16).slice(2, 8)}` })
  if (opts.link ?? true) {
    const linked = await connectChat(db.knex, { platform: 'teams', externalId: TENANT, accountId: seed.account.id, channelId: null })
    if (!linked.ok) throw new Error('could not link the test tenant')
  }
  const router = createTeamsRouter(deps, opts.config ?? UNAUTHENTICATED)
  const { base, close } = await serveRouter(db.knex, router)
  return { base, deps, seed, router, close }
}

let nextId = 1795687300000

/** A fresh activity id, as Teams gives every message its own. */
export function newActivityId(): string {
  return String(nextId++)
}

/** A channel message (`@InviteOps <text>`) from Alice, with a fresh id unless given. */
export function channelText(text: string, overrides: Partial<Activity> = {}): Activity {
  return { ...structuredClone(channelMessage), id: newActivityId(), text: `<at>InviteOps</at> ${text}`, ...overrides }
}

/** A personal-chat message from Alice. */
export function personalText(text: string, overrides: Partial<Activity> = {}): Activity {
  return { ...fixture('message-personal.json'), id: newActivityId(), text, ...overrides }
}

/**
 * A click on an Action.Execute of a card the bot posted as `cardId`, in the channel: the
 * `adaptiveCard/action` invoke Teams sends, with the button's data (and the card's inputs merged in).
 */
export function cardExecute(data: unknown, cardId: string, overrides: Partial<Activity> = {}): Activity {
  const base = fixture('card-submit-channel.json')
  delete base.value
  return { ...base, type: 'invoke', name: 'adaptiveCard/action', id: `f:${crypto.randomUUID()}`, value: { action: { type: 'Action.Execute', verb: 'inviteops', data }, trigger: 'manual' }, replyToId: cardId, ...overrides }
}

/** What an `adaptiveCard/action` invoke was answered with (the Universal Actions response). */
export type InvokeAnswer = { statusCode: number; type: 'application/vnd.microsoft.card.adaptive'; value: Card } | { statusCode: number; type: 'application/vnd.microsoft.activity.message'; value: string }

/** A click on an older card's Action.Submit (a message with `value`), in the channel. */
export function cardSubmit(value: unknown, cardId: string, overrides: Partial<Activity> = {}): Activity {
  return { ...fixture('card-submit-channel.json'), id: `f:${crypto.randomUUID()}`, value, replyToId: cardId, ...overrides }
}

/** POSTs an activity to /api/messages as the Bot Framework does (JSON). */
export async function post(base: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, text: await res.text() }
}

/** The connector path for `/v3/conversations/<id>/…`, decoded, as the request arrived. */
function decodedPath(uri: string): string {
  return decodeURIComponent(uri.split('?')[0] ?? '')
}

/** `GET /v3/conversations/{conversationOrTeam}/members/{userId}` answered with the member fixture, adjusted. */
export function mockMember(scopeId: string, member: Record<string, unknown> = {}, userId: string = ALICE.id): nock.Scope {
  const body = { ...fixture<Record<string, unknown>>('member.json'), ...member }
  return nock(SERVICE_ORIGIN)
    .get((uri) => decodedPath(uri) === `/amer/v3/conversations/${scopeId}/members/${userId}`)
    .reply(200, body)
}

/** The member lookup failing as the connector does for a stranger (404 MemberNotFoundInConversation). */
export function mockMemberNotFound(scopeId: string, userId: string = ALICE.id): nock.Scope {
  return nock(SERVICE_ORIGIN)
    .get((uri) => decodedPath(uri) === `/amer/v3/conversations/${scopeId}/members/${userId}`)
    .reply(404, { error: { code: 'MemberNotFoundInConversation', message: 'The member was not found in the conversation.' } })
}

export interface Sent {
  path: string
  body: {
    type: string
    id?: string
    text?: string
    textFormat?: string
    replyToId?: string
    attachments?: { contentType: string; content: Card }[]
    [key: string]: unknown
  }
}

export interface Card {
  type: string
  version: string
  body: CardElement[]
  actions?: CardElement[]
}
export interface CardElement {
  type: string
  text?: string
  id?: string
  title?: string
  data?: Record<string, unknown>
  items?: CardElement[]
  actions?: CardElement[]
  columns?: CardElement[]
  facts?: { title: string; value: string }[]
  choices?: { title: string; value: string }[]
  value?: string
  [key: string]: unknown
}

/** Replies (`POST /v3/conversations/{conversation}/activities/{replyToId}`) into `sink`. */
export function mockReplies(sink: Sent[], conversationId: string, times = 1): nock.Scope {
  let n = 0
  return nock(SERVICE_ORIGIN)
    .post((uri) => decodedPath(uri).startsWith(`/amer/v3/conversations/${conversationId}/activities/`), (body: Sent['body']) => {
      sink.push({ path: '', body })
      return true
    })
    .times(times)
    .reply(200, () => ({ id: `reply-${++n}-${Date.now()}` }))
}

/** `PUT /v3/conversations/{conversation}/activities/{activityId}`: a card updated in place. */
export function mockUpdate(sink: Sent[], conversationId: string, activityId: string, times = 1): nock.Scope {
  return nock(SERVICE_ORIGIN)
    .put((uri) => decodedPath(uri) === `/amer/v3/conversations/${conversationId}/activities/${activityId}`, (body: Sent['body']) => {
      sink.push({ path: activityId, body })
      return true
    })
    .times(times)
    .reply(200, { id: activityId })
}

/** `POST /v3/conversations` (a 1:1 chat with the administrator) and the message sent into it. */
export function mockPrivateChat(created: unknown[], sent: Sent[]): nock.Scope {
  return nock(SERVICE_ORIGIN)
    .post('/amer/v3/conversations', (body: unknown) => {
      created.push(body)
      return true
    })
    .reply(200, fixture('conversation-created.json'))
    // botbuilder sends into a created conversation as a reply to its creation (…/activities/<id>).
    .post((uri) => decodedPath(uri).startsWith(`/amer/v3/conversations/${PRIVATE_CONVERSATION}/activities`), (body: Sent['body']) => {
      sent.push({ path: PRIVATE_CONVERSATION, body })
      return true
    })
    .reply(200, fixture('resource-response.json'))
}

/** Row counts that must not move when a request is refused. */
export async function snapshotCounts(deps: TestDeps): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['users', 'invitations', 'email_outbox', 'audit_log', 'user_groups']) {
    const [row] = await deps.db(table).count<{ n: string }[]>({ n: '*' })
    out[table] = Number(row?.n ?? 0)
  }
  return out
}

/** The Adaptive Card of a sent activity. */
export function cardOf(sent: Sent | undefined): Card {
  const card = sent?.body.attachments?.[0]?.content
  if (!card) throw new Error(`no card in ${JSON.stringify(sent?.body).slice(0, 300)}`)
  return card
}

/** Every button of a card (Action.Execute, or an older card's Action.Submit), wherever it sits (row ActionSets, card actions, columns). */
export function submits(card: Card): CardElement[] {
  const out: CardElement[] = []
  const walk = (els: CardElement[] | undefined) => {
    for (const el of els ?? []) {
      if (el.type === 'Action.Execute' || el.type === 'Action.Submit') out.push(el)
      walk(el.items)
      walk(el.actions)
      walk(el.columns)
    }
  }
  walk(card.body)
  walk(card.actions)
  return out
}

/** The row container of `email` in a list card. */
export function row(card: Card, email: string): CardElement {
  const found = card.body.find((el) => el.type === 'Container' && String(el.id ?? '').startsWith('row-') && JSON.stringify(el.items).includes(email))
  if (!found) throw new Error(`no row for ${email}`)
  return found
}

/** The button titled `title` in a row or card. */
export function button(where: { items?: CardElement[]; actions?: CardElement[]; body?: CardElement[] }, title: string): CardElement {
  const all = submits({ type: 'AdaptiveCard', version: '1.4', body: [...(where.body ?? []), ...(where.items ?? [])], actions: where.actions ?? [] })
  const found = all.find((a) => a.title === title)
  if (!found) throw new Error(`no button ${title}: ${all.map((a) => a.title).join(', ')}`)
  return found
}

/** All text of a card (or of one of its elements), for "contains" checks. */
export function cardText(card: Card | CardElement): string {
  return JSON.stringify(card)
}
