/**
 * `npm run teams:package`: writes manifest/teams/inviteops-teams.zip, the Teams app package an
 * administrator uploads (Teams admin center, or "Upload a custom app"). It holds manifest.json
 * with the App ID substituted from MICROSOFT_APP_ID, the product's name from PRODUCT_NAME and
 * the developer links from PRIVACY_URL and TERMS_URL, and the two icons Teams requires
 * (https://learn.microsoft.com/microsoftteams/platform/concepts/build-and-test/apps-package):
 * color.png 192×192 and outline.png 32×32 (white on transparent).
 *
 * The icons are drawn here (an envelope) and written beside the manifest, so the repository
 * needs no image tool and no new dependency: PNG and ZIP are written with node:zlib
 * (deflateSync, crc32).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { crc32, deflateRawSync, deflateSync } from 'node:zlib'
import { z } from 'zod'
import { loadConfig } from '../../src/config.ts'

const here = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url))

export const PACKAGE_PATH = here('inviteops-teams.zip')
export const PACKAGE_FILES = ['manifest.json', 'color.png', 'outline.png'] as const

type Rgba = readonly [number, number, number, number]

/** Encodes an RGBA image as PNG (colour type 6, 8 bits, no interlace). */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 4 + 1)
    raw[row] = 0 // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = pixel(x, y)
      raw.set([r, g, b, a], row + 1 + x * 4)
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** Is (x, y) on the envelope's outline (a rectangle and its flap), for an icon of `size` pixels? */
function onEnvelope(x: number, y: number, size: number, stroke: number): boolean {
  const left = size * 0.16
  const right = size * 0.84
  const top = size * 0.27
  const bottom = size * 0.73
  const inside = x >= left && x <= right && y >= top && y <= bottom
  if (!inside) return false
  const border = x < left + stroke || x > right - stroke || y < top + stroke || y > bottom - stroke
  // The flap: two lines from the top corners to the middle.
  const mid = size / 2
  const flapY = top + ((mid - top) * (mid - Math.abs(x - mid))) / (mid - left)
  const flap = Math.abs(y - flapY) < stroke * 0.75
  return border || flap
}

/** 192×192, full colour: a white envelope on the accent colour. */
export function colorIcon(): Buffer {
  const accent: Rgba = [0x4f, 0x46, 0xe5, 0xff]
  return encodePng(192, 192, (x, y) => (onEnvelope(x + 0.5, y + 0.5, 192, 10) ? [255, 255, 255, 255] : accent))
}

/** 32×32 outline: white on transparent, as Teams requires. */
export function outlineIcon(): Buffer {
  return encodePng(32, 32, (x, y) => (onEnvelope(x + 0.5, y + 0.5, 32, 2) ? [255, 255, 255, 255] : [0, 0, 0, 0]))
}

/** A ZIP archive (deflate), with a fixed date so the same inputs give the same bytes. */
export function zip(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  const dosTime = 0
  const dosDate = ((2026 - 1980) << 9) | (1 << 5) | 1
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8')
    const packed = deflateRawSync(f.data)
    const crc = crc32(f.data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt16LE(0, 6) // flags
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt16LE(dosTime, 10)
    local.writeUInt16LE(dosDate, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(f.data.length, 22)
    local.writeUInt16LE(name.length, 26)
    local.writeUInt16LE(0, 28)
    locals.push(local, name, packed)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4) // version made by
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(dosTime, 12)
    central.writeUInt16LE(dosDate, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(f.data.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, name)
    offset += local.length + name.length + packed.length
  }
  const centralDir = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.length, 8)
  end.writeUInt16LE(files.length, 10)
  end.writeUInt32LE(centralDir.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, centralDir, end])
}

const PackageEnv = z.object({
  MICROSOFT_APP_ID: z
    .string({ error: 'MICROSOFT_APP_ID is required: the Teams app package names the bot by its App ID (the Azure bot registration gives it)' })
    .trim()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'MICROSOFT_APP_ID must be a GUID'),
  PUBLIC_BASE_URL: z.url({ protocol: /^https$/ }).optional().catch(undefined),
})

/** Teams' limits on the names (manifest schema v1.17): the short name and the developer's name. */
const TEAMS_SHORT_NAME_MAX = 30

/** The branding variables the package uses, checked by the service's own rules (src/config.ts). */
const BRANDING_VARIABLES = ['PRODUCT_NAME', 'TERMS_URL', 'PRIVACY_URL'] as const

/**
 * The package's bytes for `env`, or the problems that stop it. `warnings` name what the package
 * falls back on (no PRIVACY_URL or TERMS_URL: pages under PUBLIC_BASE_URL the operator must serve).
 */
export function buildTeamsPackage(env: Record<string, string | undefined>): { ok: true; zip: Buffer; manifest: string; warnings: string[] } | { ok: false; problems: string[] } {
  const parsed = PackageEnv.safeParse({ MICROSOFT_APP_ID: env.MICROSOFT_APP_ID || undefined, PUBLIC_BASE_URL: env.PUBLIC_BASE_URL || undefined })
  const branded = loadConfig(Object.fromEntries(BRANDING_VARIABLES.map((name) => [name, env[name]])))
  const problems = [...(parsed.success ? [] : parsed.error.issues.map((i) => i.message)), ...(branded.ok ? [] : branded.problems)]
  if (branded.ok) {
    const { productName, termsUrl, privacyUrl } = branded.config.branding
    if (productName.length > TEAMS_SHORT_NAME_MAX) problems.push(`PRODUCT_NAME must be at most ${TEAMS_SHORT_NAME_MAX} characters for the Teams app's short name`)
    // Teams accepts only https developer links.
    for (const [name, url] of [['TERMS_URL', termsUrl], ['PRIVACY_URL', privacyUrl]] as const) {
      if (url && !url.startsWith('https:')) problems.push(`${name} must be an https URL for the Teams app package`)
    }
  }
  if (!parsed.success || !branded.ok || problems.length > 0) return { ok: false, problems }
  const { productName, termsUrl, privacyUrl } = branded.config.branding
  // Teams wants https URLs for the developer links; without a public https base, a neutral one.
  const base = (parsed.data.PUBLIC_BASE_URL ?? 'https://example.com').replace(/\/+$/, '')
  const warnings = [
    ...(privacyUrl ? [] : [`PRIVACY_URL is not set: the package links ${base}/privacy as the privacy statement`]),
    ...(termsUrl ? [] : [`TERMS_URL is not set: the package links ${base}/terms as the terms of use`]),
  ]
  // Values go into JSON strings: escaped as JSON, so a quote in a name cannot break the manifest.
  const json = (v: string) => JSON.stringify(v).slice(1, -1)
  const manifest = readFileSync(here('manifest.json'), 'utf8')
    .replaceAll('{{MICROSOFT_APP_ID}}', parsed.data.MICROSOFT_APP_ID.toLowerCase())
    .replaceAll('{{PRODUCT_NAME}}', json(productName))
    .replaceAll('{{WEBSITE_URL}}', json(base))
    .replaceAll('{{PRIVACY_URL}}', json(privacyUrl ?? `${base}/privacy`))
    .replaceAll('{{TERMS_URL}}', json(termsUrl ?? `${base}/terms`))
  const color = colorIcon()
  const outline = outlineIcon()
  return {
    ok: true,
    manifest,
    warnings,
    zip: zip([
      { name: 'manifest.json', data: Buffer.from(manifest, 'utf8') },
      { name: 'color.png', data: color },
      { name: 'outline.png', data: outline },
    ]),
  }
}

/** Writes the icons beside the manifest (kept in the repository) and the package. */
function main(): void {
  writeFileSync(here('color.png'), colorIcon())
  writeFileSync(here('outline.png'), outlineIcon())
  const built = buildTeamsPackage(process.env)
  if (!built.ok) {
    for (const p of built.problems) console.error(`teams:package: ${p}`)
    process.exitCode = 1
    return
  }
  for (const w of built.warnings) console.warn(`teams:package: ${w}`)
  writeFileSync(PACKAGE_PATH, built.zip)
  console.log(`teams:package: wrote ${PACKAGE_PATH} (${PACKAGE_FILES.join(', ')})`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main()
