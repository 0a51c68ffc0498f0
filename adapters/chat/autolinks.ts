/**
 * Keeps a name from becoming a link. Slack and Teams both turn text that looks like a web address
 * (`https://…`, `www.…`, `evil.example/x`) into a clickable link; a name an invitee chose must not.
 * A WORD JOINER (U+2060: invisible, never a line break opportunity) is put where the detection
 * needs an unbroken run — after the `:` of `://`, and after a dot between letters or digits — so
 * the name reads the same but no longer parses as an address.
 *
 * Only for names and other free text: an email address is shown as it is (it must stay copyable,
 * and people do not choose their own here: an administrator typed it).
 */

const WORD_JOINER = '\u2060'

/** `https://evil.example/x` → `https:⁠//evil.⁠example/x` (invisible joiners; reads the same). */
export function breakAutoLinks(text: string): string {
  return text.replace(/:\/\//g, `:${WORD_JOINER}//`).replace(/(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])/gu, `.${WORD_JOINER}`)
}
