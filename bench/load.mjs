// The load generator of `npm run bench` (bench/stack.ts): autocannon in a process of its own, so
// neither signing nor the HTTP client takes time from the servers being measured.
//
// Every request is a slash command signed as Slack signs it (v0 HMAC-SHA256 of
// `v0:<timestamp>:<body>` with the signing secret, the timestamp taken when the request is built,
// so always inside Slack's 5-minute window) with a `trigger_id` of its own. The command text is a
// template: `{n}` is the request's number (first, first+1, … across all connections, so each
// regenerate names a distinct invitation) and the caller is administrator ⌊n / perAdmin⌋
// (`U0ADM<k>`), so no administrator exceeds the hourly send limit whatever the run's size.
//
// Input: one JSON argument (see `spec` below). Output: one JSON line on stdout with autocannon's
// figures. Plain JavaScript: no TypeScript loader in this process.
import console from 'node:console'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { URLSearchParams } from 'node:url'
import { createHmac } from 'node:crypto'
import autocannon from 'autocannon'

const spec = JSON.parse(process.argv[2] ?? '{}')
const { url, secret, team, channel, responseUrl, text, first = 0, perAdmin = 50, connections = 8, amount, duration, timeoutSeconds = 10, maxSeconds = 120 } = spec
if (!url || !secret || !text || (!amount && !duration)) {
  console.error('load.mjs: url, secret, text and amount or duration are required')
  process.exit(2)
}

let next = first
let highest = first - 1
function setupRequest(req) {
  const n = next++
  highest = n
  const body = new URLSearchParams({
    token: 'bench',
    team_id: team,
    team_domain: 'bench',
    channel_id: channel,
    channel_name: 'admins',
    user_id: `U0ADM${Math.floor(n / perAdmin)}`,
    user_name: 'admin',
    command: '/invite',
    text: text.replaceAll('{n}', String(n)),
    api_app_id: 'A0BENCH',
    response_url: responseUrl,
    trigger_id: `${n}.${process.pid}.${Math.random().toString(36).slice(2)}`,
  }).toString()
  const ts = String(Math.floor(Date.now() / 1000))
  const signature = 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')
  return {
    ...req,
    method: 'POST',
    path: '/slack/events',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature },
    body,
  }
}

// autocannon's own start and finish are taken on its one-second ticks: too coarse for runs of a
// few seconds. The run is timed here instead, from just before the first request to the last response.
const startedAt = Date.now()
const t0 = performance.now()
let lastResponse = t0
const instance = autocannon(
  {
    url,
    connections,
    ...(amount ? { amount } : { duration }),
    timeout: timeoutSeconds,
    requests: [{ setupRequest }],
  },
  (err, result) => {
    if (err) {
      console.log(JSON.stringify({ error: String(err?.message ?? err) }))
      process.exit(1)
    }
    const seconds = (lastResponse - t0) / 1000
    console.log(
      JSON.stringify({
        requests: result.requests.total,
        seconds,
        rps: result.requests.total / seconds,
        p50: result.latency.p50,
        p99: result.latency.p99,
        max: result.latency.max,
        ok2xx: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        start: startedAt,
        finish: startedAt + (lastResponse - t0),
        first,
        highest,
      }),
    )
    process.exit(0)
  },
)
instance.on('response', () => {
  lastResponse = performance.now()
})
// Bounded: past maxSeconds the run is stopped and reports what it did.
setTimeout(() => instance.stop(), maxSeconds * 1000).unref()
process.on('SIGTERM', () => instance.stop())
