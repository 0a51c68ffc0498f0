import { domainToASCII } from 'node:url'

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: EmailProblem }

/** Why an address was refused; adapters word it. */
export type EmailProblem = 'empty' | 'too_long' | 'control_characters' | 'several_addresses' | 'malformed' | 'not_ascii'

// RFC 5322 dot-atom for the local part (what real mailboxes use; quoted local parts are refused).
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/**
 * Validate and normalise an address once, at the edge of the core (docs/security.md): no CR/LF or
 * other control characters, no lists, ASCII as SES needs (an internationalised domain becomes
 * punycode; a non-ASCII local part is refused), lower case.
 */
export function normaliseEmail(input: string): EmailCheck {
  const trimmed = input.trim()
  if (trimmed === '') return { ok: false, reason: 'empty' }
  if (trimmed.length > 254) return { ok: false, reason: 'too_long' }
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return { ok: false, reason: 'control_characters' }
  if (/[,;\s]/.test(trimmed) || (trimmed.match(/@/g) ?? []).length > 1) return { ok: false, reason: 'several_addresses' }
  const at = trimmed.lastIndexOf('@')
  if (at <= 0 || at === trimmed.length - 1) return { ok: false, reason: 'malformed' }
  const local = trimmed.slice(0, at)
  const domainInput = trimmed.slice(at + 1).toLowerCase()
  // eslint-disable-next-line no-control-regex -- ASCII range check
  if (/[^\u0000-\u007f]/.test(local)) return { ok: false, reason: 'not_ascii' }
  if (local.length > 64 || !LOCAL.test(local)) return { ok: false, reason: 'malformed' }
  const domain = domainToASCII(domainInput)
  if (domain === '') return { ok: false, reason: 'malformed' }
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return { ok: false, reason: 'malformed' }
  const tld = labels[labels.length - 1] ?? ''
  if (!/^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld)) return { ok: false, reason: 'malformed' }
  return { ok: true, email: `${local.toLowerCase()}@${domain}` }
}
