/** Words chat platforms show for row actions, list filters and platforms (docs/commands.md), one list for all. */
import type { ChatPlatform } from '../../src/chat/platform.ts'
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

/** The platforms' names as people write them; the key is the `ChatPlatform` the core stores. */
const platformNames: Readonly<Record<string, string>> = {
  slack: 'Slack',
  teams: 'Microsoft Teams',
}

/**
 * A chat platform's name as people write it (`notices` lists a destination per platform). A
 * platform without a name here is shown from its id, words capitalised: `my-pigeon` → `My Pigeon`.
 */
export function platformLabel(platform: ChatPlatform): string {
  return (
    platformNames[platform] ??
    platform
      .split('-')
      .filter(Boolean)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(' ')
  )
}
