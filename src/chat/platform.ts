import { z } from 'zod'

/**
 * A chat platform's name as the core stores and compares it: `slack`, `teams`, or any other
 * platform an adapter brings (the tests bring one of their own). The core never branches on a
 * particular value: what differs between platforms lives in their adapters (docs/architecture.md).
 *
 * Lower-case letters, digits and `-`, starting with a letter, at most 32 characters, so that it
 * can be stored, logged and used in an audit actor without escaping.
 */
export type ChatPlatform = string & { readonly __chatPlatform?: never }

export const ChatPlatformName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a chat platform is named in lower-case letters, digits and -')
  .transform((s) => s as ChatPlatform)

/** `name` as a `ChatPlatform`, or null when it is not a valid platform name. */
export function chatPlatform(name: string): ChatPlatform | null {
  const parsed = ChatPlatformName.safeParse(name)
  return parsed.success ? parsed.data : null
}
