/**
 * The chat session driven by a platform written in the tests (pigeon.ts: a presenter, an I/O
 * port, a notifier): the whole grammar, the buttons and the notices run through the same session
 * Slack and Teams use, on a real database, with nothing of the platform in the core.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createChatSession, type ChatSession } from '../../adapters/chat/session.ts'
import type { ChatCaller } from '../../adapters/chat/ports.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createNoticesJob } from '../../src/notices/notices-job.ts'
import type { NoticeDestination } from '../../src/notices/chat-notifier.ts'
import { usersByIds } from '../../src/users/users-by-ids.ts'
import { DAY, inviteUser, seedAccount, type SeededAccount, type TestDeps } from '../support/factories.ts'
import { useSeededDatabase } from '../support/hooks.ts'
import { PIGEON, pigeonIO, pigeonNotifier, pigeonPresenter, type Button, type PigeonForm, type PigeonMessage } from './pigeon.ts'

let deps: TestDeps
let seed: SeededAccount
useSeededDatabase((t) => ({ deps, seed } = t))

let session: ChatSession<PigeonMessage, PigeonForm>
let admin: ChatCaller

beforeEach(async () => {
  session = createChatSession(deps, PIGEON, pigeonPresenter)
  expect(await connectChat(deps.db, { platform: PIGEON, externalId: 'coop-1', accountId: seed.account.id, channelId: null })).toEqual({ ok: true })
  const accountId = await session.linkedAccount('coop-1')
  admin = session.caller(accountId!, { actor: { platform: PIGEON, platformUserId: 'p-1', email: seed.admin.email, displayName: 'Ada' }, unvouched: null, timeZone: 'Asia/Tokyo' })
})

async function typed(text: string, who: ChatCaller = admin) {
  const { io, out } = pigeonIO()
  await session.typed(who, text, io)
  return out
}

async function click(button: Button | undefined, who: ChatCaller = admin) {
  const { io, out } = pigeonIO()
  await session.click(who, button!.click, io)
  return out
}

const find = (m: PigeonMessage | undefined, label: string) => m?.buttons.find((b) => b.label === label)
const status = async (email: string) => (await deps.db('users').where({ email, account_id: seed.account.id }).first<{ status: string }>('status'))?.status

describe('a third platform through the chat session', () => {
  it('an unlinked place has no account', async () => {
    expect(await session.linkedAccount('coop-unknown')).toBeNull()
  })

  it('the whole grammar: private answers, public confirmations, the link secret elsewhere, dates in the reader zone', async () => {
    expect((await typed('help')).private[0]?.text).toBe('help')
    expect((await typed('add carol@acme.test --name "Carol Jones" --group Engineering')).posted[0]?.text).toBe('added carol@acme.test')
    expect(await status('carol@acme.test')).toBe('invited')
    expect((await typed('resend carol@acme.test')).posted[0]?.text).toBe('resent carol@acme.test')
    expect((await typed('edit carol@acme.test --group Members')).posted[0]?.text).toBe('edited carol@acme.test')
    expect((await typed('show carol@acme.test')).private[0]?.text).toContain(':00 Asia/Tokyo invitation.add')
    expect((await typed('list invited')).private[0]?.text).toContain('carol@acme.test (Invited · expires in 7 days)')
    expect((await typed('groups')).private[0]?.text).toBe('groups')
    expect((await typed('audit')).private[0]?.text).toBe('audit')
    const link = await typed('link carol@acme.test')
    expect(link.secrets[0]?.text).toMatch(/\/invitations\/[A-Za-z0-9_-]{20,}/)
    expect(link.private[0]?.text).toBe('link for carol@acme.test sent privately')
    expect(JSON.stringify([link.private, link.posted])).not.toContain('/invitations/')
    deps.clock.advance(8 * DAY)
    expect((await typed('regenerate carol@acme.test')).posted[0]?.text).toBe('regenerated carol@acme.test')
    const ask = await typed('remove carol@acme.test')
    expect(ask.private[0]?.text).toBe('remove carol@acme.test?')
    expect(await status('carol@acme.test')).toBe('invited')
    expect((await typed('frobnicate')).private[0]?.text).toMatch(/^usage: unknown command/)
  })

  it('notices here stores this conversation for the platform; off removes it; notices says where', async () => {
    expect((await typed('notices here')).posted[0]?.text).toBe('notices_set')
    expect(await deps.db('notice_destinations').where({ platform: PIGEON }).first('conversation_id', 'conversation_name', 'reference')).toEqual({ conversation_id: 'loft-7', conversation_name: 'The loft', reference: { loft: 7 } })
    expect((await typed('notices')).private[0]?.text).toBe('notices')
    expect((await typed('notices off')).posted[0]?.text).toBe('notices_off')
    expect(await deps.db('notice_destinations').where({ platform: PIGEON }).first()).toBeUndefined()
  })

  it('a caller the platform could not vouch for is told why, audited, and nothing changes', async () => {
    const stranger = session.caller(seed.account.id, { actor: { platform: PIGEON, platformUserId: 'p-9', email: null }, unvouched: 'Pigeons cannot tell who you are.', timeZone: null })
    const out = await typed('add dave@acme.test --name "Dave Doe"', stranger)
    expect(out.private[0]?.text).toBe('problem: Pigeons cannot tell who you are. Only an active administrator of this account can manage invitations.')
    expect(await status('dave@acme.test')).toBeUndefined()
    const [refused] = await deps.db('audit_log').where({ actor_platform: PIGEON, ok: false }).count<{ n: string }[]>({ n: '*' })
    expect(Number(refused?.n)).toBe(1)
  })

  it('buttons: a row action updates the list in place quietly; remove asks first; edit opens the form and saving refreshes', async () => {
    await inviteUser(deps, seed, 'bob@acme.test')
    const list = (await typed('list')).private[0]
    const audited = async () => Number((await deps.db('audit_log').count<{ n: string }[]>({ n: '*' }))[0]?.n)
    const before = await audited()
    const resent = await click(find(list, 'resend bob@acme.test'))
    expect(resent.posted[0]?.text).toBe('resent bob@acme.test')
    expect(resent.updated[0]?.text).toMatch(/^done: resent bob@acme.test\|list all 1\/1/)
    // The click is audited; re-rendering the list after it is not.
    expect(await audited()).toBe(before + 1)

    const prompt = (await click(find(list, 'remove bob@acme.test'))).updated[0]
    expect(prompt?.text).toBe('remove bob@acme.test?')
    expect((await click(find(prompt, 'Cancel'))).updated[0]?.text).toMatch(/^Nothing was changed\.\|list/)
    expect(await status('bob@acme.test')).toBe('invited')

    const form = (await click(find(list, 'edit bob@acme.test'))).forms[0]!
    const engineering = await deps.db('groups').where({ account_id: seed.account.id, name: 'Engineering' }).first<{ id: string }>('id')
    const { io, out } = pigeonIO()
    const saved = await session.saveGroups(admin, { userId: form.userId, groupIds: [...form.groupIds, engineering!.id], origin: form.origin }, io)
    expect(saved.ok).toBe(true)
    if (saved.ok) await saved.after()
    expect(out.posted[0]?.text).toBe('edited bob@acme.test')
    expect(out.updated[0]?.text).toMatch(/^done: edited bob@acme.test\|list/)

    expect((await click(find(prompt, 'Remove'))).posted[0]?.text).toBe('removed bob@acme.test')
    expect(await status('bob@acme.test')).toBe('removed')
  })

  it('notices: the job posts to the platform through its own notifier; a click acts and re-renders the notice from its users now', async () => {
    await typed('notices here')
    await inviteUser(deps, seed, 'eve@acme.test')
    deps.clock.advance(8 * DAY)
    const posted: { destination: NoticeDestination; message: PigeonMessage }[] = []
    const job = createNoticesJob(deps, [pigeonNotifier(posted)], { sleep: async () => {} })
    await job.runOnce()
    const notice = posted.find((p) => p.message.text === 'expired: eve@acme.test')
    expect(notice?.destination).toMatchObject({ platform: PIGEON, conversationId: 'loft-7', reference: { loft: 7 } })

    const clicked = await click(find(notice?.message, 'regenerate'))
    expect(clicked.updated[0]?.text).toBe('eve@acme.test: done: regenerated eve@acme.test')
    const states = await deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', 'eve@acme.test').orderBy('invitations.created_at').pluck<string[]>('state')
    expect(states).toEqual(['replaced', 'pending'])
    // A second click on the stale notice is told what happened; nothing more is sent.
    expect((await click(find(notice?.message, 'regenerate'))).updated[0]?.text).toMatch(/^eve@acme.test: info: refused: invitation.already_replaced/)
    const [links] = await deps.db('invitations').join('users', 'users.id', 'invitations.user_id').where('users.email', 'eve@acme.test').count<{ n: string }[]>({ n: '*' })
    expect(Number(links?.n)).toBe(2)
  })
})

describe('resend from a button names the invitation and the expiry it showed', () => {
  /** Carol's pending invitation as a message would show it. */
  async function shown(email: string) {
    const row = await deps.db('invitations as i').join('users as u', 'u.id', 'i.user_id').where({ 'u.email': email, 'i.state': 'pending' }).first<{ id: string; user_id: string; expires_at: Date }>('i.id', 'i.user_id', 'i.expires_at')
    return row!
  }
  const resend = (inv: { id: string; user_id: string; expires_at: Date }): Button => ({
    label: 'resend',
    click: { kind: 'row', action: 'resend', userId: inv.user_id, invitationId: inv.id, seenExpiresAt: new Date(Math.floor(inv.expires_at.getTime() / 1000) * 1000), origin: { kind: 'reply' }, confirmed: false },
  })
  const emails = async () => Number((await deps.db('email_outbox').count<{ n: string }[]>({ n: '*' }))[0]?.n)

  it('a second click on the same button sends nothing and says who resent it; a typed resend still resends', async () => {
    await typed('add carol@acme.test --name "Carol Jones" --group Engineering')
    const button = resend(await shown('carol@acme.test'))
    deps.clock.advance(DAY)
    expect((await click(button)).posted[0]?.text).toBe('resent carol@acme.test')
    const sent = await emails()
    deps.clock.advance(60_000)
    expect((await click(button)).updated[0]?.text).toBe('info: refused: invitation.already_resent')
    expect(await emails()).toBe(sent)
    const [audit] = await deps.db('audit_log').orderBy('id', 'desc').limit(1).select('result_code', 'detail')
    expect(audit?.result_code).toBe('invitation.already_resent')
    expect((await typed('resend carol@acme.test')).posted[0]?.text).toBe('resent carol@acme.test')
    expect(await emails()).toBe(sent + 1)
  })

  it('a button whose invitation was replaced since is refused already_replaced, even though the new one could be resent', async () => {
    await typed('add carol@acme.test --name "Carol Jones" --group Engineering')
    const button = resend(await shown('carol@acme.test'))
    deps.clock.advance(8 * DAY)
    await typed('regenerate carol@acme.test')
    const sent = await emails()
    expect((await click(button)).updated[0]?.text).toBe('info: refused: invitation.already_replaced')
    expect(await emails()).toBe(sent)
    // The fresh button (the new invitation, its expiry) resends.
    expect((await click(resend(await shown('carol@acme.test')))).posted[0]?.text).toBe('resent carol@acme.test')
  })
})

describe('usersByIds: what a notice re-render reads', () => {
  it('the users asked for, in that order, other accounts’ and malformed ids left out, with the account’s zone; audited nowhere; refused to a non-administrator', async () => {
    await deps.db('accounts').where({ id: seed.account.id }).update({ time_zone: 'Europe/Berlin' })
    await inviteUser(deps, seed, 'dana@acme.test')
    await inviteUser(deps, seed, 'bob@acme.test')
    const other = await seedAccount(deps, { name: 'Other', adminEmail: 'admin@other.test' })
    const ids = async (email: string) => (await deps.db('users').where({ email }).first<{ id: string }>('id'))!.id
    const [dana, bob, stranger] = [await ids('dana@acme.test'), await ids('bob@acme.test'), await ids('admin@other.test')]
    const audits = await deps.db('audit_log').count<{ n: string }[]>({ n: '*' })
    const r = await usersByIds(deps, { accountId: seed.account.id, actor: admin.actor, userIds: [dana, 'not-a-uuid', stranger, bob, dana] })
    expect(r.ok && r.value.users.map((u) => u.email)).toEqual(['dana@acme.test', 'bob@acme.test'])
    expect(r.ok && r.value.accountTimeZone).toBe('Europe/Berlin')
    expect(await deps.db('audit_log').count<{ n: string }[]>({ n: '*' })).toEqual(audits)
    const refused = await usersByIds(deps, { accountId: other.account.id, actor: admin.actor, userIds: [stranger] })
    expect(refused).toMatchObject({ ok: false, code: 'auth.not_admin' })
  })
})
