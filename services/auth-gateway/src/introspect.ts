import type { GatewayIntrospectRequest, GatewayIntrospectResponse } from '@warden/contracts'
import type { Tokens } from './plugins/tokens.js'
import type { Revocation } from './ports.js'
import { isCurrent } from './revocation.js'

/**
 * `warden.gateway.v1.introspect`: how a resource server on the bus learns that an MFA token is no
 * longer to be honoured (RFC 7662 in spirit). Active only when the token verifies here (key of the
 * ring, ES256, issuer, expiry, `token_use: mfa`) and was issued after the user's "tokens valid
 * after" (src/revocation.ts). An inactive answer says nothing about why. If the revocation store
 * cannot be read, the verb answers UNAVAILABLE: the caller must not honour the token meanwhile.
 */
export function createIntrospection (deps: { tokens: Tokens, revocation: Revocation }) {
  return async (req: GatewayIntrospectRequest): Promise<GatewayIntrospectResponse> => {
    const claims = await deps.tokens.verifyMfa(req.token)
    if (claims === undefined) return { active: false }
    const validAfter = await deps.revocation.validAfter(claims.sub)
    if (!isCurrent(claims.issuedAtMs, validAfter)) return { active: false }
    return {
      active: true,
      sub: claims.sub,
      aud: claims.aud,
      acr: claims.acr,
      amr: [...claims.amr],
      authTime: claims.authTime,
      iat: claims.iat,
      exp: claims.exp,
      ...(claims.action === undefined ? {} : { action: claims.action }),
      ...(claims.remembered === true ? { remembered: true as const } : {}),
      ...(validAfter === undefined ? {} : { validAfter: new Date(validAfter).toISOString() }),
    }
  }
}
