import { brandingOf, DEFAULT_PRODUCT_NAME, type Branding } from '../deps.ts'
import type { EmailKind, EmailPayload } from './outbox.ts'
import { formatLongDateTime } from '../shared/dates.ts'
import { escapeHtml } from '../shared/html.ts'
import { oneLine as showOnOneLine } from '../shared/names.ts'

/** A rendered email. */
export interface RenderedEmail {
  subject: string
  text: string
  html: string
}

/** Header-safe text (subjects carry account names): the one display rule for names, trimmed. */
function oneLine(s: string): string {
  return showOnOneLine(s).replace(/\s+/g, ' ').trim()
}

/**
 * "3 December 2026 at 11:00 Europe/Berlin": the account's time zone (docs/commands.md), always
 * named, since the reader may be anywhere. A zone this runtime does not know reads as UTC.
 * The wording is `formatLongDateTime`'s, shared with the invitee's page.
 */
export function formatEmailDate(iso: string | null, timeZone?: string | null): string {
  if (!iso) return ''
  return formatLongDateTime(new Date(iso), timeZone)
}

/**
 * The four emails of the lifecycle. `link` is derived by the worker at send time (never stored).
 * `branding` (PRODUCT_NAME, SUPPORT_EMAIL, PRIVACY_URL) signs the email, names the product in the
 * subject when the operator named one, and adds a footer; without it, today's words.
 */
export function renderEmail(kind: EmailKind, p: EmailPayload, link: string | null, branding: Branding = brandingOf({})): RenderedEmail {
  // Every value from the payload is one line: a name with a line break must not forge a line of
  // its own in the text body ("…\n\nClick http://evil") nor a header in the subject.
  const account = oneLine(p.accountName)
  const inviterName = p.inviterName ? oneLine(p.inviterName) : ''
  const inviter = inviterName ? `${inviterName}${p.inviterEmail ? ` (${oneLine(p.inviterEmail)})` : ''}` : 'An administrator'
  const firstName = oneLine(p.recipientFirstName ?? '')
  const hello = firstName ? `Hello ${firstName},` : 'Hello,'
  const groups = p.groups.length > 0 ? p.groups.map(oneLine).join(', ') : null
  const until = formatEmailDate(p.expiresAt, p.timeZone)
  // The operator's values were checked at start (one line, an address, an http(s) URL); they go
  // through the same one-line rule as names anyway, since nothing here may forge a line.
  const product = oneLine(branding.productName) || DEFAULT_PRODUCT_NAME
  // "… Acme Corp on Acme Cloud" once the product has a name of its own; today's subjects otherwise.
  const onProduct = product === DEFAULT_PRODUCT_NAME ? '' : ` on ${product}`
  const support = branding.supportEmail ? oneLine(branding.supportEmail) : null
  const privacy = branding.privacyUrl ? oneLine(branding.privacyUrl) : null
  let subject: string
  let lines: string[]
  switch (kind) {
    case 'invitation':
      subject = `You are invited to join ${account}${onProduct}`
      lines = [`${inviter} invited you to join ${account}.`]
      break
    case 'resend':
      subject = `Reminder: your invitation to join ${account}${onProduct}`
      lines = [`${inviter} sent your invitation to join ${account} again.`]
      break
    case 'new_invitation':
      subject = `A new invitation to join ${account}${onProduct}`
      lines = [`${inviter} sent you a new invitation to join ${account}. Earlier links no longer work.`]
      break
    case 'removal':
      subject = `You no longer have access to ${account}${onProduct}`
      lines = [`${inviter} removed you from ${account}. Any invitation link you received no longer works.`, 'If you think this is a mistake, contact the account administrator.']
      break
  }
  if (groups && kind !== 'removal') lines.push(`Groups: ${groups}`)
  if (link && until) lines.push(`This link is valid until ${until}.`)

  const footer = [...(support ? [`Questions? Write to ${support}.`] : []), ...(privacy ? [`Privacy notice: ${privacy}`] : [])]
  const text = [hello, '', ...lines, ...(link ? ['', `Accept or decline: ${link}`] : []), '', `— ${product}`, ...(footer.length > 0 ? ['', ...footer] : [])].join('\n')
  const footerHtml = [
    ...(support ? [`Questions? Write to <a href="mailto:${escapeHtml(support)}" style="color:#6b7280">${escapeHtml(support)}</a>.`] : []),
    ...(privacy ? [`<a href="${escapeHtml(privacy)}" style="color:#6b7280">Privacy notice</a>`] : []),
  ]
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(oneLine(subject))}</title></head><body style="font-family:system-ui,sans-serif;color:#1f2937;line-height:1.5">
<p>${escapeHtml(hello)}</p>
${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
${link ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;background:#4338ca;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">Accept or decline the invitation</a></p>\n<p style="font-size:13px;color:#6b7280">Or open this address: ${escapeHtml(link)}</p>` : ''}
<p style="font-size:13px;color:#6b7280">— ${escapeHtml(product)}</p>
${footerHtml.length > 0 ? `<p style="font-size:12px;color:#6b7280">${footerHtml.join(' · ')}</p>\n` : ''}</body></html>`
  return { subject: oneLine(subject), text, html }
}
