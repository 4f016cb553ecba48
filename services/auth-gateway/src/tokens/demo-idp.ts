import { SignJWT } from 'jose'
import type { Clock } from '@warden/service-kit'
import type { GatewayConfig } from '../config.js'
import { fail } from '../errors.js'

/**
 * The demo identity provider (DEMO_MODE): HS256 primary tokens for 1 h, signed with the same
 * secret the gateway verifies primary tokens with, so the whole flow can be tried without an
 * external IdP. Without an HS256 secret (a public key or JWKS is configured) it signs nothing.
 */
export function createDemoIdp (opts: { hsSecret: string | undefined, config: GatewayConfig, clock: Clock }): (claims: { sub: string, clientId: string, role?: string }) => Promise<string> {
  const { config, clock } = opts
  const demoKey = opts.hsSecret === undefined ? undefined : new TextEncoder().encode(opts.hsSecret)
  return async function signDemoPrimary (claims: { sub: string, clientId: string, role?: string }): Promise<string> {
    if (demoKey === undefined) throw fail('INTERNAL', 'internal error')
    const now = Math.floor(clock.now().getTime() / 1000)
    let jwt = new SignJWT({
      token_use: 'primary', azp: claims.clientId, preferred_username: claims.sub, auth_time: now,
      ...(claims.role === undefined ? {} : { role: claims.role }),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
    if (config.PRIMARY_JWT_ISSUER !== undefined) jwt = jwt.setIssuer(config.PRIMARY_JWT_ISSUER)
    if (config.PRIMARY_JWT_AUDIENCE !== undefined) jwt = jwt.setAudience(config.PRIMARY_JWT_AUDIENCE)
    return jwt.sign(demoKey)
  }
}
