import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Router } from 'express'
import type { Knex } from 'knex'
import { silentLogger } from '../../src/ports/logger.ts'
import { createHttpApp } from '../../src/server/http.ts'

/**
 * A chat router mounted in the real HTTP app (createHttpApp), listening on a free loopback port.
 * `close` waits for the router's work in flight, then stops the server.
 */
export async function serveRouter(db: Knex, router: Router & { idle(): Promise<void> }): Promise<{ base: string; close(): Promise<void> }> {
  const { app } = createHttpApp({ db, logger: silentLogger, mounts: [{ path: '/', router }] })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await router.idle()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
