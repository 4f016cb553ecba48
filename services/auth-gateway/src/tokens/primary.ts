import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import fastifyJwt, { type FastifyJWTOptions, type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BusError } from '@warden/contracts'
import { systemClock, type Clock, type Log } from '@warden/service-kit'
import { createJwksResolver } from '../adapters/upstream-jwks.js'
import { PRIMARY_ALGORITHMS, type GatewayConfig, type PrimaryAlgorithm } from '../config.js'
import { fail } from '../errors.js'

/**
 * Primary tokens (the password step, from the upstream IdP or the demo IdP), verified by
 * @fastify/jwt with an explicit algorithm allow-list that must fit the key type (a secret allows
 * only HS*, a public key only its own family), so `alg: none` and HS/RS confusion are refused. A
 * `token_use` other than `primary` (an MFA or enrollment token) is refused too.
 */

export interface Principal {
  /** `sub` of the primary token. */
  readonly sub: string
  /** `azp` (or `client_id`) of the primary token; 'default' when it names none. */
  readonly clientId: string
  /** `auth_time` (seconds) when the token carries one. */
  readonly authTime?: number
  /** `iat` (seconds) when the token carries one: the latest the password can have been entered when there is no auth_time. */
  readonly issuedAt?: number
  /** What the authenticator app shows: preferred_username, name, email or sub (≤100 characters). */
  readonly accountName: string
  readonly role?: string
}

export const HS = ['HS256', 'HS384', 'HS512'] as const
/** A compact JWS, by its shape only. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/
export const MAX_TOKEN_LENGTH = 8192
const SUB = /^[\x21-\x7E]{1,200}$/
const CLIENT_ID = /^[\x21-\x7E]{1,200}$/

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

export interface PrimaryTokens {
  /** Verifies the request's primary token (Authorization: Bearer). Throws UNAUTHENTICATED. */
  verifyPrimary: (req: FastifyRequest) => Promise<Principal>
  /** The HS256 secret, when primary tokens are HS256 (configured, or generated in demo mode): the demo IdP signs with it. */
  hsSecret: string | undefined
}

/** Registers @fastify/jwt on `app` for the configured key source; the verifier and the HS256 secret, if any. */
export async function registerPrimaryTokens (app: FastifyInstance, config: GatewayConfig, clock: Clock, log: Log): Promise<PrimaryTokens> {
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

  // Options given per call make @fastify/jwt build a new fast-jwt verifier (and import the key
  // again) on every request: ~4% of the gateway's CPU under sign-in load (bench/FIXES.md). On the
  // system clock, which is what fast-jwt reads by itself, its one cached verifier decides the
  // same; an injected clock (tests) is passed per call.
  const verifyOptions = clock === systemClock ? undefined : () => ({ clockTimestamp: clock.now().getTime() })

  async function verifyPrimary (req: FastifyRequest): Promise<Principal> {
    let payload: Record<string, unknown>
    try {
      payload = verifyOptions === undefined
        ? await req.jwtVerify<Record<string, unknown>>()
        : await req.jwtVerify<Record<string, unknown>>(verifyOptions())
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
    const issuedAt = typeof payload.iat === 'number' && Number.isInteger(payload.iat) ? payload.iat : undefined
    return {
      sub, clientId, accountName,
      ...(authTime === undefined ? {} : { authTime }),
      ...(issuedAt === undefined ? {} : { issuedAt }),
      ...(role === undefined ? {} : { role }),
    }
  }

  return { verifyPrimary, hsSecret }
}
