import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { isUuid } from '../shared/ids.ts'
import { deriveKey } from '../shared/secret-box.ts'

/**
 * The state of an install link (`inviteops slack install-link --account X [--days N]`): which
 * account a workspace installed through the link is to be linked to, until when, signed so that
 * nobody can forge or alter it (docs/security.md "Slack installations and their tokens").
 *
 * Form: `v1.<account uuid, 32 hex>.<expiry, seconds since epoch in base 36>.<nonce, base64url>.<HMAC-SHA256, base64url>`,
 * url-safe and well under 200 characters. The HMAC key is derived from INVITE_SECRET for this
 * purpose alone. The nonce makes two links for the same account and expiry differ, so one can be
 * told from another in the audit log; a link is not single-use (an account may install several
 * workspaces through one link; each install is still checked against the installer).
 */

/** Days an install link is valid by default, and the range `--days` accepts. */
export const INSTALL_LINK_DEFAULT_DAYS = 7
export const INSTALL_LINK_MIN_DAYS = 1
export const INSTALL_LINK_MAX_DAYS = 30

const PREFIX = 'v1'
const MAX_LENGTH = 200
const NONCE_BYTES = 9
const MAC_BYTES = 32

/**
 * What a link state says. An expired one was signed by us, so it still names its account and
 * expiry (for the audit log and the refusal page); a malformed or tampered one names nothing.
 */
export type InstallLinkCheck =
  | { ok: true; accountId: string; expiresAt: Date }
  | { ok: false; reason: 'malformed' | 'tampered' }
  | { ok: false; reason: 'expired'; accountId: string; expiresAt: Date }

function mac(secret: Buffer, signed: string): Buffer {
  return createHmac('sha256', deriveKey(secret, 'slack-install-link')).update(signed, 'utf8').digest()
}

/** A signed install link state for the account, valid until `expiresAt`: url-safe, under 200 characters. */
export function signInstallLink(secret: Buffer, link: { accountId: string; expiresAt: Date }): string {
  if (!isUuid(link.accountId)) throw new Error('signInstallLink: the account id must be a uuid')
  const seconds = Math.ceil(link.expiresAt.getTime() / 1000)
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error('signInstallLink: invalid expiry')
  const signed = [PREFIX, link.accountId.replace(/-/g, '').toLowerCase(), seconds.toString(36), randomBytes(NONCE_BYTES).toString('base64url')].join('.')
  return `${signed}.${mac(secret, signed).toString('base64url')}`
}

const SHAPE = /^v1\.([0-9a-f]{32})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/

/** What an install link state says, checked: signature first, then expiry at `now`. Never throws on any input. */
export function readInstallLink(secret: Buffer, token: unknown, now: Date): InstallLinkCheck {
  try {
    if (typeof token !== 'string' || token.length > MAX_LENGTH) return { ok: false, reason: 'malformed' }
    const m = SHAPE.exec(token)
    if (!m) return { ok: false, reason: 'malformed' }
    const [, hex, expiry, , sig] = m as unknown as [string, string, string, string, string]
    const given = Buffer.from(sig, 'base64url')
    // base64url of 32 bytes is 43 characters; a last character with stray low bits decodes the same
    // bytes, so compare the canonical re-encoding too (otherwise two spellings would verify).
    if (given.length !== MAC_BYTES || given.toString('base64url') !== sig) return { ok: false, reason: 'tampered' }
    const signed = token.slice(0, token.length - sig.length - 1)
    if (!timingSafeEqual(given, mac(secret, signed))) return { ok: false, reason: 'tampered' }
    const seconds = parseInt(expiry, 36)
    if (!Number.isSafeInteger(seconds)) return { ok: false, reason: 'malformed' }
    const expiresAt = new Date(seconds * 1000)
    if (Number.isNaN(expiresAt.getTime())) return { ok: false, reason: 'malformed' }
    const accountId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    if (!isUuid(accountId)) return { ok: false, reason: 'malformed' }
    // A clock that cannot be read counts as past every expiry.
    if (!(now instanceof Date) || Number.isNaN(now.getTime()) || now.getTime() >= expiresAt.getTime()) return { ok: false, reason: 'expired', accountId, expiresAt }
    return { ok: true, accountId, expiresAt }
  } catch {
    return { ok: false, reason: 'malformed' }
  }
}
