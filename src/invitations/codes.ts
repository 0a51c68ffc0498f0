/**
 * Why a link does not open the welcome screen (the invitee's page, docs/security.md). The
 * administrator-side refusals are the `LifecycleFailure` union in failures.ts; adapters map each
 * code to their own words in one exhaustive switch (docs/architecture.md).
 */
export const LinkCodes = {
  invalid: 'link.invalid',
  expired: 'link.expired',
  replaced: 'link.replaced',
  accepted: 'link.accepted',
  declined: 'link.declined',
  revoked: 'link.revoked',
} as const

export type LinkCode = (typeof LinkCodes)[keyof typeof LinkCodes]
