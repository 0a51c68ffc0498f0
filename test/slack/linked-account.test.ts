/**
 * Which account a Slack request acts on: the link of its workspace (or its Enterprise
 * organisation) as it stands when the request is run, read in the delivery ledger's statement for
 * the request rather than in one of its own, and never remembered from an earlier request.
 */
import { describe, expect, it } from 'vitest'
import { connectChat, disconnectChat } from '../../src/accounts/chat-connections.ts'
import { seedAccount } from '../support/factories.ts'
import { recordStatements } from '../support/statement-counter.ts'
import { ALICE, ADMIN_EMAIL, fixture, formBody, mockResponseUrl, mockUsersInfo, postSigned, slashCommand, TEAM, useSlackRouteTests, type Harness } from './support.ts'

const RESPONSE_URL = fixture<Record<string, string>>('slash-command.json').response_url as string

let h: Harness

useSlackRouteTests({ onHarness: (x) => (h = x) })

let trigger = 0

/** Runs one slash command (its own trigger_id) and waits for the work the ack started. */
async function run(text: string, overrides: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const replies: Record<string, unknown>[] = []
  mockResponseUrl(RESPONSE_URL, replies)
  await postSigned(h.base, formBody(slashCommand(text, { trigger_id: `13345224609.738474920.linked${++trigger}`, ...overrides })))
  await h.router.idle()
  return replies
}

/** The account of the newest audit entry (each `list` writes one). */
async function lastAuditedAccount(): Promise<string | null> {
  const row = await h.deps.db('audit_log').orderBy('id', 'desc').first<{ account_id: string | null }>('account_id')
  return row?.account_id ?? null
}

describe('the account a Slack request acts on', () => {
  it('is read in the statement that records the delivery: no statement of its own', async () => {
    mockUsersInfo(ALICE)
    const statements = recordStatements(h.deps.db)
    const replies = await run('list')
    statements.stop()
    expect(String(replies[0]?.text)).toContain('Users')
    expect(await lastAuditedAccount()).toBe(h.seed.account.id)
    const reads = statements.sql.filter((s) => s.includes('chat_connections'))
    expect(reads).toHaveLength(1)
    expect(reads[0]).toContain('INSERT INTO chat_deliveries')
  })

  it('is the link as it stands at each request: unlinked, then linked to another account', async () => {
    mockUsersInfo(ALICE)
    await run('list')
    expect(await lastAuditedAccount()).toBe(h.seed.account.id)

    const disconnected = await disconnectChat(h.deps.db, { platform: 'slack', externalId: TEAM })
    expect(disconnected.ok).toBe(true)
    const unlinked = await run('list')
    expect(String(unlinked[0]?.text)).toContain(`inviteops slack connect --team ${TEAM} --account`)

    // The same administrator's email in a second account, now linked to the workspace.
    const other = await seedAccount(h.deps, { adminEmail: ADMIN_EMAIL, name: `Initech ${Math.random().toString(16).slice(2, 8)}` })
    expect((await connectChat(h.deps.db, { platform: 'slack', externalId: TEAM, accountId: other.account.id, channelId: null })).ok).toBe(true)
    mockUsersInfo(ALICE)
    await run('list')
    expect(await lastAuditedAccount()).toBe(other.account.id)
  })

  it('of a workspace linked through its Enterprise organisation: the organisation\'s link, read in the same statement', async () => {
    const org = 'E0123ORGLINK'
    expect((await disconnectChat(h.deps.db, { platform: 'slack', externalId: TEAM })).ok).toBe(true)
    expect((await connectChat(h.deps.db, { platform: 'slack', externalId: org, accountId: h.seed.account.id, channelId: null })).ok).toBe(true)
    mockUsersInfo(ALICE)
    const statements = recordStatements(h.deps.db)
    await run('list', { enterprise_id: org })
    statements.stop()
    expect(await lastAuditedAccount()).toBe(h.seed.account.id)
    expect(statements.sql.filter((s) => s.includes('chat_connections'))).toHaveLength(1)
  })
})
