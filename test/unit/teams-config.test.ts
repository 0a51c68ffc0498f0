import { describe, expect, it } from 'vitest'
import { teamsConfigFromEnv, teamsEnvChecked } from '../../adapters/teams/config.ts'

const APP_ID = '0f5c2a1e-7d3b-4c9a-8e6f-1a2b3c4d5e6f'
const TENANT = 'b2c7e1f4-3a5d-4e8f-9c0a-1d2e3f4a5b6c'

function check(env: Record<string, string>, production = false): { ok: boolean; messages: string[] } {
  const r = teamsEnvChecked({ production }).safeParse(env)
  return { ok: r.success, messages: r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }
}

describe('Teams configuration', () => {
  it('is off without MICROSOFT_APP_ID', () => {
    expect(check({}).ok).toBe(true)
    expect(teamsConfigFromEnv({}, { production: false })).toBeNull()
    expect(teamsConfigFromEnv({}, { production: true })).toBeNull()
  })

  it('MultiTenant (the default) with an App ID and password', () => {
    const env = { MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 'secret' }
    expect(check(env, true).ok).toBe(true)
    expect(teamsConfigFromEnv(env, { production: true })).toEqual({ appId: APP_ID, appPassword: 'secret', appType: 'MultiTenant', tenantId: null })
  })

  it.each([
    [{ MICROSOFT_APP_ID: APP_ID }, 'MICROSOFT_APP_PASSWORD'],
    [{ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's', MICROSOFT_APP_TYPE: 'SingleTenant' }, 'MICROSOFT_APP_TENANT_ID'],
    [{ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's', MICROSOFT_APP_TYPE: 'UserAssignedMSI', MICROSOFT_APP_TENANT_ID: TENANT }, 'MICROSOFT_APP_PASSWORD'],
    [{ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's', MICROSOFT_APP_TYPE: 'Personal' }, 'MICROSOFT_APP_TYPE'],
    [{ MICROSOFT_APP_ID: 'not-a-guid', MICROSOFT_APP_PASSWORD: 's' }, 'MICROSOFT_APP_ID'],
    [{ MICROSOFT_APP_PASSWORD: 's' }, 'MICROSOFT_APP_ID'],
  ])('%j is refused, naming %s', (env, variable) => {
    const r = check(env)
    expect(r.ok).toBe(false)
    expect(r.messages.join('\n')).toContain(variable)
  })

  it('SingleTenant and UserAssignedMSI with what they need', () => {
    expect(check({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's', MICROSOFT_APP_TYPE: 'SingleTenant', MICROSOFT_APP_TENANT_ID: TENANT }).ok).toBe(true)
    const msi = { MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_TYPE: 'UserAssignedMSI' as const, MICROSOFT_APP_TENANT_ID: TENANT }
    expect(check(msi).ok).toBe(true)
    expect(teamsConfigFromEnv(msi, { production: true })).toEqual({ appId: APP_ID, appPassword: null, appType: 'UserAssignedMSI', tenantId: TENANT })
  })

  it('TEAMS_UNAUTHENTICATED=1 enables Teams without credentials outside production only', () => {
    expect(check({ TEAMS_UNAUTHENTICATED: '1' }).ok).toBe(true)
    expect(teamsConfigFromEnv({ TEAMS_UNAUTHENTICATED: '1' }, { production: false })).toEqual({ appId: null, appPassword: null, appType: 'MultiTenant', tenantId: null })
    const prod = check({ TEAMS_UNAUTHENTICATED: '1' }, true)
    expect(prod.ok).toBe(false)
    expect(prod.messages.join('\n')).toContain('nothing runs unauthenticated in production')
    // Even unchecked, production never gets an unauthenticated config.
    expect(teamsConfigFromEnv({ TEAMS_UNAUTHENTICATED: '1' }, { production: true })).toBeNull()
  })

  it('TEAMS_UNAUTHENTICATED with an App ID is a contradiction', () => {
    expect(check({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 's', TEAMS_UNAUTHENTICATED: '1' }).messages.join('\n')).toContain('choose one')
  })
})
