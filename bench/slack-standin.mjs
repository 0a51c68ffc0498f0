// Slack's Web API and response_url, played by a process of its own for `npm run bench`
// (bench/stack.ts). Real Slack is another machine: its work must not take the measured server's
// CPU or event loop, nor the load generator's. It answers as fast as it can and counts what it got.
//
//   POST /api/users.info        the member U0ADM<k> is admin<k>@bench.test (confirmed email, active)
//   POST /api/chat.postMessage  ok (the channel confirmation of a state change)
//   POST /api/<anything else>   ok
//   POST <any other path>       ok (response_url posts: help, lists, refusals, errors)
//   GET  /__bench/counts        what arrived since the last reset, as JSON
//   POST /__bench/reset         zero the counts
//
// Plain JavaScript on purpose: no TypeScript loader in this process. Prints `listening <port>`
// once it is ready (port 0: the system picks a free one). Env: BENCH_TEAM, BENCH_CHANNEL.
import { Buffer } from 'node:buffer'
import console from 'node:console'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { URLSearchParams } from 'node:url'
import { createServer } from 'node:http'

const team = process.env.BENCH_TEAM ?? 'T0BENCH'
const channel = process.env.BENCH_CHANNEL ?? 'C0BENCH'

let counts
const reset = () => {
  counts = { usersInfo: 0, postMessage: 0, responseUrl: 0, otherApi: 0, bytes: 0, firstAt: null, lastAt: null, texts: {} }
}
reset()

/** The answer's first line, shortened: what kind of reply it was (help, a list, an error…). */
function noteText(raw) {
  let text = ''
  try {
    const parsed = raw.startsWith('{') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw))
    text = String(parsed.text ?? '')
  } catch {
    text = '(unparsable body)'
  }
  const key = text.split('\n')[0].replace(/\S+@\S+/g, '<email>').replace(/\d+/g, 'N').slice(0, 80)
  counts.texts[key] = (counts.texts[key] ?? 0) + 1
}

function usersInfo(body) {
  const params = body.startsWith('{') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body))
  const user = String(params.user ?? '')
  const m = /^U0ADM(\d+)$/.exec(user)
  if (!m) return { ok: false, error: 'user_not_found' }
  return {
    ok: true,
    user: {
      id: user,
      team_id: team,
      name: `admin${m[1]}`,
      deleted: false,
      is_bot: false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_email_confirmed: true,
      tz: 'UTC',
      profile: { email: `admin${m[1]}@bench.test`, display_name: `admin${m[1]}` },
    },
  }
}

const posted = JSON.stringify({ ok: true, channel, ts: '1.1' })
const okay = JSON.stringify({ ok: true })

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    const url = req.url ?? ''
    res.setHeader('content-type', 'application/json')
    if (url === '/__bench/counts') return res.end(JSON.stringify(counts))
    if (url === '/__bench/reset') {
      reset()
      return res.end(okay)
    }
    counts.bytes += body.length
    const now = performance.timeOrigin + performance.now()
    if (url.startsWith('/api/users.info')) {
      counts.usersInfo++
      try {
        return res.end(JSON.stringify(usersInfo(body)))
      } catch {
        return res.end(JSON.stringify({ ok: false, error: 'invalid_arguments' }))
      }
    }
    counts.firstAt ??= now
    counts.lastAt = now
    if (url.startsWith('/api/chat.postMessage')) {
      counts.postMessage++
      noteText(body)
      return res.end(posted)
    }
    if (url.startsWith('/api/')) {
      counts.otherApi++
      return res.end(okay)
    }
    counts.responseUrl++
    noteText(body)
    res.end(okay)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`))
const stop = () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// Never outlive the benchmark that started it.
process.on('disconnect', stop)
