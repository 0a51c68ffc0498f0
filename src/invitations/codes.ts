/**
 * Stable result codes. Adapters map each to their own words in one exhaustive switch, so a new
 * code does not compile until every adapter says something about it (STYLE.md §3, §4).
 */
export const Codes = {
  // who may act
  notAdmin: 'auth.not_admin',
  accountNotFound: 'account.not_found',
  chatNotLinked: 'chat.not_linked',
  // input the core refuses
  emailInvalid: 'email.invalid',
  nameRequired: 'user.name_required',
  groupRequired: 'group.required',
  groupNotFound: 'group.not_found',
  // the lifecycle (DESIGN.md §1)
  userNotFound: 'user.not_found',
  alreadyInvited: 'user.already_invited',
  alreadyActive: 'user.already_active',
  userRemoved: 'user.removed',
  userDeclined: 'user.declined',
  invitationExpired: 'invitation.expired',
  invitationStillValid: 'invitation.still_valid',
  invitationAlreadyReplaced: 'invitation.already_replaced',
  cannotRemoveSelf: 'user.cannot_remove_self',
  lastAdmin: 'user.last_admin',
  // sending limits (DESIGN.md §5)
  adminSendLimit: 'limit.admin_sends',
  recipientSendLimit: 'limit.recipient_sends',
  recipientSuppressed: 'email.suppressed',
} as const

/** Any code a lifecycle use case can fail with. */
export type FailureCode = (typeof Codes)[keyof typeof Codes]

/** Why a link does not open the welcome screen (the invitee's page, DESIGN.md §5). */
export const LinkCodes = {
  invalid: 'link.invalid',
  expired: 'link.expired',
  replaced: 'link.replaced',
  accepted: 'link.accepted',
  declined: 'link.declined',
  revoked: 'link.revoked',
} as const

export type LinkCode = (typeof LinkCodes)[keyof typeof LinkCodes]
