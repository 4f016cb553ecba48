import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose'

/**
 * For resource servers that accept Warden MFA tokens: decide whether a request's token is strong
 * and fresh enough for an action, and if not, answer the RFC 9470 challenge
 * (`WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values=..., max_age=...`)
 * so the client knows to run `POST /v1/signin {purpose: "step-up", action}` and retry.
 */
export interface StepUpOptions {
  /** Warden's JWKS: `https://<gateway>/.well-known/jwks.json`, or the key set itself. */
  jwks: URL | JSONWebKeySet
  issuer: string
  /** Your application's client id: the `aud` Warden puts in tokens for you. */
  audience: string
  /**
   * Revocation (optional). When the user's Warden tokens were last revoked (a 2FA reset, a
   * disable, their first factor): tokens issued at or before it are refused as `invalid_token`.
   * Feed it from the `validAfter` of `warden.events.v1.user.reset` events, or ask the gateway's
   * `warden.gateway.v1.introspect` (see the README). If it throws, `check` rejects with that error:
   * answer 503, never let the request through.
   */
  validAfter?: (sub: string) => Promise<Date | number | undefined> | Date | number | undefined
}

export interface Requirement {
  /** The action the token must have been issued for (`action` claim), e.g. "change-bank-details". */
  action?: string
  /** Seconds since the second factor was used (`auth_time`); RFC 9470 `max_age`. */
  maxAgeSec?: number
  /**
   * Acceptable `acr` values; RFC 9470 `acr_values`. Default `["aal2"]`: a second factor was used
   * for this token. Tokens of a skipped sign-in (remembered device, policy off) are `aal1`.
   */
  acrValues?: readonly string[]
}

/** What Warden's MFA tokens say when a second factor was actually verified. */
export const DEFAULT_ACR_VALUES: readonly string[] = ['aal2']

export interface MfaClaims extends JWTPayload {
  sub: string
  /** When the token was issued, in milliseconds (Warden's tokens carry it; `iat` has whole seconds only). */
  iat_ms?: number
  amr: string[]
  acr: string
  auth_time: number
  action?: string
  /** Set on the token of a sign-in skipped for a remembered device: never a step-up proof. */
  remembered?: true
  token_use: 'mfa'
}

export type StepUpResult =
  | { ok: true, claims: MfaClaims }
  | { ok: false, status: 401, error: 'invalid_token' | 'insufficient_user_authentication', wwwAuthenticate: string, description: string }

/**
 * When a Warden token was issued, in milliseconds: its `iat_ms`, or, for a token without one (or
 * one that does not agree with `iat`), the start of its `iat` second, the earliest it can have
 * been (so a revocation in that second revokes it).
 */
export function issuedAtMs (claims: { iat?: number, iat_ms?: unknown }): number {
  const iat = typeof claims.iat === 'number' ? claims.iat : 0
  const ms = claims.iat_ms
  return typeof ms === 'number' && Number.isInteger(ms) && Math.floor(ms / 1000) === iat ? ms : iat * 1000
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, '')}"`

function challenge (error: 'invalid_token' | 'insufficient_user_authentication', description: string, req: Requirement): StepUpResult {
  const parts = [`error=${quote(error)}`, `error_description=${quote(description)}`]
  if (error === 'insufficient_user_authentication') {
    const acrValues = req.acrValues ?? DEFAULT_ACR_VALUES
    if (acrValues.length > 0) parts.push(`acr_values=${quote(acrValues.join(' '))}`)
    if (req.maxAgeSec !== undefined) parts.push(`max_age=${quote(String(req.maxAgeSec))}`)
  }
  return { ok: false, status: 401, error, description, wwwAuthenticate: `Bearer ${parts.join(', ')}` }
}

export function createStepUpVerifier (opts: StepUpOptions): { check: (authorization: string | undefined, req?: Requirement, now?: Date) => Promise<StepUpResult> } {
  const keys = opts.jwks instanceof URL ? createRemoteJWKSet(opts.jwks) : createLocalJWKSet(opts.jwks)
  return {
    async check (authorization, req = {}, now = new Date()) {
      const token = /^Bearer ([A-Za-z0-9._-]+)$/.exec(authorization ?? '')?.[1]
      if (token === undefined) return challenge('invalid_token', 'a Warden MFA token is required', req)
      let claims: MfaClaims
      try {
        const r = await jwtVerify(token, keys, { issuer: opts.issuer, audience: opts.audience, algorithms: ['ES256'], currentDate: now })
        claims = r.payload as MfaClaims
      } catch (err) {
        const why = err instanceof errors.JWTExpired ? 'the token has expired' : 'the token is not valid'
        return challenge('invalid_token', why, req)
      }
      if (claims.token_use !== 'mfa' || typeof claims.sub !== 'string' || typeof claims.auth_time !== 'number' || !Array.isArray(claims.amr)) {
        return challenge('invalid_token', 'not a Warden MFA token', req)
      }
      if (opts.validAfter !== undefined) {
        const after = await opts.validAfter(claims.sub)
        if (after !== undefined && issuedAtMs(claims) <= Number(after)) return challenge('invalid_token', 'the token was revoked', req)
      }
      if (req.action !== undefined && claims.action !== req.action) {
        return challenge('insufficient_user_authentication', `a step-up for "${req.action}" is required`, req)
      }
      if (req.maxAgeSec !== undefined && Math.floor(now.getTime() / 1000) - claims.auth_time > req.maxAgeSec) {
        return challenge('insufficient_user_authentication', 'a more recent second factor is required', req)
      }
      const acrValues = req.acrValues ?? DEFAULT_ACR_VALUES
      if (acrValues.length > 0 && !acrValues.includes(claims.acr)) {
        return challenge('insufficient_user_authentication', 'a stronger second factor is required', req)
      }
      // Belt and braces: a remembered device proves no second factor, whatever acr was accepted.
      if (claims.remembered === true || !claims.amr.includes('mfa')) {
        return challenge('insufficient_user_authentication', 'a second factor is required', req)
      }
      return { ok: true, claims }
    },
  }
}
