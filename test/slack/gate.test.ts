/**
 * What the gate in front of Bolt lets through, through the real route with bodies signed as Slack
 * signs them: every field Bolt reads before a listener runs (the ids it looks clients up by, the
 * keys it decides the kind of body by, `channel`, `response_urls`) has the shape Bolt expects, or
 * the request is refused with a short 400 and nothing runs. And a listener that fails before its
 * ack still answers, with a message the administrator can act on.
 */
import nock from 'nock'
import { describe, expect, it } from 'vitest'
import { createSlackRouter } from '../../adapters/slack/router.ts'
import type { IdentityResolver } from '../../adapters/slack/identity.ts'
import { serveRouter } from '../support/http.ts'
import { capturingLogger } from '../web/support.ts'
import { BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, fixture, formBody, payloadBody, postSigned, slashCommand, snapshotCounts, useSlackRouteTests, type Harness } from './support.ts'

let h: Harness

useSlackRouteTests({ onHarness: (x) => (h = x) })

type Json = Record<string, unknown>

/** A fixture, deep-copied and changed by `edit`. */
function payload(name: string, edit: (p: Json & { user: Json; view: Json }) => void): Json {
  const p = structuredClone(fixture<Json & { user: Json; view: Json }>(name))
  edit(p)
  return p
}

/** What Bolt would look up `Object.prototype` with: each crashed it before any listener ran. */
const PROTOTYPE_KEYS = ['constructor', 'toString', 'hasOwnProperty', 'valueOf']

const refusedBodies: [string, string][] = [
  ...PROTOTYPE_KEYS.map((id): [string, string] => [`slash command, team_id=${id}`, formBody(slashCommand('help', { team_id: id }))]),
  ['slash command, a lowercase team_id', formBody(slashCommand('help', { team_id: TEAM.toLowerCase() }))],
  ['slash command, enterprise_id=constructor', formBody(slashCommand('help', { enterprise_id: 'constructor' }))],
  ['slash command, user_id=toString', formBody(slashCommand('help', { user_id: 'toString' }))],
  ['slash command, channel_id=valueOf', formBody(slashCommand('help', { channel_id: 'valueOf' }))],
  // Bolt takes any body with `event` for an Events API event, whatever else it has.
  ['slash command with an `event` field', formBody(slashCommand('help', { event: 'x' }))],
  ['block_actions, team.id=constructor', payloadBody(payload('block-actions-button.json', (p) => (p.team = { id: 'constructor', domain: 'acme' })))],
  [
    'block_actions, team null and user.team_id=toString',
    payloadBody(
      payload('block-actions-button.json', (p) => {
        p.team = null
        p.user.team_id = 'toString'
      }),
    ),
  ],
  [
    'block_actions, no team at all and enterprise.id=hasOwnProperty',
    payloadBody(
      payload('block-actions-button.json', (p) => {
        p.team = null
        delete p.user.team_id
        p.enterprise = { id: 'hasOwnProperty' }
      }),
    ),
  ],
  ['block_actions, user.id=constructor', payloadBody(payload('block-actions-button.json', (p) => (p.user.id = 'constructor')))],
  // Bolt reads `channel.id` whenever `channel` is not undefined.
  ['block_actions, channel null', payloadBody(payload('block-actions-button.json', (p) => (p.channel = null)))],
  [
    'block_actions, no response_url and response_urls [null]',
    payloadBody(
      payload('block-actions-button.json', (p) => {
        delete p.response_url
        p.response_urls = [null]
      }),
    ),
  ],
  // With `command`, Bolt dispatches it as a slash command and takes the team from `team_id`.
  [
    'block_actions that also has `command` and team_id=constructor',
    payloadBody(
      payload('block-actions-button.json', (p) => {
        p.command = '/invite'
        p.team_id = 'constructor'
      }),
    ),
  ],
  // With `name`, Bolt dispatches it as an options request, which no listener acknowledges.
  ['block_actions that also has `name`', payloadBody(payload('block-actions-button.json', (p) => (p.name = 'x')))],
  ['view_submission, team.id=constructor', payloadBody(payload('view-submission-edit.json', (p) => (p.team = { id: 'constructor' })))],
  [
    'view_submission, team null and user.team_id=toString',
    payloadBody(
      payload('view-submission-edit.json', (p) => {
        p.team = null
        p.user.team_id = 'toString'
      }),
    ),
  ],
  [
    'view_submission, no team at all and enterprise.id=constructor',
    payloadBody(
      payload('view-submission-edit.json', (p) => {
        p.team = null
        delete p.user.team_id
        p.enterprise = { id: 'constructor' }
      }),
    ),
  ],
  ['view_submission, view.app_installed_team_id=valueOf', payloadBody(payload('view-submission-edit.json', (p) => (p.view.app_installed_team_id = 'valueOf')))],
  ['view_submission, response_urls [null]', payloadBody(payload('view-submission-edit.json', (p) => (p.response_urls = [null])))],
  ['view_submission, response_urls [{}]', payloadBody(payload('view-submission-edit.json', (p) => (p.response_urls = [{}])))],
  ['view_submission, response_urls ["x"]', payloadBody(payload('view-submission-edit.json', (p) => (p.response_urls = ['x'])))],
  // With `actions`, Bolt dispatches it as a block action whose first action is missing.
  ['view_submission that also has `actions: []`', payloadBody(payload('view-submission-edit.json', (p) => (p.actions = [])))],
]

describe('the gate refuses what Bolt would trip over', () => {
  it.each(refusedBodies)('%s → 400 with a short message, nothing run', async (_name, body) => {
    const before = await snapshotCounts(h.deps)
    const res = await postSigned(h.base, body)
    expect(res.status).toBe(400)
    expect(res.text).toMatch(/^This request is not one InviteOps understands \(problem at `[^`]+`\): nothing was done\.$/)
    await h.router.idle()
    expect(await snapshotCounts(h.deps)).toEqual(before)
    // Nothing reached Slack: nock would have refused any call, and none was expected.
    expect(nock.pendingMocks()).toEqual([])
  })

  it('well-formed ids and response_urls still reach the listeners', async () => {
    const other = await postSigned(h.base, formBody(slashCommand('help', { command: '/webhook-collect', enterprise_id: 'E0123ORG', user_id: 'W0123GRID' })))
    expect(other.status).toBe(200)
    expect(other.text).toContain('only answers `/invite`')

    // Unknown modal metadata: answered inside the modal, after the gate let it through.
    const view = payload('view-submission-edit.json', (p) => (p.response_urls = [{ block_id: 'b', action_id: 'a', channel_id: CHANNEL, response_url: 'https://hooks.slack.com/app/T0001INVOPS/1/abc' }]))
    const res = await postSigned(h.base, payloadBody(view))
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ response_action: 'errors' })
  })

  it('a form with a charset parameter is read by Bolt as the form the gate checked', async () => {
    const res = await postSigned(h.base, formBody(slashCommand('help', { command: '/webhook-collect' })), { contentType: 'application/x-www-form-urlencoded; charset=utf-8' })
    expect(res.status).toBe(200)
    expect(res.text).toContain('only answers `/invite`')
  })
})

describe('a listener that fails before its ack', () => {
  /** The edit modal of the seeded administrator's own row, ready to submit. */
  function editSubmission(): Json {
    return payload('view-submission-edit.json', (p) => (p.view.private_metadata = JSON.stringify({ userId: h.seed.admin.userId, channelId: CHANNEL, responseUrl: null, list: null })))
  }

  async function serve(overrides: { db?: typeof h.deps.db; identities?: IdentityResolver }) {
    const logger = capturingLogger()
    const router = createSlackRouter({ ...h.deps, logger, ...(overrides.db ? { db: overrides.db } : {}) }, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: 'https://slack-api.test/api/' }, { clientOptions: { retryConfig: { retries: 0 } }, identities: overrides.identities })
    const served = await serveRouter(h.deps.db, router)
    return { ...served, router, lines: logger.lines }
  }

  it('a view submission whose identity lookup throws: 200, the modal says what happened, one error logged', async () => {
    const s = await serve({
      identities: {
        resolve: () => Promise.reject(new Error('identity lookup exploded')),
      },
    })
    try {
      const before = await snapshotCounts(h.deps)
      const res = await postSigned(s.base, payloadBody(editSubmission()))
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text)).toEqual({ response_action: 'errors', errors: { groups: expect.stringContaining('Something went wrong on our side') } })
      await s.router.idle()
      expect(s.lines.filter((l) => l.includes('identity lookup exploded'))).toHaveLength(1)
      expect(await snapshotCounts(h.deps)).toEqual(before)
    } finally {
      await s.close()
    }
  })

  it('a view submission when the database is closed: 200 with the same message', async () => {
    const { default: knexFactory } = await import('knex')
    const closed = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: { min: 0, max: 1 } })
    await closed.destroy()
    const s = await serve({ db: closed })
    try {
      const res = await postSigned(s.base, payloadBody(editSubmission()))
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text)).toEqual({ response_action: 'errors', errors: { groups: expect.stringContaining('Something went wrong on our side') } })
      await s.router.idle()
      expect(s.lines.filter((l) => l.includes('slack listener failed'))).toHaveLength(1)
    } finally {
      await s.close()
    }
  })
})
