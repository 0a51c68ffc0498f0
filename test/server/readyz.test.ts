/**
 * `/readyz` says ready or not with a reason code per check, and nothing more: anyone who can
 * reach it can read it. The words (a database error, an alarm's detail) go to the log, once per
 * change rather than on every probe.
 */
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import type { Server } from 'node:http'
import { Writable } from 'node:stream'
import knexFactory, { type Knex } from 'knex'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp, type ReadinessCheck } from '../../src/server/http.ts'
import { createLogger } from '../../src/server/logger.ts'
import { createTestDatabase, type TestDatabase } from '../support/db.ts'

const quietKnexLog = { warn: () => {}, error: () => {}, deprecate: () => {}, debug: () => {} }
// One database for the file: every app started here only reads from it (`SELECT 1`), and each
// app keeps its own readiness state, so the tests need no database of their own.
let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(async () => {
  await database.close()
})
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

/** The app with `db` and `checks`, its log lines kept in memory. */
async function start(db: Knex, checks: ReadinessCheck[] = [], checkTimeoutMs?: number): Promise<{ probe(): Promise<{ status: number; text: string }>; lines: string[] }> {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
      done()
    },
  })
  const { app } = createHttpApp({ db, logger: createLogger({ level: 'info', destination: sink }), mounts: [], checks, registry: new Registry(), ...(checkTimeoutMs ? { checkTimeoutMs } : {}) })
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`
  return {
    lines,
    async probe() {
      const res = await fetch(url)
      return { status: res.status, text: await res.text() }
    },
  }
}

/** A TCP server that accepts connections and never says a word (a database that hangs). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: NetServer = createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * A TCP relay to the test database, so a test can stop "the database server" under an app that
 * used it: once stopped, every connection, held or new, is refused or cut.
 */
async function relayTo(url: string): Promise<{ url: string; stop(): Promise<void> }> {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  const server: NetServer = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const relayed = new URL(url)
  relayed.hostname = '127.0.0.1'
  relayed.port = String((server.address() as AddressInfo).port)
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    }))
  cleanups.push(stop)
  return { url: relayed.toString(), stop }
}

const readinessLines = (lines: string[]) => lines.filter((l) => l.includes('"msg":"readiness'))

describe('/readyz', () => {
  it('an unreachable database: 503 with a reason code, no error text; the log has the detail, once', async () => {
    const db = knexFactory({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:9/none', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2_000, log: quietKnexLog })
    cleanups.push(() => db.destroy())
    const app = await start(db)
    for (let i = 0; i < 3; i++) {
      const res = await app.probe()
      expect(res.status).toBe(503)
      expect(JSON.parse(res.text)).toEqual({ status: 'not ready', checks: { database: { ok: false, reason: 'database_unreachable' } } })
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect|nobody/)
    }
    const logged = readinessLines(app.lines)
    expect(logged).toHaveLength(1)
    expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({ level: 40, check: 'database', ok: false, reason: 'database_unreachable', detail: expect.stringMatching(/ECONNREFUSED/) })
  })

  it('a closed database: 503 database_unreachable', async () => {
    // What the app holds once its database is closed (shutdown): a pool destroyed under it.
    const closed = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 1 }, log: quietKnexLog })
    await closed.raw('SELECT 1')
    await closed.destroy()
    const app = await start(closed)
    const res = await app.probe()
    expect(res.status).toBe(503)
    expect(JSON.parse(res.text)).toEqual({ status: 'not ready', checks: { database: { ok: false, reason: 'database_unreachable' } } })
  })

  it('a database server that stops after the app used it: 503 database_unreachable, the refusal logged', async () => {
    const relay = await relayTo(database.url)
    const db = knexFactory({ client: 'pg', connection: relay.url, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2_000, log: quietKnexLog })
    cleanups.push(() => db.destroy())
    const app = await start(db)
    const up = await app.probe()
    expect(up.status).toBe(200)
    expect(JSON.parse(up.text)).toEqual({ status: 'ready', checks: { database: { ok: true } } })

    await relay.stop()
    // The pool's connection was cut with the server (the pool drops it when it hears so), so the
    // probes connect again, and the stopped port refuses.
    for (let i = 0; i < 2; i++) {
      const res = await app.probe()
      expect(res.status).toBe(503)
      expect(JSON.parse(res.text)).toEqual({ status: 'not ready', checks: { database: { ok: false, reason: 'database_unreachable' } } })
    }
    const down = readinessLines(app.lines).map((l) => JSON.parse(l) as { check: string; ok: boolean; detail?: string })
    expect(down.filter((l) => l.check === 'database')).toEqual([expect.objectContaining({ ok: false, detail: expect.stringMatching(/ECONNREFUSED/) })])
  })

  it('a database that never answers: the probe still answers, check_timed_out', async () => {
    const silent = await silentServer()
    const db = knexFactory({ client: 'pg', connection: `postgres://nobody@127.0.0.1:${silent.port}/none`, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 60_000, log: quietKnexLog })
    // Hang up first, so the pool's pending connection fails and it can close.
    cleanups.push(() => db.destroy().catch(() => {}), () => silent.close())
    const app = await start(db, [], 100)
    const res = await app.probe()
    expect(res.status).toBe(503)
    expect(JSON.parse(res.text)).toEqual({ status: 'not ready', checks: { database: { ok: false, reason: 'check_timed_out' } } })
  })

  it('other checks: codes shown, details only logged, a throw or a bad code never leaks; state changes logged once each', async () => {
    let paused = true
    const checks: ReadinessCheck[] = [
      // The email check's contract before reason codes: `{ ok, detail }`, detail with an alarm.
      { name: 'email', check: async () => ({ ok: true, detail: paused ? 'ALARM: sending paused (Account suspended by ops@vendor)' : 'sending' }) },
      { name: 'coded', check: async () => ({ ok: true, reason: paused ? 'sending_paused' : undefined }) },
      { name: 'wordy', check: async () => ({ ok: !paused, reason: 'Queue is full at host db-3!' }) },
      {
        name: 'thrower',
        check: async () => {
          if (paused) throw new Error('password authentication failed for user "inviteops"')
          return { ok: true }
        },
      },
    ]
    const app = await start(database.knex, checks)
    const first = await app.probe()
    await app.probe()
    expect(first.status).toBe(503)
    expect(JSON.parse(first.text)).toEqual({
      status: 'not ready',
      checks: {
        database: { ok: true },
        email: { ok: true },
        coded: { ok: true, reason: 'sending_paused' },
        wordy: { ok: false, reason: 'not_ready' },
        thrower: { ok: false, reason: 'check_failed' },
      },
    })
    expect(first.text).not.toMatch(/ALARM|vendor|host|password|inviteops/)

    paused = false
    const second = await app.probe()
    await app.probe()
    expect(second.status).toBe(200)
    expect(JSON.parse(second.text)).toMatchObject({ status: 'ready', checks: { wordy: { ok: true } } })

    const logged = readinessLines(app.lines).map((l) => JSON.parse(l) as { check: string; ok: boolean; detail?: string })
    const thrower = logged.filter((l) => l.check === 'thrower')
    // Failing, then ok again: two lines for four probes.
    expect(thrower.map((l) => l.ok)).toEqual([false, true])
    expect(thrower[0]?.detail).toContain('password authentication failed')
    expect(logged.find((l) => l.check === 'email')?.detail).toContain('ALARM: sending paused')
  })

  it('a first result that is ok with a reason is logged as that state; "ok again" only after it', async () => {
    let paused = true
    const checks: ReadinessCheck[] = [
      { name: 'email', check: async () => (paused ? { ok: true, reason: 'email_sending_paused' } : { ok: true }) },
      { name: 'quiet', check: async () => ({ ok: true }) },
    ]
    const app = await start(database.knex, checks)
    await app.probe()
    await app.probe()
    paused = false
    await app.probe()
    await app.probe()

    const logged = readinessLines(app.lines).map((l) => JSON.parse(l) as { check: string; msg: string; reason?: string; level: number })
    expect(logged.filter((l) => l.check === 'quiet')).toEqual([])
    const email = logged.filter((l) => l.check === 'email')
    expect(email.map((l) => l.msg)).toEqual(['readiness: email is ok, with email_sending_paused', 'readiness: email is ok again'])
    expect(email[0]).toMatchObject({ level: 30, reason: 'email_sending_paused' })
  })

  it('a reason that is not a code: kept out of the body, written to the log as reported', async () => {
    const checks: ReadinessCheck[] = [
      { name: 'wordy', check: async () => ({ ok: false, reason: 'Queue is full at host db-3!' }) },
      { name: 'okWordy', check: async () => ({ ok: true, reason: 'Paused by ops@vendor' }) },
    ]
    const app = await start(database.knex, checks)
    const res = await app.probe()
    await app.probe()
    expect(JSON.parse(res.text)).toMatchObject({ checks: { wordy: { ok: false, reason: 'not_ready' }, okWordy: { ok: true } } })
    expect(res.text).not.toMatch(/Queue|vendor/)

    const logged = readinessLines(app.lines).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(logged.filter((l) => l.check === 'wordy')).toEqual([expect.objectContaining({ level: 40, reason: 'not_ready', reportedReason: 'Queue is full at host db-3!' })])
    expect(logged.filter((l) => l.check === 'okWordy')).toEqual([expect.objectContaining({ level: 30, msg: 'readiness: okWordy', reportedReason: 'Paused by ops@vendor' })])
  })

  it('a check that hangs counts as failed and does not hold the others', async () => {
    const checks: ReadinessCheck[] = [
      { name: 'stuck', check: () => new Promise(() => {}) },
      { name: 'fast', check: async () => ({ ok: true }) },
    ]
    const app = await start(database.knex, checks, 100)
    const res = await app.probe()
    expect(res.status).toBe(503)
    // The database's own check is left out of the comparison: on a loaded machine a first
    // connection may itself take longer than this test's short deadline.
    expect(JSON.parse(res.text)).toMatchObject({ status: 'not ready', checks: { fast: { ok: true }, stuck: { ok: false, reason: 'check_timed_out' } } })
  })
})
