import type { Deps } from '../deps.ts'
import { checkName, type NameProblem } from '../shared/names.ts'
import { hashPassword } from '../shared/password.ts'
import { fail, ok, type Result } from '../shared/result.ts'
import { activateUser } from '../users/user-repository.ts'
import type { LinkCode } from './codes.ts'
import { openLink } from './invitation-repository.ts'
import { recordInviteeAnswer } from './invitee-link.ts'
import { passwordProblems } from './rules.ts'

export interface AcceptInvitation {
  token: string
  firstName: string
  lastName: string
  password: string
  passwordConfirmation: string
  termsAccepted: boolean
}

/** Why a registration field was refused; the page words each next to its field. */
export type RegistrationFieldError =
  | 'required'
  | 'too_long'
  | 'line_break'
  | 'control_characters'
  | 'password_too_short'
  | 'password_needs_lower'
  | 'password_needs_upper'
  | 'password_needs_digit'
  | 'password_needs_special'
  | 'password_space_not_special'
  | 'password_mismatch'
  | 'terms_required'

export type RegistrationField = 'firstName' | 'lastName' | 'password' | 'passwordConfirmation' | 'termsAccepted'

export type AcceptFailure = { code: LinkCode } | { code: 'registration.invalid'; fields: Partial<Record<RegistrationField, RegistrationFieldError[]>> }

const PASSWORD_MAX = 200

const NAME_ERRORS: Record<NameProblem, RegistrationFieldError> = {
  empty: 'required',
  too_long: 'too_long',
  line_break: 'line_break',
  control_characters: 'control_characters',
  // Invisible either way; the page words both alike.
  bidi_controls: 'control_characters',
}

/** Check the registration form (docs/lifecycle.md "accept"); empty when it is fine. */
export function registrationErrors(cmd: AcceptInvitation): Partial<Record<RegistrationField, RegistrationFieldError[]>> {
  const errors: Partial<Record<RegistrationField, RegistrationFieldError[]>> = {}
  for (const field of ['firstName', 'lastName'] as const) {
    const checked = checkName('personPart', cmd[field])
    if (!checked.ok) errors[field] = [NAME_ERRORS[checked.problem]]
  }
  if (cmd.password.length > PASSWORD_MAX) errors.password = ['too_long']
  else {
    const p = passwordProblems(cmd.password)
    const list: RegistrationFieldError[] = []
    if (p.tooShort) list.push('password_too_short')
    if (p.needsLower) list.push('password_needs_lower')
    if (p.needsUpper) list.push('password_needs_upper')
    if (p.needsDigit) list.push('password_needs_digit')
    // A password whose only candidate was a space is told so, in words of its own.
    if (p.needsSpecial) list.push(p.spaceIsNotSpecial ? 'password_space_not_special' : 'password_needs_special')
    if (list.length > 0) errors.password = list
  }
  if (cmd.passwordConfirmation !== cmd.password) errors.passwordConfirmation = ['password_mismatch']
  if (!cmd.termsAccepted) errors.termsAccepted = ['terms_required']
  return errors
}

/**
 * The invitee accepts and registers through their link: names, password (scrypt), terms. The user
 * becomes Active with the join date; the link is used up; administrators are told (account event).
 */
export async function acceptInvitation(deps: Deps, cmd: AcceptInvitation): Promise<Result<{ email: string; accountName: string; joinedAt: Date }, AcceptFailure>> {
  const checked = await openLink(deps.db, deps.config.inviteSecret, cmd.token, deps.clock.now())
  if (!checked.ok) return checked
  const fields = registrationErrors(cmd)
  const firstName = checkName('personPart', cmd.firstName)
  const lastName = checkName('personPart', cmd.lastName)
  if (Object.keys(fields).length > 0 || !firstName.ok || !lastName.ok) return fail({ code: 'registration.invalid', fields })
  // Hash outside the transaction: it is the slow part and needs no lock.
  const passwordHash = await hashPassword(cmd.password)

  return deps.db.transaction(async (trx) => {
    const now = deps.clock.now()
    // Check again under a lock: the link may have been used, declined or revoked meanwhile.
    const link = await openLink(trx, deps.config.inviteSecret, cmd.token, now, { forUpdate: true })
    if (!link.ok) return link
    const { user, accountName } = link.value
    await activateUser(trx, user.id, { firstName: firstName.name, lastName: lastName.name, passwordHash, now })
    await recordInviteeAnswer(trx, link.value, 'accepted', now)
    return ok({ email: user.email, accountName, joinedAt: now })
  })
}
