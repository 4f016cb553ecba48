import type { Clock } from '@warden/service-kit'
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { DEVICE_JWT_TYPE } from '../device-requests.js'
import type { DeviceTokenVerifier, PublicJwk } from '../ports.js'

const B64U_32 = /^[A-Za-z0-9_-]{43}$/

/** The public P-256 JWK in `value`, reduced to its public members; undefined for anything else (a private key included). */
export function toPublicJwk (value: unknown): PublicJwk | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const j = value as Record<string, unknown>
  if (j.kty !== 'EC' || j.crv !== 'P-256' || 'd' in j) return undefined
  if (typeof j.x !== 'string' || typeof j.y !== 'string' || !B64U_32.test(j.x) || !B64U_32.test(j.y)) return undefined
  if (j.use !== undefined && j.use !== 'sig') return undefined
  if (j.alg !== undefined && j.alg !== 'ES256') return undefined
  return { kty: 'EC', crv: 'P-256', x: j.x, y: j.y }
}

/**
 * Device-signed requests with jose: ES256 only, `typ` warden-push+jwt, any `exp`/`nbf` checked on
 * the injected clock. Claims, `iat` skew and `jti` replay are the service's to judge.
 */
export function createJoseDeviceTokens (opts: { clock: Clock }): DeviceTokenVerifier {
  return {
    peek (jwt) {
      try {
        const claims = decodeJwt(jwt)
        return claims as Record<string, unknown>
      } catch {
        return undefined
      }
    },
    async verify (jwt, key) {
      try {
        const jwk = key === 'embedded' ? toPublicJwk(decodeProtectedHeader(jwt).jwk) : key
        if (jwk === undefined) return undefined
        const cryptoKey = await importJWK({ ...jwk }, 'ES256')
        const { payload } = await jwtVerify(jwt, cryptoKey, { algorithms: ['ES256'], typ: DEVICE_JWT_TYPE, currentDate: opts.clock.now() })
        return { claims: payload as Record<string, unknown>, jwk }
      } catch {
        // A point off the curve, a bad signature, another algorithm, a malformed token: all "does not verify".
        return undefined
      }
    },
    thumbprint: (jwk) => calculateJwkThumbprint({ ...jwk }, 'sha256'),
  }
}
