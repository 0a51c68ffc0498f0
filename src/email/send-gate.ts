import type { Knex } from 'knex'

/**
 * The send gate: one row (`email_send_gate`) every worker replica shares.
 *
 *  - Rate: SES_MAX_SEND_RATE is a limit of the whole SES account, so replicas cannot each keep
 *    their own pace. The row holds the next instant a send may start; taking a slot locks it
 *    `FOR UPDATE`, so two replicas never take the same slot. Spacing is at least 1/rate between
 *    any two sends (no burst), which is what "never above the rate" requires.
 *  - Hold: after "Daily message quota exceeded" (kind `quota`) or "account sending paused"
 *    (kind `paused`, an alarm) nobody sends until `hold_until`; the first send after that is the
 *    probe that clears the hold (and the alarm) when it succeeds.
 *
 * Time comes from the database (`clock_timestamp()`) by default so replicas agree on one clock;
 * tests pass their own instant.
 */
export type GateNow = 'database' | Date

export type HoldKind = 'quota' | 'paused'

export interface GateState {
  nextSendAt: Date
  hold: { kind: HoldKind; until: Date; reason: string | null; alarmSince: Date | null } | null
  now: Date
}

/** A granted slot says `hadHold` when the gate had a hold or an alarm (a successful send then clears it). */
export type SlotResult = { granted: true; at: Date; hadHold?: true } | { granted: false; waitMs: number; hold: GateState['hold'] }

interface GateRow {
  id: number
  next_send_at: Date
  hold_until: Date | null
  hold_kind: HoldKind | null
  hold_reason: string | null
  alarm_since: Date | null
}

async function nowOf(trx: Knex | Knex.Transaction, now: GateNow): Promise<Date> {
  if (now !== 'database') return now
  const r = await trx.raw<{ rows: { now: Date }[] }>('SELECT clock_timestamp() AS now')
  const row = r.rows[0]
  if (!row) throw new Error('clock_timestamp() returned nothing')
  return row.now
}

/**
 * Lock the gate row and read it, with the gate's clock when it is the database's: one statement
 * (three when the row is missing). The clock is read with the row, so after a wait for the lock
 * it may be a little early: an earlier instant only grants less, and holds end a little sooner.
 */
async function lockGate(trx: Knex.Transaction, now: GateNow | 'unused'): Promise<{ row: GateRow; now: Date | null }> {
  const read = async () => {
    const sql = `SELECT *${now === 'database' ? ', clock_timestamp() AS clock_now' : ''} FROM email_send_gate WHERE id = 1 FOR UPDATE`
    const r = await trx.raw<{ rows: (GateRow & { clock_now?: Date })[] }>(sql)
    return r.rows[0]
  }
  let found = await read()
  if (!found) {
    // The row is created by the migration; recreated here if a test or an operator emptied the table.
    await trx.raw(`INSERT INTO email_send_gate (id, next_send_at) VALUES (1, '1970-01-01T00:00:00Z') ON CONFLICT (id) DO NOTHING`)
    found = await read()
  }
  if (!found) throw new Error('email_send_gate row missing')
  const { clock_now: clockNow, ...row } = found
  return { row, now: now === 'database' ? clockNow! : now === 'unused' ? null : now }
}

function holdOf(row: GateRow, now: Date): GateState['hold'] {
  if (!row.hold_kind || !row.hold_until) return null
  if (row.hold_until <= now && row.hold_kind === 'quota') return null
  return { kind: row.hold_kind, until: row.hold_until, reason: row.hold_reason, alarmSince: row.alarm_since }
}

/**
 * Take the next send slot, or learn how long to wait. `rate` undefined = no rate limit (the
 * file transport), but a hold still applies. A `paused` hold past its `until` lets exactly one
 * probe through per probe interval: the slot is granted and the hold moved forward, so other
 * replicas keep waiting while the probe finds out.
 */
export async function takeSendSlot(db: Knex, opts: { rate: number | undefined; now: GateNow; probeMs: number }): Promise<SlotResult> {
  return db.transaction(async (trx) => {
    const { row, now: at } = await lockGate(trx, opts.now)
    const now = at!
    const hold = holdOf(row, now)
    if (hold && hold.until > now) return { granted: false, waitMs: hold.until.getTime() - now.getTime(), hold }
    if (opts.rate !== undefined && row.next_send_at > now) {
      return { granted: false, waitMs: row.next_send_at.getTime() - now.getTime(), hold: null }
    }
    const patch: Partial<GateRow> = {}
    if (opts.rate !== undefined) patch.next_send_at = new Date(now.getTime() + 1000 / opts.rate)
    if (hold && hold.kind === 'paused') patch.hold_until = new Date(now.getTime() + opts.probeMs)
    if (Object.keys(patch).length) await trx('email_send_gate').where({ id: 1 }).update(patch)
    return row.hold_kind || row.alarm_since ? { granted: true, at: now, hadHold: true } : { granted: true, at: now }
  })
}

/** Stop every send until `forMs` from now. A `paused` hold also starts the alarm (kept until a send succeeds). */
export async function holdSending(db: Knex, opts: { kind: HoldKind; forMs: number; reason: string; now: GateNow }): Promise<GateState> {
  return db.transaction(async (trx) => {
    const { row, now: at } = await lockGate(trx, opts.now)
    const now = at!
    const until = new Date(now.getTime() + opts.forMs)
    const alarmSince = opts.kind === 'paused' ? (row.alarm_since ?? now) : row.alarm_since
    await trx('email_send_gate').where({ id: 1 }).update({ hold_until: until, hold_kind: opts.kind, hold_reason: opts.reason.slice(0, 500), alarm_since: alarmSince })
    return { nextSendAt: row.next_send_at, hold: { kind: opts.kind, until, reason: opts.reason, alarmSince }, now }
  })
}

/** A send succeeded: any hold is over. Returns the hold that was cleared (to log "resumed"), if any. */
export async function clearHold(db: Knex): Promise<GateState['hold']> {
  // Cheap path first: most sends find nothing to clear and take no lock.
  const peek = await db<GateRow>('email_send_gate').where({ id: 1 }).first()
  if (!peek || (!peek.hold_kind && !peek.alarm_since)) return null
  return db.transaction(async (trx) => {
    const { row } = await lockGate(trx, 'unused')
    if (!row.hold_kind && !row.alarm_since) return null
    await trx('email_send_gate').where({ id: 1 }).update({ hold_until: null, hold_kind: null, hold_reason: null, alarm_since: null })
    return row.hold_kind && row.hold_until ? { kind: row.hold_kind, until: row.hold_until, reason: row.hold_reason, alarmSince: row.alarm_since } : null
  })
}

/** The gate as it stands (readiness, metrics). */
export async function readGate(db: Knex, now: GateNow): Promise<GateState> {
  const row = await db<GateRow>('email_send_gate').where({ id: 1 }).first()
  const at = await nowOf(db, now)
  if (!row) return { nextSendAt: new Date(0), hold: null, now: at }
  const hold = row.hold_kind === 'paused' && row.hold_until ? { kind: row.hold_kind, until: row.hold_until, reason: row.hold_reason, alarmSince: row.alarm_since } : holdOf(row, at)
  return { nextSendAt: row.next_send_at, hold, now: at }
}
