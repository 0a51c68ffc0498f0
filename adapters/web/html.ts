/**
 * A tiny HTML builder that escapes by default. Every interpolated value is escaped unless it is
 * itself `SafeHtml` (the output of `html` or `raw`), so a name like `<script>` can only ever be
 * text. No template engine: the pages are few and small, and a tagged template keeps them typed.
 */

import { escapeHtml } from '../../src/shared/html.ts'

/** A string already known to be safe HTML. Only `html` and `raw` make one. */
export class SafeHtml {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

/** What may be interpolated into `html`: text is escaped, arrays are joined, null/false vanish. */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[]

export { escapeHtml }

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('')
  return escapeHtml(String(value))
}

/** Tagged template: `html\`<p>${name}</p>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '')
  }
  return new SafeHtml(out)
}

/** Mark a constant string (never outside data) as HTML. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted)
}
