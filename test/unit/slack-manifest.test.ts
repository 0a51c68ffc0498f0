/**
 * The three Slack app manifests against the fields Slack documents for app manifests
 * (https://docs.slack.dev/reference/app-manifest; the limits as @slack/web-api's `Manifest` type
 * states them), and against what InviteOps itself serves: the scopes `/slack/install` asks for,
 * the commands the router answers, the events and redirect path of distribution mode.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { z } from 'zod'
import { SLACK_BOT_SCOPES, SLACK_DISTRIBUTION_EVENTS, SLACK_OAUTH_REDIRECT_PATH } from '../../adapters/slack/config.ts'
import { SLACK_EVENTS_PATH, SLASH_COMMANDS } from '../../adapters/slack/router.ts'

function load(name: string): unknown {
  return parse(readFileSync(new URL(`../../manifest/${name}`, import.meta.url), 'utf8')) as unknown
}

/** Slack wants `https` request and redirect URLs. */
const httpsUrl = z.url({ protocol: /^https$/ })

/**
 * Slack's manifest schema, for the parts a manifest of ours may use. Objects are strict: a key
 * Slack does not document (a typo such as `socket_mode_enable`) fails here rather than being
 * ignored, or refused, when the vendor pastes the manifest.
 */
const SlashCommand = z.strictObject({
  command: z.string().regex(/^\/[a-z0-9_-]+$/).max(32),
  description: z.string().min(1).max(2000),
  should_escape: z.boolean().optional(),
  url: httpsUrl.optional(),
  usage_hint: z.string().max(1000).optional(),
})

const Manifest = z.strictObject({
  _metadata: z.strictObject({ major_version: z.literal([1, 2]).optional(), minor_version: z.number().int().nonnegative().optional() }).optional(),
  display_information: z.strictObject({
    name: z.string().min(1).max(35),
    description: z.string().max(140).optional(),
    // The app settings refuse a long description under 174 characters.
    long_description: z.string().min(174).max(4000).optional(),
    background_color: z
      .string()
      .regex(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i)
      .optional(),
  }),
  features: z
    .strictObject({
      app_home: z.strictObject({ home_tab_enabled: z.boolean().optional(), messages_tab_enabled: z.boolean().optional(), messages_tab_read_only_enabled: z.boolean().optional() }).optional(),
      bot_user: z.strictObject({ display_name: z.string().min(1).max(80), always_online: z.boolean().optional() }).optional(),
      slash_commands: z.array(SlashCommand).max(50).optional(),
      unfurl_domains: z.array(z.string()).max(5).optional(),
    })
    .optional(),
  oauth_config: z
    .strictObject({
      redirect_urls: z.array(httpsUrl).max(1000).optional(),
      scopes: z.strictObject({ bot: z.array(z.string().regex(/^[a-z_.]+(:[a-z_.]+)*$/)).max(255).optional(), user: z.array(z.string()).max(255).optional() }).optional(),
      token_management_enabled: z.boolean().optional(),
    })
    .optional(),
  settings: z
    .strictObject({
      allowed_ip_address_ranges: z.array(z.string()).max(50).optional(),
      event_subscriptions: z
        .strictObject({
          request_url: httpsUrl.optional(),
          bot_events: z.array(z.string().regex(/^[a-z_.]+$/)).max(100).optional(),
          user_events: z.array(z.string()).max(100).optional(),
        })
        .optional(),
      interactivity: z.strictObject({ is_enabled: z.boolean(), request_url: httpsUrl.optional(), message_menu_options_url: httpsUrl.optional() }).optional(),
      org_deploy_enabled: z.boolean().optional(),
      socket_mode_enabled: z.boolean().optional(),
      token_rotation_enabled: z.boolean().optional(),
    })
    .optional(),
})
type Manifest = z.infer<typeof Manifest>

const manifests = {
  'slack.yaml': Manifest.parse(load('slack.yaml')),
  'slack-socket.yaml': Manifest.parse(load('slack-socket.yaml')),
  'slack-distribution.yaml': Manifest.parse(load('slack-distribution.yaml')),
}

/** Every URL anywhere in a manifest, with where it is. */
function urls(value: unknown, path = ''): { path: string; url: string }[] {
  if (typeof value === 'string') return /^[a-z]+:\/\//i.test(value) ? [{ path, url: value }] : []
  if (Array.isArray(value)) return value.flatMap((v, i) => urls(v, `${path}[${i}]`))
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => urls(v, path ? `${path}.${k}` : k))
  return []
}

const EVENTS_URL = `https://YOUR-HOST${SLACK_EVENTS_PATH}`

describe.each(Object.entries(manifests))('%s', (_name, manifest: Manifest) => {
  it('asks for exactly the bot scopes the adapter uses and "Add to Slack" requests', () => {
    expect([...(manifest.oauth_config?.scopes?.bot ?? [])].sort()).toEqual([...SLACK_BOT_SCOPES].sort())
    expect(manifest.oauth_config?.scopes?.user).toBeUndefined()
  })

  it('creates the slash commands the router answers, with a usage hint', () => {
    const commands = manifest.features?.slash_commands ?? []
    expect(commands.map((c) => c.command)).toEqual([...SLASH_COMMANDS])
    for (const c of commands) {
      expect(c.usage_hint).toMatch(/regenerate <email>/)
      expect(c.usage_hint).toMatch(/notices \[here\|off\]/)
      expect(c.should_escape).toBe(false)
    }
  })

  it('has a bot user and interactivity (buttons, menus, the edit form)', () => {
    expect(manifest.features?.bot_user?.display_name).toBe('InviteOps')
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true)
  })

  it('states socket mode and token rotation rather than leaving them to defaults', () => {
    expect(typeof manifest.settings?.socket_mode_enabled).toBe('boolean')
    expect(typeof manifest.settings?.token_rotation_enabled).toBe('boolean')
  })

  it('presents the same app as the other two', () => {
    expect(manifest.display_information).toEqual(manifests['slack.yaml'].display_information)
  })
})

describe('slack.yaml: one workspace over HTTP', () => {
  const m = manifests['slack.yaml']

  it('sends commands and interactivity to POST /slack/events on YOUR-HOST', () => {
    for (const c of m.features?.slash_commands ?? []) expect(c.url).toBe(EVENTS_URL)
    expect(m.settings?.interactivity?.request_url).toBe(EVENTS_URL)
    expect(urls(m).map((u) => u.url)).toEqual(Array(urls(m).length).fill(EVENTS_URL))
  })

  it('is not Socket Mode, subscribes to no events and has no redirect URL (no OAuth install)', () => {
    expect(m.settings?.socket_mode_enabled).toBe(false)
    expect(m.settings?.event_subscriptions).toBeUndefined()
    expect(m.oauth_config?.redirect_urls).toBeUndefined()
  })
})

describe('slack-socket.yaml: one workspace over Socket Mode', () => {
  const m = manifests['slack-socket.yaml']

  it('turns Socket Mode on and has no URL at all: nothing to replace, nothing public', () => {
    expect(m.settings?.socket_mode_enabled).toBe(true)
    expect(urls(m)).toEqual([])
    expect(readFileSync(new URL('../../manifest/slack-socket.yaml', import.meta.url), 'utf8')).not.toMatch(/^[^#]*YOUR-HOST/m)
  })

  it('subscribes to no events (one workspace: its token comes from SLACK_BOT_TOKEN)', () => {
    expect(m.settings?.event_subscriptions).toBeUndefined()
    expect(m.oauth_config?.redirect_urls).toBeUndefined()
  })
})

describe('slack-distribution.yaml: many workspaces, "Add to Slack"', () => {
  const m = manifests['slack-distribution.yaml']

  it('redirects installers to the OAuth redirect path InviteOps serves', () => {
    expect(m.oauth_config?.redirect_urls).toEqual([`https://YOUR-HOST${SLACK_OAUTH_REDIRECT_PATH}`])
  })

  it('subscribes exactly to the uninstall and revocation events, on POST /slack/events', () => {
    expect([...(m.settings?.event_subscriptions?.bot_events ?? [])].sort()).toEqual([...SLACK_DISTRIBUTION_EVENTS].sort())
    expect(m.settings?.event_subscriptions?.user_events).toBeUndefined()
    expect(m.settings?.event_subscriptions?.request_url).toBe(EVENTS_URL)
  })

  it('sends commands and interactivity to the same URL, over HTTP', () => {
    for (const c of m.features?.slash_commands ?? []) expect(c.url).toBe(EVENTS_URL)
    expect(m.settings?.interactivity?.request_url).toBe(EVENTS_URL)
    expect(m.settings?.socket_mode_enabled).toBe(false)
  })

  it('every URL is on YOUR-HOST, for the vendor to replace', () => {
    expect(urls(m).length).toBeGreaterThan(0)
    for (const { url } of urls(m)) expect(new URL(url).host).toBe('your-host')
  })
})

describe('the schema itself refuses what Slack refuses', () => {
  const base = structuredClone(manifests['slack.yaml'])
  it.each([
    ['an undocumented key', { ...base, settings: { ...base.settings, socket_mode_enable: true } }],
    ['a name over 35 characters', { ...base, display_information: { ...base.display_information, name: 'I'.repeat(36) } }],
    ['a description over 140 characters', { ...base, display_information: { ...base.display_information, description: 'd'.repeat(141) } }],
    ['a long description under 174 characters', { ...base, display_information: { ...base.display_information, long_description: 'too short' } }],
    ['a command without its slash', { ...base, features: { ...base.features, slash_commands: [{ command: 'invite', description: 'x' }] } }],
    ['an http request URL', { ...base, settings: { ...base.settings, interactivity: { is_enabled: true, request_url: 'http://example.com/slack/events' } } }],
    ['a colour that is not hex', { ...base, display_information: { ...base.display_information, background_color: 'purple' } }],
  ])('%s', (_what, manifest) => {
    expect(Manifest.safeParse(manifest).success).toBe(false)
  })
})
