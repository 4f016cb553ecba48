import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { GatewayJwksResponse } from '@warden/contracts'
import { parseKeyRing, withDeadlines, type Clock, type Log } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { createTokenRevocations } from '../adapters/authorize-store.js'
import { managedMfaKeys, staticMfaKeys, type MfaSigningKeys, type StoredMfaKeyRing } from '../adapters/mfa-keys.js'
import type { GatewayConfig } from '../config.js'
import { createDemoIdp } from '../tokens/demo-idp.js'
import { createMfaTokens, type MfaTokens } from '../tokens/mfa.js'
import { registerPrimaryTokens, type PrimaryTokens } from '../tokens/primary.js'

/**
 * Tokens at the edge (SECURITY §1.12), wired here from src/tokens/:
 * - primary tokens (from the upstream IdP, or the demo IdP) are verified by @fastify/jwt with an
 *   explicit algorithm allow-list that must fit the key type (a secret allows only HS*, a public key
 *   only its own family), so `alg: none` and HS/RS confusion are refused;
 * - MFA tokens are ES256, signed here with the current key of a ring, with a `kid` served at
 *   /.well-known/jwks.json (current and previous keys);
 * - a `token_use` claim keeps the types apart: `primary` (or none, from an external IdP), `mfa`
 *   and `enrollment` never stand in for each other; remember-device tokens are opaque, not JWTs.
 */

export type { Amr } from '@warden/contracts'
export type { Acr, MfaClaims, VerifiedMfa } from '../tokens/mfa.js'
export type { Principal } from '../tokens/primary.js'

/** The public MFA keys, in the contract's shape (the same set is served over HTTP and on the bus). */
export type Jwks = GatewayJwksResponse

export interface Tokens extends Pick<PrimaryTokens, 'verifyPrimary'>, MfaTokens {
  /** Demo IdP only: an HS256 primary token for 1 h. */
  signDemoPrimary: (claims: { sub: string, clientId: string, role?: string }) => Promise<string>
}

declare module 'fastify' {
  interface FastifyInstance { tokens: Tokens }
}

export interface TokensOptions { config: GatewayConfig, clock: Clock }

async function tokensPlugin (app: FastifyInstance, { config, clock }: TokensOptions): Promise<void> {
  const log = app.log as Log
  const { verifyPrimary, hsSecret } = await registerPrimaryTokens(app, config, clock, log)
  const revocations = createTokenRevocations(app.redis)
  const mfa = createMfaTokens({ keys: await mfaSigningKeys(app, config, clock, log), config, clock, isRevoked: revocations.isRevoked })
  app.decorate('tokens', {
    verifyPrimary,
    signDemoPrimary: createDemoIdp({ hsSecret, config, clock }),
    ...mfa,
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

export default fp(tokensPlugin, { name: 'tokens', dependencies: ['nats', 'redis'] })
