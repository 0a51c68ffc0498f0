import fc from 'fast-check'
import { expect, test } from 'vitest'
import { deriveKey, openSecret, sealSecret } from '../../src/shared/secret-box.ts'

const secret = Buffer.alloc(32, 7)
const key = deriveKey(secret, 'slack-installation-tokens')

test('a sealed secret opens with the same key and context, and holds no trace of the plaintext', () => {
  const token = 'xoxb-1234567890-abcdefghijklmnop'
  const box = sealSecret(key, token, 'slack_installations:T0ONE')
  expect(openSecret(key, box, 'slack_installations:T0ONE')).toBe(token)
  expect(box.includes(Buffer.from(token))).toBe(false)
  expect(box.toString('latin1')).not.toContain('xoxb')
  expect(box[0]).toBe(1)
  expect(box.length).toBe(1 + 12 + Buffer.byteLength(token) + 16)
  // A fresh IV each time: sealing the same value twice gives two boxes.
  expect(sealSecret(key, token, 'slack_installations:T0ONE').equals(box)).toBe(false)
  expect(openSecret(key, sealSecret(key, '', 'c'), 'c')).toBe('')
  expect(openSecret(key, sealSecret(key, 'ünïcødé ✓', 'c'), 'c')).toBe('ünïcødé ✓')
})

test('keys differ by secret and by purpose, and are 32 bytes', () => {
  expect(key.length).toBe(32)
  expect(deriveKey(secret, 'slack-installation-tokens').equals(key)).toBe(true)
  expect(deriveKey(secret, 'slack-install-link').equals(key)).toBe(false)
  expect(deriveKey(Buffer.alloc(32, 8), 'slack-installation-tokens').equals(key)).toBe(false)
})

test('a tampered byte, another context, another key or a truncated box opens to null', () => {
  const box = sealSecret(key, 'xoxb-secret', 'slack_installations:T0ONE')
  for (let i = 0; i < box.length; i += 1) {
    const bad = Buffer.from(box)
    bad[i] = bad[i]! ^ 0x01
    expect(openSecret(key, bad, 'slack_installations:T0ONE')).toBeNull()
  }
  expect(openSecret(key, box, 'slack_installations:T0TWO')).toBeNull()
  expect(openSecret(deriveKey(Buffer.alloc(32, 8), 'slack-installation-tokens'), box, 'slack_installations:T0ONE')).toBeNull()
  expect(openSecret(deriveKey(secret, 'another-purpose'), box, 'slack_installations:T0ONE')).toBeNull()
  expect(openSecret(key, box.subarray(0, box.length - 1), 'slack_installations:T0ONE')).toBeNull()
  expect(openSecret(key, Buffer.alloc(0), 'slack_installations:T0ONE')).toBeNull()
  expect(openSecret(Buffer.alloc(16), box, 'slack_installations:T0ONE')).toBeNull()
})

test('random boxes, keys and contexts never throw and never open', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.string(), fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes, context, k) => {
      expect(openSecret(key, Buffer.from(bytes), context)).toBeNull()
      expect(openSecret(Buffer.from(k), Buffer.from(bytes), context)).toBeNull()
    }),
  )
  // Hostile types where a Buffer is expected (a caller bug): still null, not a throw.
  for (const junk of [null, undefined, 'box', 42, {}, []]) {
    expect(openSecret(key, junk as unknown as Buffer, 'c')).toBeNull()
    expect(openSecret(junk as unknown as Buffer, sealSecret(key, 'x', 'c'), 'c')).toBeNull()
  }
  expect(openSecret(key, sealSecret(key, 'x', 'c'), null as unknown as string)).toBeNull()
})

test('any plaintext and context round-trip', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 100 }), (plain, context) => {
      expect(openSecret(key, sealSecret(key, plain, context), context)).toBe(plain)
    }),
  )
})
