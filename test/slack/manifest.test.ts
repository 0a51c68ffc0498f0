import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { z } from 'zod'

const manifestPath = fileURLToPath(new URL('../../manifest/slack.yaml', import.meta.url))

/** The parts of Slack's manifest schema we rely on (https://docs.slack.dev/reference/app-manifest). */
const Manifest = z.object({
  _metadata: z.object({ major_version: z.literal(1), minor_version: z.number().int() }),
  display_information: z.object({
    name: z.string().min(1).max(35),
    description: z.string().max(140),
    long_description: z.string().min(174).max(4000),
    background_color: z.string().regex(/^#[0-9a-f]{6}$/i),
  }),
  features: z.object({
    bot_user: z.object({ display_name: z.string().min(1).max(80), always_online: z.boolean() }),
    slash_commands: z.array(
      z.object({
        command: z.string().regex(/^\/[a-z0-9_-]+$/),
        url: z.url(),
        description: z.string().min(1).max(2000),
        usage_hint: z.string().min(1).max(1000),
        should_escape: z.boolean(),
      }),
    ),
  }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()) }) }),
  settings: z.object({
    interactivity: z.object({ is_enabled: z.literal(true), request_url: z.url() }),
    org_deploy_enabled: z.boolean(),
    socket_mode_enabled: z.literal(false),
    token_rotation_enabled: z.boolean(),
  }),
})

describe('manifest/slack.yaml', () => {
  const manifest = Manifest.parse(parse(readFileSync(manifestPath, 'utf8')))

  it('creates /invite with a usage hint and a description, on the one Request URL', () => {
    expect(manifest.features.slash_commands).toHaveLength(1)
    const [command] = manifest.features.slash_commands
    expect(command?.command).toBe('/invite')
    expect(command?.usage_hint).toMatch(/regenerate <email>/)
    expect(command?.usage_hint).toMatch(/notices \[here\|off\]/)
    expect(command?.description).not.toBe('')
    expect(new URL(command?.url ?? '').pathname).toBe('/slack/events')
  })

  it('enables interactivity on the same Request URL (buttons, overflow menus)', () => {
    expect(manifest.settings.interactivity.request_url).toBe(manifest.features.slash_commands[0]?.url)
    expect(manifest.settings.interactivity.request_url).toBe('https://YOUR-HOST/slack/events')
  })

  it('asks for exactly the bot scopes the adapter uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'users:read', 'users:read.email'])
  })

  it('uses HTTP request URLs, not Socket Mode (Bolt is mounted in the app server)', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(false)
  })
})
