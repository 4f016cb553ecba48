import { createPublicKey, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto'
import fastifyJwt, { type FastifyJWTOptions, type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose'
import { BusError, type GatewayJwksResponse } from '@warden/contracts'
import { parseKeyRing, withDeadlines, type Clock, type Log } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { managedMfaKeys, staticMfaKeys, type MfaSigningKeys, type StoredMfaKeyRing } from '../mfa-keys.js'
import { PRIMARY_ALGORITHMS, type GatewayConfig, type PrimaryAlgorithm } from '../config.js'
import { fail } from '../errors.js'
import { issuedAtMs } from '../revocation.js'

/**
 * Tokens at the edge (SECURITY §1.12):
 * - primary tokens (from the upstream IdP, or the demo IdP) are verified by @fastify/jwt with an
 *   explicit algorithm allow-list that must fit the key type (a secret allows only HS*, a public key
 *   only its own family), so `alg: none` and HS/RS confusion are refused;
 * - MFA tokens are ES256, signed here with the current key of a ring, with a `kid` served at
 *   /.well-known/jwks.json (current and previous keys);
 * - a `token_use` claim keeps the types apart: `primary` (or none, from an external IdP), `mfa`
 *   and `enrollment` never stand in for each other; remember-device tokens are opaque, not JWTs.
 */

export interface Principal {
  /** `sub` of the primary token. */
  readonly sub: string
  /** `azp` (or `client_id`) of the primary token; 'default' when it names none. */
  readonly clientId: string
  /** `auth_time` (seconds) when the token carries one. */
  readonly authTime?: number
  /** What the authenticator app shows: preferred_username, name, email or sub (≤100 characters). */
  readonly accountName: string
  readonly role?: string
}

export type Amr = 'otp' | 'sms' | 'swk' | 'hwk' | 'pop' | 'mfa' | 'pwd'
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

/** `issuedAtMs`: when it was issued, in ms (the `iat_ms` claim; see revocation.ts). */
export type VerifiedMfa = MfaClaims & { iat: number, exp: number, issuedAtMs: number }

/** The public MFA keys, in the contract's shape (the same set is served over HTTP and on the bus). */
export type Jwks = GatewayJwksResponse

export interface Tokens {
  /** Verifies the request's primary token (Authorization: Bearer). Throws UNAUTHENTICATED. */
  verifyPrimary: (req: FastifyRequest) => Promise<Principal>
  /** Demo IdP only: an HS256 primary token for 1 h. */
  signDemoPrimary: (claims: { sub: string, clientId: string, role?: string }) => Promise<string>
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
  jwks: () => Promise<Jwks>
}

declare module 'fastify' {
  interface FastifyInstance { tokens: Tokens }
}

const HS = ['HS256', 'HS384', 'HS512'] as const
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/
const SUB = /^[\x21-\x7E]{1,200}$/
const CLIENT_ID = /^[\x21-\x7E]{1,200}$/
const MAX_TOKEN_LENGTH = 8192

/** The algorithms a public key can verify: its type fixes the family. */
export function algorithmsOfKey (key: KeyObject): readonly PrimaryAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'rsa-pss': return ['PS256', 'PS384', 'PS512']
    case 'ed25519': return ['EdDSA']
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === 'prime256v1' || curve === 'P-256') return ['ES256']
      if (curve === 'secp384r1' || curve === 'P-384') return ['ES384']
      if (curve === 'secp521r1' || curve === 'P-521') return ['ES512']
      return []
    }
    default: return []
  }
}

function configuredAlgorithms (config: GatewayConfig, fallback: readonly PrimaryAlgorithm[], family: readonly PrimaryAlgorithm[], what: string): PrimaryAlgorithm[] {
  const list = config.PRIMARY_JWT_ALGORITHMS === undefined
    ? [...fallback]
    : config.PRIMARY_JWT_ALGORITHMS.split(',') as PrimaryAlgorithm[]
  for (const alg of list) {
    if (!(PRIMARY_ALGORITHMS as readonly string[]).includes(alg) || !family.includes(alg)) {
      throw new Error(`invalid configuration: PRIMARY_JWT_ALGORITHMS: ${alg} does not fit ${what}`)
    }
  }
  return list
}

/** Bearer token from the Authorization header, or nothing: a strict parse, no cookies, no query. */
function extractBearer (req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (typeof h !== 'string' || h.length > MAX_TOKEN_LENGTH + 7) return undefined
  const m = /^Bearer ([^\s]+)$/.exec(h)
  if (m === null || !JWT_SHAPE.test(m[1] as string)) return undefined
  return m[1]
}

interface JwksCacheEntry { pem: string, alg?: string }

/**
 * The upstream IdP's JWKS, fetched on demand and cached: refreshed after `ttlMs`, or when an
 * unknown `kid` arrives (at most once per `minRefreshMs`, so garbage kids cannot hammer the IdP).
 */
function createJwksResolver (url: string, log: Log, opts = { ttlMs: 10 * 60_000, minRefreshMs: 30_000, timeoutMs: 2_000 }) {
  let keys = new Map<string, JwksCacheEntry>()
  let fetchedAt = 0
  let inflight: Promise<void> | undefined

  async function refresh (): Promise<void> {
    inflight ??= (async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), headers: { accept: 'application/json' } })
        if (!res.ok) throw new Error(`JWKS answered ${res.status}`)
        const body = await res.json() as { keys?: unknown }
        if (!Array.isArray(body.keys)) throw new Error('JWKS has no keys array')
        const next = new Map<string, JwksCacheEntry>()
        for (const jwk of body.keys as JWK[]) {
          if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') continue
          if (jwk.use !== undefined && jwk.use !== 'sig') continue
          if (jwk.kty === 'oct') continue // a shared secret has no place in a public key set
          try {
            const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
            next.set(jwk.kid, typeof jwk.alg === 'string' ? { pem, alg: jwk.alg } : { pem })
          } catch {
            log.warn({ kid: jwk.kid }, 'ignoring an unusable key in the primary JWKS')
          }
        }
        keys = next
        fetchedAt = Date.now()
      } finally {
        inflight = undefined
      }
    })()
    return inflight
  }

  return async (kid: unknown, alg: unknown): Promise<string> => {
    if (typeof kid !== 'string' || kid.length > 200) throw fail('UNAUTHENTICATED', 'the token names no usable key')
    const stale = Date.now() - fetchedAt > opts.ttlMs
    const canRefresh = Date.now() - fetchedAt > opts.minRefreshMs
    if (stale || (!keys.has(kid) && canRefresh)) {
      try {
        await refresh()
      } catch (err) {
        log.warn({ err }, 'primary JWKS fetch failed')
        // Fail closed: with no key we cannot say yes, and a 401 would blame the client.
        if (!keys.has(kid)) throw fail('UNAVAILABLE', 'the identity provider\'s keys are not available', { retryAfterSec: 5 })
      }
    }
    const entry = keys.get(kid)
    if (entry === undefined) throw fail('UNAUTHENTICATED', 'the token names an unknown key')
    if (entry.alg !== undefined && entry.alg !== alg) throw fail('UNAUTHENTICATED', 'the token algorithm does not fit its key')
    return entry.pem
  }
}

export interface TokensOptions { config: GatewayConfig, clock: Clock }

async function tokensPlugin (app: FastifyInstance, { config, clock }: TokensOptions): Promise<void> {
  const log = app.log as Log

  // ---- primary tokens ----------------------------------------------------------------------
  let hsSecret: string | undefined = config.PRIMARY_JWT_HS256_SECRET
  if (hsSecret === undefined && config.PRIMARY_JWT_PUBLIC_KEY_PEM === undefined && config.PRIMARY_JWT_JWKS_URL === undefined) {
    // Only reachable in DEMO_MODE (config.ts refuses it otherwise).
    hsSecret = randomBytes(32).toString('base64url')
    log.warn({}, 'DEMO_MODE: generated a random HS256 secret for primary tokens; tokens will not survive a restart or work across replicas')
  }

  let secret: FastifyJWTOptions['secret']
  let algorithms: PrimaryAlgorithm[]
  if (hsSecret !== undefined) {
    secret = hsSecret
    algorithms = configuredAlgorithms(config, ['HS256'], HS, 'a shared secret')
  } else if (config.PRIMARY_JWT_PUBLIC_KEY_PEM !== undefined) {
    const key = createPublicKey(config.PRIMARY_JWT_PUBLIC_KEY_PEM)
    const family = algorithmsOfKey(key)
    if (family.length === 0) throw new Error('invalid configuration: PRIMARY_JWT_PUBLIC_KEY_PEM is not an RSA, EC (P-256/384/521) or Ed25519 key')
    secret = { public: key.export({ type: 'spki', format: 'pem' }).toString() }
    algorithms = configuredAlgorithms(config, [family[0] as PrimaryAlgorithm], family, `a ${key.asymmetricKeyType ?? 'public'} key`)
  } else {
    const resolve = createJwksResolver(config.PRIMARY_JWT_JWKS_URL as string, log)
    const asymmetric = PRIMARY_ALGORITHMS.filter((a) => !(HS as readonly string[]).includes(a))
    algorithms = configuredAlgorithms(config, ['RS256', 'ES256'], asymmetric, 'a JWKS (public keys only)')
    secret = async (_req: FastifyRequest, token: TokenOrHeader) => {
      const header = 'header' in token ? token.header : token
      return resolve(header.kid, header.alg)
    }
  }

  await app.register(fastifyJwt, {
    secret,
    decode: { complete: true },
    verify: {
      algorithms,
      requiredClaims: ['sub', 'exp'],
      ...(config.PRIMARY_JWT_ISSUER === undefined ? {} : { allowedIss: config.PRIMARY_JWT_ISSUER }),
      ...(config.PRIMARY_JWT_AUDIENCE === undefined ? {} : { allowedAud: config.PRIMARY_JWT_AUDIENCE }),
      extractToken: extractBearer,
    },
  })

  async function verifyPrimary (req: FastifyRequest): Promise<Principal> {
    let payload: Record<string, unknown>
    try {
      payload = await req.jwtVerify<Record<string, unknown>>({ clockTimestamp: clock.now().getTime() })
    } catch (err) {
      // The IdP's JWKS being away is our outage (503), not the client's fault.
      if (BusError.is(err) && err.code === 'UNAVAILABLE') throw err
      throw fail('UNAUTHENTICATED', 'a valid primary token is required (Authorization: Bearer)')
    }
    // Token types do not stand in for each other: an MFA (or any other) token is not a primary token.
    if (payload.token_use !== undefined && payload.token_use !== 'primary') throw fail('UNAUTHENTICATED', 'this is not a primary token')
    if (typeof payload.exp !== 'number') throw fail('UNAUTHENTICATED', 'the token has no expiry')
    const sub = payload.sub
    if (typeof sub !== 'string' || !SUB.test(sub)) throw fail('UNAUTHENTICATED', 'the token subject is not usable')
    const azp = typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : undefined
    const clientId = azp !== undefined && CLIENT_ID.test(azp) ? azp : 'default'
    const display = [payload.preferred_username, payload.name, payload.email, sub]
      .find((v): v is string => typeof v === 'string' && v.trim() !== '') as string
    const accountName = display.replace(/[\x00-\x1F\x7F]/g, '').slice(0, 100) || sub.slice(0, 100)
    const authTime = typeof payload.auth_time === 'number' && Number.isInteger(payload.auth_time) ? payload.auth_time : undefined
    const role = typeof payload.role === 'string' ? payload.role : undefined
    return {
      sub, clientId, accountName,
      ...(authTime === undefined ? {} : { authTime }),
      ...(role === undefined ? {} : { role }),
    }
  }

  const demoKey = hsSecret === undefined ? undefined : new TextEncoder().encode(hsSecret)
  async function signDemoPrimary (claims: { sub: string, clientId: string, role?: string }): Promise<string> {
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

  // ---- MFA and enrollment tokens ----------------------------------------------------------
  const keys = await mfaSigningKeys(app, config, clock, log)

  /**
   * `issuedAt` is now unless the caller names the moment of the facts the token rests on (an
   * enrollment token is only as current as the "no factor" it was issued on). `iat_ms` carries it
   * in milliseconds for revocation (revocation.ts), `iat` in seconds as RFC 7519 has it.
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
        sub: payload.sub, aud, amr, acr: payload.acr, authTime: payload.auth_time, iat: payload.iat, exp: payload.exp,
        issuedAtMs: issuedAtMs(payload.iat, payload.iat_ms),
        ...(typeof payload.action === 'string' ? { action: payload.action } : {}),
        ...(payload.remembered === true ? { remembered: true as const } : {}),
      }
    } catch {
      return undefined
    }
  }

  app.decorate('tokens', {
    verifyPrimary,
    signDemoPrimary,
    signMfa: (claims, opts = {}) => sign('mfa', claims, Math.min(config.MFA_TOKEN_TTL_SEC, opts.maxTtlSec ?? Infinity)),
    verifyMfa: (token) => verify(token, 'mfa'),
    signEnrollment: (claims, opts = {}) => sign('enrollment', { ...claims, acr: 'aal1' }, config.STEP_UP_MAX_AGE_SEC, opts.issuedAt),
    verifyEnrollment: (token) => verify(token, 'enrollment'),
    jwks: () => keys.jwks(),
  } satisfies Tokens)
}

/**
 * Where MFA keys come from: MFA_SIGNING_KEY_PEM (the operator rotates, with
 * MFA_PREVIOUS_PUBLIC_KEYS_PEM); else, with SECRET_KEYS, a ring in the gateway's KV bucket that
 * rotates itself every MFA_KEY_ROTATION_DAYS and is shared by all replicas; else a key for this
 * process only (demo and tests: tokens die with the process).
 */
async function mfaSigningKeys (app: FastifyInstance, config: GatewayConfig, clock: Clock, log: Log): Promise<MfaSigningKeys> {
  if (config.MFA_SIGNING_KEY_PEM !== undefined || config.SECRET_KEYS === undefined) {
    if (config.MFA_SIGNING_KEY_PEM === undefined) {
      log.warn({}, 'neither MFA_SIGNING_KEY_PEM nor SECRET_KEYS is set: generated an ES256 key; MFA tokens will not verify after a restart or across replicas')
    }
    return staticMfaKeys(config.MFA_SIGNING_KEY_PEM, config.MFA_PREVIOUS_PUBLIC_KEYS_PEM)
  }
  return managedMfaKeys({
    store: withDeadlines(await createKvStoreFactory(app.nats).open<StoredMfaKeyRing>(MFA_KEYS_BUCKET), config.STORE_TIMEOUT_MS, 'the MFA key store'),
    secrets: parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID),
    clock,
    log,
    rotationMs: config.MFA_KEY_ROTATION_DAYS * 86_400_000,
    // Tokens signed just before a rotation live MFA_TOKEN_TTL_SEC more; verifiers cache JWKS for
    // minutes (jose: 10 min by default): an hour on top covers both.
    retireAfterMs: (Math.max(config.MFA_TOKEN_TTL_SEC, config.STEP_UP_MAX_AGE_SEC) + 3600) * 1000,
  })
}

export const MFA_KEYS_BUCKET = 'gateway_keys'

export default fp(tokensPlugin, { name: 'tokens', dependencies: ['nats'] })
