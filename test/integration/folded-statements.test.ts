/**
 * The use cases that write with one data-modifying statement (add, resend, regenerate) and the
 * Users page read with one query: what the existing tests do not reach through them. A webhook
 * endpoint's subscription and status decide which events get a message; a re-invite replaces the
 * user's groups exactly; the Users page shows each user's latest invitation and sorted groups,
 * and a page past the end still knows the total.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { addInvitation } from '../../src/invitations/add-invitation.ts'
import { regenerateInvitation } from '../../src/invitations/regenerate-invitation.ts'
import { resendInvitation } from '../../src/invitations/resend-invitation.ts'
import { listUsers } from '../../src/users/list-users.ts'
import { removeUser } from '../../src/users/remove-user.ts'
import { DAY, inviteUser, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => {
  deps = t.deps
  seed = t.seed
})

/** An endpoint row as the webhook API stores one (the secret's bytes do not matter here). */
async function endpoint(events: string[] | null, status: 'enabled' | 'disabled'): Promise<string> {
  const id = randomUUID()
  await deps.db('webhook_endpoints').insert({
    id,
    account_id: seed.account.id,
    url: `https://hooks.example/${id}`,
    events,
    secret: randomBytes(40),
    status,
    created_at: deps.clock.now(),
    disabled_at: status === 'disabled' ? deps.clock.now() : null,
  })
  return id
}

const messages = () =>
  deps.db('webhook_messages').orderBy('id').select<{ endpoint_id: string; event_type: string; message_id: string; ordering_key: string; payload: unknown; status: string }[]>(
    'endpoint_id',
    'event_type',
    'message_id',
    'ordering_key',
    'payload',
    'status',
  )

describe('one write statement per change', () => {
  it('queues one message per enabled endpoint subscribed to the event, one message id per event, none for a disabled one', async () => {
    const all = await endpoint(null, 'enabled')
    const resentOnly = await endpoint(['invitation.resent'], 'enabled')
    await endpoint(null, 'disabled')
    const { user } = await inviteUser(deps, seed, 'ann@x.test')
    deps.clock.advance(DAY)
    const resent = await resendInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'ann@x.test' })
    expect(resent.ok).toBe(true)
    deps.clock.advance(15 * DAY)
    const regenerated = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'ann@x.test' })
    expect(regenerated.ok).toBe(true)

    const rows = await messages()
    expect(rows.map((r) => [r.event_type, r.endpoint_id])).toEqual([
      ['invitation.sent', all],
      ...[all, resentOnly].sort().map((id) => ['invitation.resent', id]),
      ['invitation.regenerated', all],
    ])
    const resentRows = rows.filter((r) => r.event_type === 'invitation.resent')
    expect(new Set(resentRows.map((r) => r.message_id)).size).toBe(1)
    expect(rows.every((r) => r.status === 'queued' && r.ordering_key === `user:${user.id}`)).toBe(true)
    const body = rows.find((r) => r.event_type === 'invitation.regenerated')!.payload as { type: string; data: Record<string, unknown> }
    const current = await deps.db('invitations').where({ user_id: user.id, state: 'pending' }).first()
    expect(body.type).toBe('invitation.regenerated')
    expect(body.data).toMatchObject({ userId: user.id, email: 'ann@x.test', invitationId: current.id, groups: ['Members'], expiresAt: current.expires_at.toISOString() })
  })

  it('a re-invite gives the user exactly the groups named, whatever they had', async () => {
    await inviteUser(deps, seed, 'bob@x.test', { groups: ['Members', 'Engineering'] })
    const removed = await removeUser(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test' })
    expect(removed.ok).toBe(true)
    const again = await addInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'bob@x.test', firstName: null, lastName: null, groups: ['engineering'] })
    expect(again.ok && again.value.user.groups).toEqual(['Engineering'])
    const stored = await deps
      .db('user_groups')
      .join('groups', 'groups.id', 'user_groups.group_id')
      .join('users', 'users.id', 'user_groups.user_id')
      .where('users.email', 'bob@x.test')
      .pluck('groups.name')
    expect(stored).toEqual(['Engineering'])
    const email = await deps.db('email_outbox').where({ to_email: 'bob@x.test', kind: 'invitation' }).orderBy('id', 'desc').first()
    expect(email.payload.groups).toEqual(['Engineering'])
  })
})

describe('the Users page in one query', () => {
  it("shows each user's latest invitation and sorted groups, and the total on a page past the end", async () => {
    await inviteUser(deps, seed, 'cat@x.test', { groups: ['Members', 'Engineering'] })
    await inviteUser(deps, seed, 'dan@x.test')
    deps.clock.advance(15 * DAY)
    const regenerated = await regenerateInvitation(deps, { accountId: seed.account.id, actor: seed.adminActor, email: 'cat@x.test' })
    expect(regenerated.ok).toBe(true)

    const page = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: 'all', page: 1, pageSize: 2 })
    if (!page.ok) throw new Error(page.code)
    expect(page.value.total).toBe(3)
    expect(page.value.pageCount).toBe(2)
    const cat = page.value.users.find((u) => u.email === 'cat@x.test')!
    expect(cat.groups).toEqual(['Engineering', 'Members'])
    expect(cat.status).toBe('invited')
    const pending = await deps.db('invitations').where({ user_id: cat.id, state: 'pending' }).first()
    expect(cat.invitation?.id).toBe(pending.id)

    const past = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: 'all', page: 9, pageSize: 2 })
    if (!past.ok) throw new Error(past.code)
    expect({ page: past.value.page, total: past.value.total, emails: past.value.users.map((u) => u.email) }).toEqual({ page: 2, total: 3, emails: ['dan@x.test'] })

    const none = await listUsers(deps, { accountId: seed.account.id, actor: seed.adminActor, filter: 'declined', page: 1 })
    expect(none.ok && { total: none.value.total, users: none.value.users }).toEqual({ total: 0, users: [] })
  })
})
