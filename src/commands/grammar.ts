import type { CommandName } from './types.ts'

/** The usage line of each subcommand (docs/commands.md), shared by every chat platform and the CLI. */
export const USAGE: Record<CommandName, string> = {
  help: '/invite help',
  list: '/invite list [invited|expired|active|declined|removed|all] [page <n>]',
  show: '/invite show <email>',
  add: '/invite add <email> --name "First Last" [--group <name>]...',
  resend: '/invite resend <email>',
  regenerate: '/invite regenerate <email>   (alias: new)',
  link: '/invite link <email>',
  edit: '/invite edit <email> --group <name>...',
  remove: '/invite remove <email>',
  groups: '/invite groups',
  audit: '/invite audit [<email>]',
  notices: '/invite notices [here|off]',
}

/** One-line descriptions for `/invite help`. */
export const SUMMARY: Record<CommandName, string> = {
  help: 'this help',
  list: 'the Users page, paged, filtered by status',
  show: 'details, history and the actions that apply now',
  add: 'invite someone (default group when none is named)',
  resend: 'email the same link again and reset its expiry (while it is still valid)',
  regenerate: 'send a new link when the invitation expired',
  link: 'show the invitation link, to you only',
  edit: "replace a user's groups",
  remove: 'remove a user from the account (asks for confirmation)',
  groups: 'the groups of the account',
  audit: 'who did what, newest first',
  notices: 'where notices go; here: this conversation gets them; off: none on this platform',
}

export const HELP_TEXT = (Object.keys(USAGE) as CommandName[]).map((n) => `${USAGE[n]}  —  ${SUMMARY[n]}`).join('\n')
