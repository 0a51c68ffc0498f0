/** Words chat platforms show for row actions and list filters (docs/commands.md), one list for all. */
import type { ListFilter } from '../../src/commands/types.ts'
import type { RowAction } from '../../src/invitations/model.ts'

export const rowActionLabels: Record<RowAction, string> = {
  resend: 'Resend invitation',
  regenerate: 'Send new invitation',
  link: 'Copy invitation link',
  edit: 'Edit groups',
  remove: 'Remove user…',
}

export const filterLabels: Record<ListFilter, string> = {
  all: 'All users',
  invited: 'Invited',
  expired: 'Invitation expired',
  active: 'Active',
  declined: 'Declined',
  removed: 'Removed',
}
