import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { readEmbeddedOwner } from '../../src/db/embedded.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import { silentLogger } from '../../src/ports/logger.ts'

/** DATA_DIR's lock and owner files are outside data too: garbage in them must not stop a start. */
let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-datadir-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

test.each([
  ['not JSON', '{"pid": 1, "url": '],
  ['the wrong shape', '{"pid": "1", "url": "http://evil.test"}'],
  ['a dead owner', JSON.stringify({ pid: 2 ** 22 + 12345, url: 'postgres://postgres@127.0.0.1:1/postgres' })],
])('an owner file with %s is ignored', async (_label, content) => {
  await writeFile(join(dataDir, 'embedded.json'), content)
  expect(await readEmbeddedOwner(dataDir)).toBeNull()
})

test('a stale lock of a dead process is cleared; the owner file is written, then removed on close', async () => {
  await writeFile(join(dataDir, 'embedded.lock'), String(2 ** 22 + 12345))
  await writeFile(join(dataDir, 'embedded.json'), 'garbage')
  const db = await openDatabase({ dataDir, embeddedMode: 'exclusive', logger: silentLogger })
  try {
    expect(db.kind).toBe('embedded')
    expect(await readFile(join(dataDir, 'embedded.lock'), 'utf8')).toBe(String(process.pid))
    expect(await readEmbeddedOwner(dataDir)).toEqual({ pid: process.pid, url: db.url })
    expect((await db.knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }])
    // a second opener in `share` mode goes through this process instead of opening the files
    const shared = await openDatabase({ dataDir, embeddedMode: 'share', logger: silentLogger })
    expect(shared.kind).toBe('embedded-shared')
    expect((await shared.knex.raw('select 2 as two')).rows).toEqual([{ two: 2 }])
    await shared.close()
  } finally {
    await db.close()
  }
  expect(existsSync(join(dataDir, 'embedded.lock'))).toBe(false)
  expect(existsSync(join(dataDir, 'embedded.json'))).toBe(false)
})
