import { randomBytes } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import type { Amr, GatewayJwksResponse } from '@warden/contracts'
import type { Clock } from '@warden/service-kit'
import type { MfaSigningKeys } from '../adapters/mfa-keys.js'
import type { GatewayConfig } from '../config.js'
import { issuedAtMs } from '../revocation.js'
import { JWT_SHAPE, MAX_TOKEN_LENGTH } from './primary.js'

/**
 * MFA and enrollment tokens: ES256, signed here with the current key of a ring (a `kid` served at
 * /.well-known/jwks.json, current and previous keys). A `token_use` claim keeps the types apart:
 * `mfa` and `enrollment` never stand in for each other, nor for a primary token.
 */

/** aal2: a second factor was verified. aal1: no second factor (policy said it was not required). */
export type Acr = 'aal1' | 'aal2'

export interface MfaClaims {
  readonly sub: string
  readonly aud: string
  readonly amr: readonly Amr[]
  readonly acr: Acr
  /** When the second factor was verified (seconds). */
  readonly authTime: number
  readonly action?: string
  /** `skipped`: no factor was asked because the device is remembered (acr aal1, amr []). */
  readonly remembered?: true
}

/** `issuedAtMs`: when it was issued, in ms (the `iat_ms` claim; see src/revocation.ts). */
export type VerifiedMfa = MfaClaims & { iat: number, exp: number, issuedAtMs: number }

export interface MfaTokens {
  /** An MFA token (`token_use: mfa`), MFA_TOKEN_TTL_SEC, or `maxTtlSec` when shorter (a step-up lives its policy's stepUpMaxAgeSec). */
  signMfa: (claims: MfaClaims, opts?: { maxTtlSec?: number }) => Promise<string>
  /** Verifies an MFA token issued here (current or previous key); its claims or undefined (never throws for a bad token). */
  verifyMfa: (token: string) => Promise<VerifiedMfa | undefined>
  /**
   * An enrollment token (`token_use: enrollment`, acr aal1, STEP_UP_MAX_AGE_SEC): lets the user add
   * factors on the /v1/me enrollment routes only, after `enrollment_required` or a permanent-loss
   * recovery. It is neither an MFA token nor a primary token.
   */
  signEnrollment: (claims: Omit<MfaClaims, 'acr' | 'remembered' | 'action'>, opts?: { issuedAt?: Date }) => Promise<string>
  verifyEnrollment: (token: string) => Promise<VerifiedMfa | undefined>
  /** The signing key first, then the previous ones that still verify. */
  jwks: () => Promise<GatewayJwksResponse>
}

export function createMfaTokens ({ keys, config, clock, isRevoked }: {
  keys: MfaSigningKeys
  config: GatewayConfig
  clock: Clock
  /** A token taken back by its `jti` (the hosted flow: a code used twice) no longer verifies. */
  isRevoked?: (jti: string) => Promise<boolean>
}): MfaTokens {
  /**
   * `issuedAt` is now unless the caller names the moment of the facts the token rests on (an
   * enrollment token is only as current as the "no factor" it was issued on). `iat_ms` carries it
   * in milliseconds for revocation (src/revocation.ts), `iat` in seconds as RFC 7519 has it.
   */
  async function sign (use: 'mfa' | 'enrollment', claims: MfaClaims, ttlSec: number, issuedAt: Date = clock.now()): Promise<string> {
    const nowMs = issuedAt.getTime()
    const now = Math.floor(nowMs / 1000)
    const { kid, privateKey } = await keys.signing()
    return new SignJWT({
      token_use: use, amr: [...claims.amr], acr: claims.acr, auth_time: claims.authTime, iat_ms: nowMs,
      ...(claims.action === undefined ? {} : { action: claims.action }),
      ...(claims.remembered === true ? { remembered: true } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setAudience(claims.aud)
      .setIssuer(config.MFA_ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSec)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(privateKey)
  }

  /** Checks signature (a key of the ring, by kid), algorithm (ES256 only), issuer, expiry and type. */
  async function verify (token: string, use: 'mfa' | 'enrollment'): Promise<VerifiedMfa | undefined> {
    const claims = await verifySigned(token, use)
    // Outside verifySigned's catch: a revocation list that cannot be read is a 503, never a pass.
    // Every token signed here has a jti; one without cannot have been taken back by it.
    if (claims === undefined || isRevoked === undefined || claims.jti === undefined) return claims
    return await isRevoked(claims.jti) ? undefined : claims
  }

  async function verifySigned (token: string, use: 'mfa' | 'enrollment'): Promise<(VerifiedMfa & { jti?: string }) | undefined> {
    if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return undefined
    try {
      const header = decodeProtectedHeader(token)
      if (header.alg !== 'ES256' || typeof header.kid !== 'string') return undefined
      const key = await keys.find(header.kid)
      if (key === undefined) return undefined
      const { payload } = await jwtVerify(token, key.publicKey, {
        algorithms: ['ES256'],
        issuer: config.MFA_ISSUER,
        currentDate: clock.now(),
        requiredClaims: ['sub', 'aud', 'exp', 'iat', 'auth_time'],
      })
      // Token types do not stand in for each other.
      if (payload.token_use !== use) return undefined
      const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud
      const amr = Array.isArray(payload.amr) ? payload.amr.filter((a): a is Amr => typeof a === 'string') : []
      if (typeof payload.sub !== 'string' || typeof aud !== 'string' || typeof payload.auth_time !== 'number' ||
        (payload.acr !== 'aal1' && payload.acr !== 'aal2') || typeof payload.iat !== 'number' || typeof payload.exp !== 'number') return undefined
      return {
        ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
        sub: payload.sub, aud, amr, acr: payload.acr, authTime: payload.auth_time, iat: payload.iat, exp: payload.exp,
        issuedAtMs: issuedAtMs(payload.iat, payload.iat_ms),
        ...(typeof payload.action === 'string' ? { action: payload.action } : {}),
        ...(payload.remembered === true ? { remembered: true as const } : {}),
      }
    } catch {
      return undefined
    }
  }

  return {
    signMfa: (claims, opts = {}) => sign('mfa', claims, Math.min(config.MFA_TOKEN_TTL_SEC, opts.maxTtlSec ?? Infinity)),
    verifyMfa: (token) => verify(token, 'mfa'),
    signEnrollment: (claims, opts = {}) => sign('enrollment', { ...claims, acr: 'aal1' }, config.STEP_UP_MAX_AGE_SEC, opts.issuedAt),
    verifyEnrollment: (token) => verify(token, 'enrollment'),
    jwks: () => keys.jwks(),
  }
}
