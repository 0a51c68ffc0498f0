import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createFileEmailSender } from '../../adapters/email/file-sender.ts'
import { silentLogger } from '../../src/ports/logger.ts'
import type { EmailMessage } from '../../src/ports/email.ts'

/**
 * The file transport makes its outbox folder only when a write finds it missing: the first
 * email makes it, and an email sent after someone removed it makes it again.
 */

const message = (id: string): EmailMessage => ({ id, to: 'zoe@acme.test', from: 'InviteOps <invitations@acme.test>', subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' })

let dataDir: string
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'inviteops-eml-folder-'))
})
afterAll(async () => rm(dataDir, { recursive: true, force: true }))

test('the first email makes the outbox folder (owner only), and one after it was removed makes it again', async () => {
  const sender = createFileEmailSender({ dataDir, logger: silentLogger })
  const outbox = join(dataDir, 'outbox')
  const first = await sender.send(message('1'))
  expect(await readdir(outbox)).toEqual([`${first.messageId}.eml`])
  expect((await stat(outbox)).mode & 0o777).toBe(0o700)
  await rm(outbox, { recursive: true })
  const second = await sender.send(message('2'))
  expect(await readdir(outbox)).toEqual([`${second.messageId}.eml`])
})

test('a failure other than a missing folder is the send’s failure', async () => {
  // A file where the folder should be: the write fails with ENOTDIR, not made into a folder.
  const other = await mkdtemp(join(tmpdir(), 'inviteops-eml-notdir-'))
  try {
    await writeFile(join(other, 'outbox'), 'not a folder')
    await expect(createFileEmailSender({ dataDir: other, logger: silentLogger }).send(message('3'))).rejects.toThrow(/ENOTDIR/)
  } finally {
    await rm(other, { recursive: true, force: true })
  }
})
