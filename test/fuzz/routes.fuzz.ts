/**
 * Generated and mutated inputs through the real HTTP routes (`npm run test:fuzz`, outside
 * `npm test`): Slack slash commands, block_actions and view_submission, Teams activities, card
 * data and Action.Execute invokes, the invitee's forms, SNS deliveries. See runner.ts for what
 * each input is checked for.
 *
 *   FUZZ_SEED=<n>   replay a run (the seed is printed at the start, in the summary and on failure)
 *   FUZZ_RUNS=<n>   total inputs (default 10000), shared between the families by weight
 *   FUZZ_ONLY=<s>   only the families whose name contains one of these comma-separated words
 *   FUZZ_SHRINK=0   report the first failing input as it came, without shrinking it
 *   FUZZ_TRACE=<f>  append every input to file f before sending it (after a crash, the last one)
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPhase, summary, watchFaults, type Faults, type Phase, type PhaseOptions, type Tally } from './runner.ts'
import type { Family } from './shared.ts'
import { blockActions, slashCommands, viewSubmissions } from './slack.ts'
import { snsNotifications } from './sns.ts'
import { teamsCards, teamsExecute, teamsMessages, teamsOdd } from './teams.ts'
import { inviteePages } from './web.ts'
import { SOMETHING_WENT_WRONG, createWorld, type World } from './world.ts'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(raw)}`)
  return n
}

const SEED = envInt('FUZZ_SEED', Math.floor(Math.random() * 2 ** 31))
const TOTAL = envInt('FUZZ_RUNS', 10_000)
const SHRINK = process.env.FUZZ_SHRINK !== '0'
const ONLY = (process.env.FUZZ_ONLY ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)

interface Entry {
  name: string
  /** The family's share of the inputs, half of them built to be refused. */
  share: number
  run(phase: Phase, opts: PhaseOptions): Promise<Tally>
}
const entry = <R>(family: Family<R>, share: number): Entry => ({ name: family.name, share, run: (phase, opts) => runPhase(family, phase, world, faults, opts) })

const FAMILIES: Entry[] = [
  entry(slashCommands, 0.14),
  entry(blockActions, 0.14),
  entry(viewSubmissions, 0.08),
  entry(teamsMessages, 0.12),
  entry(teamsCards, 0.08),
  entry(teamsExecute, 0.1),
  entry(teamsOdd, 0.08),
  entry(inviteePages, 0.13),
  entry(snsNotifications, 0.13),
]
const selected = FAMILIES.filter((f) => ONLY.length === 0 || ONLY.some((o) => f.name.toLowerCase().includes(o)))
const PHASES: [Phase, string][] = [
  ['refused', 'inputs built to be refused change no row'],
  ['mayChange', 'inputs that may act never fail'],
]

const replay = `FUZZ_SEED=${SEED}${process.env.FUZZ_RUNS ? ` FUZZ_RUNS=${TOTAL}` : ''}${ONLY.length > 0 ? ` FUZZ_ONLY='${ONLY.join(',')}'` : ''} npm run test:fuzz`
const faults: Faults = { unhandledRejections: [], uncaughtExceptions: [] }
const tallies: Tally[] = []
let world: World
let unwatch: () => void = () => {}

describe('generated inputs through the real HTTP routes', () => {
  beforeAll(async () => {
    console.log(`fuzz: seed ${SEED}, ${TOTAL} inputs; replay with ${replay}`)
    unwatch = watchFaults(faults)
    world = await createWorld()
  })

  afterAll(async () => {
    console.log(summary(tallies, faults, SEED, TOTAL))
    await world?.close()
    unwatch()
  })

  it('its checks catch a refused input that writes, a 5xx, a failure reported after the answer, a Slack 404', async () => {
    // Stand-in families whose one input breaks one rule each; the rule must say so.
    const cases: [string, (w: World) => Promise<number>, RegExp][] = [
      ['writes', async (w) => (await w.db.knex('groups').update({ name: w.db.knex.raw(`name || '!'`) }), 400), /yet changed rows of groups/],
      ['5xx', async () => 503, /answered 503/],
      ['reported failure', async (w) => (w.outbound.push(JSON.stringify({ text: `${SOMETHING_WENT_WRONG}.` })), 200), /something went wrong on its side/],
      ['Slack 404', async () => 404, /answered 404 after Bolt waited/],
    ]
    for (const [name, send, expected] of cases) {
      const family: Family<null> = {
        name: `self-check: ${name}`,
        refused: fc.constant(null),
        mayChange: fc.constant(null),
        prepare: async () => ({ refusedBecause: 'built to be refused', describe: name, send: () => send(world), judge: (status) => (status === 404 ? 'answered 404 after Bolt waited' : null) }),
      }
      const tally = await runPhase(family, 'refused', world, { unhandledRejections: [], uncaughtExceptions: [] }, { seed: SEED, numRuns: 1, resetEvery: 200, shrink: false })
      expect(tally.failure, name).toMatch(expected)
    }
    // And a reset puts the written rows back.
    await world.reset()
    expect(await world.db.knex('groups').where('name', 'like', '%!')).toEqual([])
  })

  for (const family of selected) {
    for (const [phase, title] of PHASES) {
      it(`${family.name}: ${title}`, async () => {
        const numRuns = Math.ceil((TOTAL * family.share) / 2)
        const tally = await family.run(phase, { seed: SEED, numRuns, resetEvery: 200, shrink: SHRINK, trace: process.env.FUZZ_TRACE })
        tallies.push(tally)
        if (tally.failure) console.log(`fuzz: ${family.name} (${phase}) FAILED; replay with ${replay}\n${tally.failure}`)
        expect(tally.failure, `seed ${SEED}; replay with ${replay}`).toBeNull()
      })
    }
  }

  it('no unhandled rejection or uncaught exception in the whole run', () => {
    expect([...faults.unhandledRejections, ...faults.uncaughtExceptions], `seed ${SEED}; replay with ${replay}`).toEqual([])
  })

  it.runIf(ONLY.length === 0)(`sent at least the ${TOTAL} inputs asked for`, () => {
    const sent = tallies.reduce((n, t) => n + t.inputs, 0)
    // Fewer only when a family stopped at a failure, which its own test reports.
    if (tallies.every((t) => t.failure === null)) expect(sent).toBeGreaterThanOrEqual(TOTAL)
  })
})
