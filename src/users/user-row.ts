import type { StoredUserStatus } from '../invitations/model.ts'

/** A users row, as the use cases read it. */
export interface UserRow {
  id: string
  account_id: string
  email: string
  first_name: string
  last_name: string
  status: StoredUserStatus
  joined_at: Date | null
  password_hash: string | null
  created_at: Date
  updated_at: Date
}
