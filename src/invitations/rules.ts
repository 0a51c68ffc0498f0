import type { DisplayStatus, RowAction, StoredUserStatus } from './model.ts'

/**
 * The "Joined" status an administrator sees. An invitation is expired the instant
 * `now >= expires_at` (docs/lifecycle.md): computed, never flipped by a job.
 */
export function displayStatus(stored: StoredUserStatus, pendingExpiresAt: Date | null, now: Date): DisplayStatus {
  if (stored !== 'invited') return stored
  return pendingExpiresAt !== null && now.getTime() < pendingExpiresAt.getTime() ? 'invited' : 'expired'
}

const ACTIONS: Record<DisplayStatus, RowAction[]> = {
  invited: ['resend', 'link', 'edit', 'remove'],
  expired: ['regenerate', 'edit', 'remove'],
  active: ['edit', 'remove'],
  declined: ['edit', 'remove'],
  removed: [],
}

/** Exactly the actions that apply to a row now (the ••• menu, docs/lifecycle.md). */
export function rowActions(status: DisplayStatus): RowAction[] {
  return [...ACTIONS[status]]
}

/** Parse `INVITE_TTL`-style durations: `90s`, `12h`, `7d`, `30m`. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim())
  if (!m) return null
  const n = Number(m[1])
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']
  return n > 0 ? n * unit : null
}

export interface PasswordProblems {
  tooShort: boolean
  needsLower: boolean
  needsUpper: boolean
  needsDigit: boolean
  needsSpecial: boolean
  /** `needsSpecial`, and the password holds whitespace, which does not count (a page says so). */
  spaceIsNotSpecial: boolean
}

/**
 * A special character is Unicode punctuation (P*) or a symbol (S*), in any script: ASCII
 * `! ? # % - _ @ …`, and also `¿ « » — € £ §` or an emoji. Not special: letters, digits, marks,
 * whitespace of any kind (a space, a tab, a no-break space), control and format characters.
 */
const SPECIAL = /[\p{P}\p{S}]/u

/** The registration password rule (docs/lifecycle.md): ≥8 chars, lower, upper, digit, special (not a space). */
export function passwordProblems(password: string): PasswordProblems {
  const needsSpecial = !SPECIAL.test(password)
  return {
    tooShort: [...password].length < 8,
    needsLower: !/\p{Ll}/u.test(password),
    needsUpper: !/\p{Lu}/u.test(password),
    needsDigit: !/\p{Nd}/u.test(password),
    needsSpecial,
    spaceIsNotSpecial: needsSpecial && /[\s\p{Z}]/u.test(password),
  }
}
