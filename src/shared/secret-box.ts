import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Secrets we must store and read back (a Slack workspace's bot token), sealed with AES-256-GCM
 * under a key derived from configuration (INVITE_SECRET), so that a dump of the database alone
 * holds no usable secret (docs/security.md "Slack installations and their tokens").
 *
 * A sealed box is: one version byte (1), a random 12-byte IV, the ciphertext, and GCM's 16-byte
 * tag. The caller's `context` (the row the value belongs to) is authenticated data: a box copied
 * onto another row does not open there.
 */

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

/** A 32-byte key for one purpose, derived from a configured secret with HKDF-SHA256. */
export function deriveKey(secret: Buffer, purpose: string): Buffer {
  // No salt: the secret is already a random key, and each purpose gets its own key through `info`.
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.from(`inviteops:${purpose}`, 'utf8'), 32))
}

/** AES-256-GCM; `context` is authenticated (AAD) so a sealed value cannot be moved to another row. Output: version byte + 12-byte IV + ciphertext + tag. */
export function sealSecret(key: Buffer, plaintext: string, context: string): Buffer {
  if (key.length !== 32) throw new Error('sealSecret: the key must be 32 bytes')
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()])
}

/** The plaintext, or null when the box was tampered with, sealed for another context or under another key. Never throws. */
export function openSecret(key: Buffer, sealed: Buffer, context: string): string | null {
  try {
    if (!Buffer.isBuffer(key) || key.length !== 32 || !Buffer.isBuffer(sealed) || typeof context !== 'string') return null
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) return null
    const iv = sealed.subarray(1, 1 + IV_BYTES)
    const tag = sealed.subarray(sealed.length - TAG_BYTES)
    const body = sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(tag)
    const plain = Buffer.concat([decipher.update(body), decipher.final()])
    // A box sealed by sealSecret always holds UTF-8; anything else was not ours.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(plain)
    return text
  } catch {
    return null
  }
}
