/**
 * The Teams app package (manifest/teams): the manifest's required fields, the icons Teams
 * requires (sizes read from the PNG header; the outline white on transparent), and the zip that
 * `npm run teams:package` writes listing exactly the three files, with the App ID substituted.
 */
import { readFileSync } from 'node:fs'
import { inflateRawSync, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { PACKAGE_FILES, buildTeamsPackage, colorIcon, outlineIcon } from '../../manifest/teams/package.ts'

const read = (name: string): Buffer => readFileSync(new URL(`../../manifest/teams/${name}`, import.meta.url))

/** The parts of the Teams manifest schema (v1.17) we rely on. */
const Manifest = z.object({
  $schema: z.string().regex(/v1\.(1[6-9]|[2-9][0-9])\/MicrosoftTeams\.schema\.json$/),
  manifestVersion: z.string().regex(/^1\.(1[6-9]|[2-9][0-9])$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  id: z.literal('{{MICROSOFT_APP_ID}}'),
  developer: z.object({ name: z.string().min(1).max(32), websiteUrl: z.string(), privacyUrl: z.string(), termsOfUseUrl: z.string() }),
  name: z.object({ short: z.string().min(1).max(30), full: z.string().max(100) }),
  description: z.object({ short: z.string().min(1).max(80), full: z.string().min(1).max(4000) }),
  icons: z.object({ color: z.literal('color.png'), outline: z.literal('outline.png') }),
  accentColor: z.string().regex(/^#[0-9A-F]{6}$/i),
  bots: z
    .array(
      z.object({
        botId: z.literal('{{MICROSOFT_APP_ID}}'),
        scopes: z.array(z.enum(['personal', 'team', 'groupChat'])),
        commandLists: z.array(z.object({ scopes: z.array(z.string()), commands: z.array(z.object({ title: z.string().min(1).max(32), description: z.string().min(1).max(128) })).max(10) })),
      }),
    )
    .length(1),
})

/** Width, height and colour type from the IHDR chunk, and the RGBA pixels. */
function png(buf: Buffer): { width: number; height: number; colorType: number; pixels: (x: number, y: number) => number[] } {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  expect(buf.toString('ascii', 12, 16)).toBe('IHDR')
  const width = buf.readUInt32BE(16)
  const height = buf.readUInt32BE(20)
  const colorType = buf[25] ?? -1
  const idatAt = buf.indexOf('IDAT', 0, 'ascii')
  const raw = inflateSync(buf.subarray(idatAt + 4, idatAt + 4 + buf.readUInt32BE(idatAt - 4)))
  return { width, height, colorType, pixels: (x, y) => [...raw.subarray(y * (width * 4 + 1) + 1 + x * 4, y * (width * 4 + 1) + 5 + x * 4)] }
}

/** File names in a zip, from its central directory. */
function zipEntries(buf: Buffer): { name: string; data: Buffer }[] {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  const count = buf.readUInt16LE(end + 10)
  let at = buf.readUInt32LE(end + 16)
  const out: { name: string; data: Buffer }[] = []
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(at)).toBe(0x02014b50)
    const size = buf.readUInt32LE(at + 20)
    const nameLen = buf.readUInt16LE(at + 28)
    const extra = buf.readUInt16LE(at + 30)
    const comment = buf.readUInt16LE(at + 32)
    const local = buf.readUInt32LE(at + 42)
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen)
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28)
    out.push({ name, data: inflateRawSync(buf.subarray(dataAt, dataAt + size)) })
    at += 46 + nameLen + extra + comment
  }
  return out
}

describe('Teams app manifest', () => {
  it('has the required fields: a bot in personal, team and groupChat, its commands, the App ID placeholder', () => {
    const manifest = Manifest.parse(JSON.parse(read('manifest.json').toString('utf8')))
    expect(manifest.bots[0]?.scopes).toEqual(['personal', 'team', 'groupChat'])
    const titles = manifest.bots[0]?.commandLists[0]?.commands.map((c) => c.title)
    expect(titles).toEqual(expect.arrayContaining(['help', 'list', 'add', 'regenerate', 'resend', 'link', 'remove']))
  })

  it('one command list per scope, at most 10 commands each (Teams’ limit): notices where it works (a team’s channel), audit in chats', () => {
    const manifest = Manifest.parse(JSON.parse(read('manifest.json').toString('utf8')))
    const lists = manifest.bots[0]?.commandLists ?? []
    const scopes = lists.flatMap((l) => l.scopes)
    expect([...scopes].sort()).toEqual(['groupChat', 'personal', 'team'])
    const titlesIn = (scope: string) => lists.find((l) => l.scopes.includes(scope))?.commands.map((c) => c.title) ?? []
    expect(titlesIn('team')).toContain('notices')
    expect(titlesIn('personal')).toContain('audit')
    for (const scope of scopes) expect(new Set(titlesIn(scope)).size).toBe(titlesIn(scope).length)
    expect(manifest.description.full).toMatch(/notices here/)
  })

  it('ships color.png 192×192 and outline.png 32×32, white on transparent, as the script draws them', () => {
    const color = png(read('color.png'))
    expect([color.width, color.height, color.colorType]).toEqual([192, 192, 6])
    const outline = png(read('outline.png'))
    expect([outline.width, outline.height, outline.colorType]).toEqual([32, 32, 6])
    let opaque = 0
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const [r, g, b, a] = outline.pixels(x, y)
        if (a === 0) continue
        opaque++
        expect([r, g, b, a]).toEqual([255, 255, 255, 255])
      }
    }
    expect(outline.pixels(0, 0)[3]).toBe(0)
    expect(opaque).toBeGreaterThan(20)
    // The committed icons are exactly what the script writes.
    expect(read('color.png').equals(colorIcon())).toBe(true)
    expect(read('outline.png').equals(outlineIcon())).toBe(true)
  })

  it('the package lists the three files, with the App ID substituted', () => {
    const built = buildTeamsPackage({ MICROSOFT_APP_ID: '0F5C2A1E-7D3B-4C9A-8E6F-1A2B3C4D5E6F', PUBLIC_BASE_URL: 'https://invites.acme.test' })
    if (!built.ok) throw new Error(built.problems.join('; '))
    const entries = zipEntries(built.zip)
    expect(entries.map((e) => e.name)).toEqual([...PACKAGE_FILES])
    const manifest = JSON.parse(entries[0]!.data.toString('utf8')) as { id: string; bots: { botId: string }[]; developer: { privacyUrl: string } }
    expect(manifest.id).toBe('0f5c2a1e-7d3b-4c9a-8e6f-1a2b3c4d5e6f')
    expect(manifest.bots[0]?.botId).toBe('0f5c2a1e-7d3b-4c9a-8e6f-1a2b3c4d5e6f')
    expect(manifest.developer.privacyUrl).toBe('https://invites.acme.test/privacy')
    expect(entries[1]?.data.equals(colorIcon())).toBe(true)
    expect(JSON.stringify(manifest)).not.toContain('{{')
  })

  it('names the product and links its Terms and privacy statement from the branding variables, escaped as JSON', () => {
    const built = buildTeamsPackage({
      MICROSOFT_APP_ID: '0F5C2A1E-7D3B-4C9A-8E6F-1A2B3C4D5E6F',
      PUBLIC_BASE_URL: 'https://invites.acme.test',
      PRODUCT_NAME: 'Acme "Cloud" \\ Co',
      TERMS_URL: 'https://acme.test/terms',
      PRIVACY_URL: 'https://acme.test/privacy',
    })
    if (!built.ok) throw new Error(built.problems.join('; '))
    expect(built.warnings).toEqual([])
    const manifest = JSON.parse(zipEntries(built.zip)[0]!.data.toString('utf8')) as {
      name: { short: string; full: string }
      developer: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string }
      description: { full: string }
    }
    expect(manifest.name).toEqual({ short: 'Acme "Cloud" \\ Co', full: 'Acme "Cloud" \\ Co: account invitations from Teams' })
    expect(manifest.developer).toEqual({ name: 'Acme "Cloud" \\ Co', websiteUrl: 'https://invites.acme.test', privacyUrl: 'https://acme.test/privacy', termsOfUseUrl: 'https://acme.test/terms' })
    expect(JSON.stringify(manifest)).not.toContain('InviteOps')
    Manifest.parse({ ...manifest, id: '{{MICROSOFT_APP_ID}}', bots: (manifest as unknown as { bots: { botId: string }[] }).bots.map((b) => ({ ...b, botId: '{{MICROSOFT_APP_ID}}' })) })
  })

  it('without PRODUCT_NAME it is InviteOps; without TERMS_URL or PRIVACY_URL it says which placeholder pages it links', () => {
    const built = buildTeamsPackage({ MICROSOFT_APP_ID: '0F5C2A1E-7D3B-4C9A-8E6F-1A2B3C4D5E6F', PUBLIC_BASE_URL: 'https://invites.acme.test' })
    if (!built.ok) throw new Error(built.problems.join('; '))
    expect(JSON.parse(built.manifest).name.short).toBe('InviteOps')
    expect(built.warnings).toEqual([
      'PRIVACY_URL is not set: the package links https://invites.acme.test/privacy as the privacy statement',
      'TERMS_URL is not set: the package links https://invites.acme.test/terms as the terms of use',
    ])
  })

  it('refuses a product name too long for Teams, a hostile one, and http developer links, each named', () => {
    const id = { MICROSOFT_APP_ID: '0F5C2A1E-7D3B-4C9A-8E6F-1A2B3C4D5E6F' }
    const long = buildTeamsPackage({ ...id, PRODUCT_NAME: 'A'.repeat(31) })
    expect(long.ok ? [] : long.problems).toEqual(["PRODUCT_NAME must be at most 30 characters for the Teams app's short name"])
    const hostile = buildTeamsPackage({ ...id, PRODUCT_NAME: 'Acme\n"}' })
    expect(hostile.ok ? [] : hostile.problems).toEqual(['PRODUCT_NAME must be one line'])
    const http = buildTeamsPackage({ ...id, TERMS_URL: 'http://acme.test/terms', PRIVACY_URL: 'http://acme.test/privacy' })
    expect(http.ok ? [] : http.problems).toEqual(['TERMS_URL must be an https URL for the Teams app package', 'PRIVACY_URL must be an https URL for the Teams app package'])
  })

  it('refuses clearly without MICROSOFT_APP_ID, or with one that is not a GUID', () => {
    const none = buildTeamsPackage({})
    expect(none.ok).toBe(false)
    expect(none.ok ? '' : none.problems.join(' ')).toContain('MICROSOFT_APP_ID is required')
    const bad = buildTeamsPackage({ MICROSOFT_APP_ID: 'my-bot' })
    expect(bad.ok ? '' : bad.problems.join(' ')).toContain('must be a GUID')
  })
})
