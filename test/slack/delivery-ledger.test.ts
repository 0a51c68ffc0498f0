/**
 * The delivery ledger's group commit (src/chat/deliveries.ts): keys asked for while a statement
 * runs go together in the next one, and each key gets the answer `firstDelivery` would give it;
 * a stuck statement holds up only its own keys, and only until its deadline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createDeliveryLedger, firstDeliveries } from '../../src/chat/deliveries.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { makeDeps, seedAccount } from '../support/factories.ts'
import { createTestDatabase, truncateAll, type TestDatabase } from '../support/db.ts'
import { recordStatements } from '../support/statement-counter.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await db.close()
})
beforeEach(async () => {
  await truncateAll(db.knex)
})

const TTL = 10 * 60_000

describe('delivery ledger', () => {
  it('a burst of keys: every new key is first, in one statement rather than twenty', async () => {
    let now = new Date('2026-11-30T08:00:00Z')
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => now }, logger: silentLogger }, 'slack', TTL)
    const inserts = recordStatements(db.knex)
    const keys = Array.from({ length: 20 }, (_, i) => `command:T1:trigger${i}`)
    expect(await Promise.all(keys.map((k) => ledger.firstTime(k)))).toEqual(Array(20).fill(true))
    inserts.stop()
    // Asked for in the same tick: one statement.
    expect(inserts.count('INSERT INTO chat_deliveries')).toBe(1)
    // Seen: a redelivery is not first, alone or in a batch, until the TTL has passed.
    expect(await Promise.all([ledger.firstTime(keys[0]!), ledger.firstTime(keys[1]!), ledger.firstTime('command:T1:new')])).toEqual([false, false, true])
    now = new Date(now.getTime() + TTL)
    expect(await ledger.firstTime(keys[0]!)).toBe(true)
  })

  it('the same key twice in one batch is first once', async () => {
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => new Date() }, logger: silentLogger }, 'teams', TTL)
    const answers = await Promise.all([ledger.firstTime('a|1'), ledger.firstTime('b|2'), ledger.firstTime('b|2'), ledger.firstTime('a|1')])
    expect(answers).toEqual([true, true, false, false])
  })

  it('keys stored as digests (too long, or not storable) come back as the keys given', async () => {
    const long = `conv|${'x'.repeat(600)}`
    const nul = 'conv|a\u0000b'
    const first = await firstDeliveries(db.knex, 'teams', [long, nul, 'short'], new Date(), TTL)
    expect(first).toEqual(new Set([long, nul, 'short']))
    expect(await firstDeliveries(db.knex, 'teams', [long, nul, 'short', 'other'], new Date(), TTL)).toEqual(new Set(['other']))
  })

  it('links read with the keys: each asker gets the links of its own ids, as they stand, in the batch\'s one statement', async () => {
    const deps = makeDeps(db.knex)
    const acme = await seedAccount(deps)
    const globex = await seedAccount(deps)
    expect((await connectChat(db.knex, { platform: 'slack', externalId: 'T0ACME', accountId: acme.account.id, channelId: null })).ok).toBe(true)
    expect((await connectChat(db.knex, { platform: 'slack', externalId: 'E0GLOBEX', accountId: globex.account.id, channelId: null })).ok).toBe(true)
    // The same id on another platform is another link.
    expect((await connectChat(db.knex, { platform: 'teams', externalId: 'T0OTHER', accountId: globex.account.id, channelId: null })).ok).toBe(true)
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => new Date() }, logger: silentLogger }, 'slack', TTL)
    const inserts = recordStatements(db.knex)
    const [a, b, c, again] = await Promise.all([
      ledger.firstTimeWithLinks('command:T0ACME:1', ['T0ACME']),
      ledger.firstTimeWithLinks('command:T0GLOBEX:2', ['T0GLOBEX', 'E0GLOBEX']),
      ledger.firstTimeWithLinks('command:T0OTHER:3', ['T0OTHER']),
      ledger.firstTimeWithLinks('command:T0ACME:1', ['T0ACME']),
    ])
    inserts.stop()
    expect(inserts.count('INSERT INTO chat_deliveries')).toBe(1)
    expect(a).toEqual({ first: true, links: new Map([['T0ACME', acme.account.id]]), looked: new Set(['T0ACME']) })
    expect(b).toEqual({ first: true, links: new Map([['E0GLOBEX', globex.account.id]]), looked: new Set(['T0GLOBEX', 'E0GLOBEX']) })
    expect(c).toEqual({ first: true, links: new Map(), looked: new Set(['T0OTHER']) })
    expect(again.first).toBe(false)
    // An id a bind parameter cannot carry is not read: the caller reads it itself.
    const odd = await ledger.firstTimeWithLinks('command:odd:4', ['T0\u0000ACME'])
    expect(odd).toEqual({ first: true, links: new Map(), looked: new Set() })
  })

  it('a failed statement fails the keys of its batch only; the next key is recorded', async () => {
    let fail = true
    const clock = {
      now: () => {
        if (fail) {
          fail = false
          throw new Error('clock broke')
        }
        return new Date()
      },
    }
    const ledger = createDeliveryLedger({ db: db.knex, clock, logger: silentLogger }, 'slack', TTL)
    await expect(ledger.firstTime('k1')).rejects.toThrow('clock broke')
    expect(await ledger.firstTime('k1')).toBe(true)
  })

  it('a failed prune is logged, and tried again after the next batch', async () => {
    const warnings: string[] = []
    const logger = { warn: (_: object | string, msg?: string) => void warnings.push(msg ?? '') }
    // The prune is the only statement built with db(table): make exactly that one fail.
    let prunes = 0
    const failingPrune = new Proxy(db.knex, {
      apply() {
        prunes += 1
        throw new Error('prune broke')
      },
    })
    const ledger = createDeliveryLedger({ db: failingPrune, clock: { now: () => new Date() }, logger }, 'slack', TTL)
    expect(await ledger.firstTime('p1')).toBe(true)
    await ledger.settled()
    expect(prunes).toBe(1)
    expect(warnings).toEqual(['delivery ledger: pruning old keys failed; tried again with the next batch'])
    expect(await ledger.firstTime('p2')).toBe(true)
    await ledger.settled()
    expect(prunes).toBe(2)
  })

  // A row lock held by another session: only a server has more than one session.
  it.skipIf(!process.env.DATABASE_URL)('a key locked elsewhere holds up its own batch until the deadline, never the other keys', async () => {
    const ledger = createDeliveryLedger({ db: db.knex, clock: { now: () => new Date() }, logger: silentLogger }, 'slack', TTL, { statementMs: 300 })
    const holder = await db.knex.transaction()
    const events: string[] = []
    try {
      await holder.raw(`INSERT INTO chat_deliveries (platform, key, seen_at) VALUES ('slack', 'a', now())`)
      // The batch with `a` waits on the lock; wait until its statement is sent.
      const sent = new Promise<void>((resolve) => {
        const on = (q: { sql?: string; bindings?: unknown[] }) => {
          if (q.sql?.includes('INSERT INTO chat_deliveries') && q.bindings?.includes('a')) {
            db.knex.off('query', on)
            resolve()
          }
        }
        db.knex.on('query', on)
      })
      const a = ledger.firstTime('a').then(
        () => events.push('a answered'),
        (error: unknown) => events.push(`a failed: ${error instanceof Error ? error.message.slice(0, 40) : String(error)}`),
      )
      await sent
      expect(await ledger.firstTime('c')).toBe(true)
      events.push('c answered')
      await a
      // The cancelled statement has ended, while the lock is still held.
      await ledger.settled()
      events.push('lock released')
    } finally {
      await holder.rollback()
    }
    expect(events[0]).toBe('c answered')
    expect(events[1]).toMatch(/^a failed/)
    expect(events[2]).toBe('lock released')
    // The statement was cancelled, not left to finish: `a` was never recorded, and is first now.
    expect(await ledger.firstTime('a')).toBe(true)
    await ledger.settled()
  })

  it.skipIf(!process.env.DATABASE_URL)('two replicas writing the same keys in opposite order never deadlock', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `command:T1:${String(i).padStart(3, '0')}`)
    const reversed = [...keys].reverse()
    for (let round = 0; round < 20; round += 1) {
      const now = new Date(Date.UTC(2026, 10, 30, 8, round))
      const [x, y] = await Promise.all([firstDeliveries(db.knex, 'slack', keys, now, 1), firstDeliveries(db.knex, 'slack', reversed, now, 1)])
      // Each key is first exactly once between the two.
      expect(x.size + y.size).toBe(500)
    }
  })
})
