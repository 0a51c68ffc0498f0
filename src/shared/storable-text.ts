/**
 * What a Postgres text or jsonb column cannot hold: NUL, and half of a surrogate pair (the
 * driver would turn it into U+FFFD on the way in). Outside data (a chat payload, an SNS
 * notification) may carry either; storing it must not fail the request that brought it.
 */
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** Whether `text` holds something a text column cannot store exactly. */
export function hasUnstorable(text: string): boolean {
  UNSTORABLE.lastIndex = 0
  const found = UNSTORABLE.test(text)
  UNSTORABLE.lastIndex = 0
  return found
}

/** `text` as Postgres can store it: what it cannot is replaced by U+FFFD. For records of what was said. */
export function storable(text: string): string {
  return text.replace(UNSTORABLE, '\ufffd')
}
