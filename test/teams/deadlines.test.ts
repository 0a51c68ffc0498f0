/**
 * Every Bot Connector call has a deadline: a connector that accepts the connection and never
 * answers makes that call fail cleanly, the user is told what can be told, a warning is logged,
 * and the channel's request is answered. The connector is a local server (the activity's
 * `serviceUrl` points at it) that answers some routes and hangs on others; the deadline is
 * shortened through the router's options.
 */
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { connectChat } from '../../src/accounts/chat-connections.ts'
import { createTeamsRouter } from '../../adapters/teams/router.ts'
import type { TestDatabase } from '../support/db.ts'
import { makeDeps, seedAccount } from '../support/factories.ts'
import { serveRouter } from '../support/http.ts'
import { capturingLogger } from '../web/support.ts'
import { ADMIN_EMAIL, TENANT, UNAUTHENTICATED, channelText, post, useTeamsRouteTests } from './support.ts'

let db: TestDatabase
useTeamsRouteTests({ onDatabase: (x) => (db = x) })

const member = readFileSync(new URL('./fixtures/member.json', import.meta.url), 'utf8')

/** A Bot Connector on loopback: member lookups and posted activities either answer or hang. */
async function connector(hang: { members: boolean; activities: boolean }) {
  const posted: string[] = []
  let hung = 0
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isMember = req.method === 'GET' && /\/members\//.test(req.url ?? '')
    if ((isMember && hang.members) || (!isMember && hang.activities)) {
      hung++
      return // accepted, never answered
    }
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      if (!isMember) posted.push(body)
      res.writeHead(200, { 'content-type': 'application/json' }).end(isMember ? member : JSON.stringify({ id: `reply-${posted.length}` }))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    serviceUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/amer/`,
    posted,
    hung: () => hung,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function start(connectorMs: number) {
  const logger = capturingLogger()
  const deps = makeDeps(db.knex, { logger })
  const seed = await seedAccount(deps, { adminEmail: ADMIN_EMAIL })
  const linked = await connectChat(db.knex, { platform: 'teams', externalId: TENANT, accountId: seed.account.id, channelId: null })
  if (!linked.ok) throw new Error('could not link the test tenant')
  const router = createTeamsRouter(deps, UNAUTHENTICATED, { deadlines: { connectorMs } })
  return { ...(await serveRouter(db.knex, router)), logger }
}

describe('Bot Connector deadlines', () => {
  it('a member lookup that never answers: the user is told Teams could not vouch for them, a warning is logged', async () => {
    const c = await connector({ members: true, activities: false })
    const h = await start(1_000)
    try {
      const res = await post(h.base, channelText('list', { serviceUrl: c.serviceUrl }))
      expect(res.status).toBe(200)
      expect(c.hung()).toBe(1)
      expect(c.posted).toHaveLength(1)
      expect(c.posted[0]).toContain('I could not check who you are with Teams just now')
      const warning = h.logger.lines.find((l) => l.includes('teams getMember failed'))
      expect(warning).toContain('did not answer within 1000 ms')
    } finally {
      await h.close()
      await c.close()
    }
  })

  it('a reply that never answers: the turn fails cleanly (logged), the channel still gets its answer', async () => {
    const c = await connector({ members: false, activities: true })
    const h = await start(1_000)
    try {
      const res = await post(h.base, channelText('list', { serviceUrl: c.serviceUrl }))
      expect(res.status).toBe(200)
      // The reply, then the "something went wrong" notice: both hung, both given up.
      expect(c.hung()).toBe(2)
      expect(h.logger.lines.find((l) => l.includes('teams turn failed'))).toContain('did not answer within 1000 ms')
      expect(h.logger.lines.find((l) => l.includes('could not tell the user about the failure'))).toContain('did not answer within 1000 ms')
    } finally {
      await h.close()
      await c.close()
    }
  })
})
