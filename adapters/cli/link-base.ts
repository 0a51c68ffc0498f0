import type { Knex } from 'knex'
import type { AppConfig } from '../../src/config.ts'
import { readPublicBaseUrl } from '../../src/server/instance-settings.ts'

/** The base of the links the CLI prints, and what to say beside them. */
export interface LinkBase {
  /** Without a trailing slash. */
  url: string
  /** One line for the terminal beside a printed link, when the base may not be the one emails carry. */
  note: string | null
}

/**
 * Which base `inviteops run … link` puts in front of a link. The CLI is another process than the
 * server, usually with another environment (`PORT=4000 npm start` in one terminal, plain `npx
 * inviteops` in the next), so its own `http://localhost:$PORT` default says nothing about the
 * server. In order:
 *  1. PUBLIC_BASE_URL set for the CLI itself: the operator said so (with a note if the server
 *     recorded another one, as its emails then carry that one);
 *  2. the base the server recorded at its last start, which is what its emails carry;
 *  3. otherwise the CLI's own default, printed with a note saying it is a guess: the link's
 *     secret part is still what the administrator asked for, and they can fix the host.
 */
export async function resolveLinkBase(db: Knex, config: Pick<AppConfig, 'publicBaseUrlSet' | 'service'>): Promise<LinkBase> {
  const own = config.service.publicBaseUrl
  const recorded = await readPublicBaseUrl(db)
  if (config.publicBaseUrlSet) {
    const note = recorded && recorded.url !== own ? `Note: this link uses PUBLIC_BASE_URL from your environment (${own}); the server's emails use ${recorded.url}.` : null
    return { url: own, note }
  }
  if (recorded) return { url: recorded.url, note: null }
  return {
    url: own,
    note: `Note: ${own} in this link is a guess: no server has recorded its address in this database yet. Set PUBLIC_BASE_URL, or start the server (npm start) and ask again.`,
  }
}
