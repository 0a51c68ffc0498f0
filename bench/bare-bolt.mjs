// The baseline of `npm run bench` (bench/stack.ts): a bare Bolt app that only acknowledges, in a
// process of its own, with the same HTTP stack shape as InviteOps (express + Bolt's
// ExpressReceiver, which checks the signature). Plain JavaScript: no TypeScript loader here.
// Env: SLACK_SIGNING_SECRET. Prints `listening <port>` once ready (port 0: a free one).
import console from 'node:console'
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { createServer } from 'node:http'
import bolt from '@slack/bolt'
import express from 'express'

const { App, ExpressReceiver, LogLevel } = bolt
const secret = process.env.SLACK_SIGNING_SECRET
if (!secret) {
  console.error('bare-bolt: SLACK_SIGNING_SECRET is not set')
  process.exit(2)
}
const receiver = new ExpressReceiver({ signingSecret: secret, endpoints: '/slack/events', logLevel: LogLevel.ERROR })
const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bench' }), logLevel: LogLevel.ERROR, ignoreSelf: false })
app.command(/.*/, async ({ ack }) => {
  await ack()
})
const web = express()
web.use(receiver.router)
const server = createServer(web)
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`))
const stop = () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)
