/** Slack payloads recorded as Slack sends them (test/slack/fixtures), read by name. No database, no server: the unit tier uses it too. */
import { readFileSync } from 'node:fs'

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
}
