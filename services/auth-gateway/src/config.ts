import { BaseConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'

/** Algorithms a primary token may use. `none` is not in the list, so it can never be configured. */
export const PRIMARY_ALGORITHMS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const
export type PrimaryAlgorithm = typeof PRIMARY_ALGORITHMS[number]

const Seconds = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })

export const GatewayConfig = Type.Object({
  ...BaseConfig,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port of the gateway (also serves /healthz, /readyz, /metrics)' }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface the gateway listens on' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 500, description: 'External base URL, shown as the server in the OpenAPI document' })),
  DEMO_MODE: Type.Boolean({ default: false, description: 'Serves POST /v1/demo/login (demo IdP). Never in production.' }),

  // Exactly one source of primary-token keys (demo mode may generate an HS256 secret instead).
  PRIMARY_JWT_HS256_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'Shared secret of the upstream IdP (HS256/384/512), at least 32 characters' })),
  PRIMARY_JWT_PUBLIC_KEY_PEM: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----', description: 'SPKI PEM public key of the upstream IdP (RSA, EC or Ed25519)' })),
  PRIMARY_JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000, description: 'JWKS endpoint of the upstream IdP' })),
  PRIMARY_JWT_ALGORITHMS: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$',
    description: 'Comma-separated allow-list; must fit the key type. Default: HS256 for a secret, the key\'s own algorithm for a PEM key, RS256,ES256 for JWKS',
  })),
  PRIMARY_JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Required `iss` of primary tokens (the demo IdP uses it too)' })),
  PRIMARY_JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Required `aud` of primary tokens (the demo IdP uses it too)' })),

  MFA_SIGNING_KEY_PEM: Type.Optional(Type.String({ pattern: '-----BEGIN PRIVATE KEY-----', description: 'ES256 (P-256) PKCS#8 private key for MFA tokens. Generated at start when absent: replicas would not share it' })),
  MFA_PREVIOUS_PUBLIC_KEYS_PEM: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----', description: 'Key rotation: SPKI PEM public key(s) of the previous MFA signing key(s), concatenated. They still verify and stay in the JWKS; drop them once MFA_TOKEN_TTL_SEC plus the JWKS cache time (300 s) have passed' })),
  SECRET_KEYS: Type.Optional(Type.String({ minLength: 46, description: 'Key ring (kid:base64(32 bytes)[,kid2:...]) that seals the managed MFA signing keys in the KV bucket: with it and without MFA_SIGNING_KEY_PEM, the gateway rotates its own key every MFA_KEY_ROTATION_DAYS, shared by all replicas' })),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id of SECRET_KEYS that seals new keys; the first by default' })),
  MFA_KEY_ROTATION_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 365, description: 'Managed MFA keys: how long one key signs before the next takes over (the previous one keeps verifying)' }),
  MFA_ISSUER: Type.String({ default: 'warden', minLength: 1, maxLength: 500, description: '`iss` of MFA tokens' }),
  MFA_TOKEN_TTL_SEC: Seconds(900, 60, 3600, 'Life of an MFA token'),
  STEP_UP_MAX_AGE_SEC: Seconds(600, 60, 3600, 'How recent (auth_time) an MFA token must be to change factors on /v1/me'),
  SIGNIN_TTL_SEC: Seconds(600, 60, 3600, 'Life of a sign-in transaction'),

  REMEMBER_DEVICE_HMAC_KEY: Type.Optional(Type.String({ minLength: 43, description: 'Base64 key (≥32 bytes) for the HMACs of remember-device tokens and of verify-attempt idempotency keys. Generated at start when absent (demo): replicas would not share it' })),
  DEFAULT_POLICY_MODE: Type.Union([Type.Literal('required'), Type.Literal('adaptive'), Type.Literal('off')], { default: 'adaptive', description: 'Policy of applications without their own' }),
  DEFAULT_REMEMBER_DAYS: Type.Integer({ default: 30, minimum: 0, maximum: 30, description: 'How long a remembered device skips 2FA by default (0 = never)' }),

  FACTOR_TIMEOUT_MS: Type.Integer({ default: 3000, minimum: 100, maximum: 30_000, description: 'Deadline of a call to a factor service' }),
  DESCRIBE_TIMEOUT_MS: Type.Integer({ default: 300, minimum: 50, maximum: 10_000, description: 'Deadline of each factor\'s describe when listing methods' }),
  STORE_TIMEOUT_MS: Type.Integer({ default: 500, minimum: 50, maximum: 4_000, description: 'Deadline of each call to the gateway\'s KV buckets (policies, token revocations, managed MFA keys) and of each event publish, on the request path: past it the answer is 503' }),

  // Gateway rate limits (in Redis, fixed one-minute windows), on top of the factors' own attempt counters.
  RATE_LIMIT_IP_PER_MIN: Type.Integer({ default: 300, minimum: 1, maximum: 1_000_000, description: 'Requests per minute per client IP (IPv6 per /64) on every /v1 route, counted before authentication' }),
  RATE_LIMIT_TRANSACTION_PER_MIN: Type.Integer({ default: 10, minimum: 1, maximum: 1_000_000, description: 'POST /v1/signin/{id}/challenge and /verify per minute per sign-in transaction' }),
  RATE_LIMIT_DEMO_LOGIN_PER_MIN: Type.Integer({ default: 20, minimum: 1, maximum: 1_000_000, description: 'POST /v1/demo/login per minute per client IP (DEMO_MODE only)' }),
})
export type GatewayConfig = Type.Static<typeof GatewayConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadGatewayConfig (env: Record<string, string | undefined> = process.env): Readonly<GatewayConfig> {
  const config = loadConfig(GatewayConfig, env)
  const sources = [config.PRIMARY_JWT_HS256_SECRET, config.PRIMARY_JWT_PUBLIC_KEY_PEM, config.PRIMARY_JWT_JWKS_URL].filter((s) => s !== undefined)
  if (sources.length > 1) {
    throw new Error('invalid configuration: set only one of PRIMARY_JWT_HS256_SECRET, PRIMARY_JWT_PUBLIC_KEY_PEM, PRIMARY_JWT_JWKS_URL')
  }
  if (sources.length === 0 && !config.DEMO_MODE) {
    throw new Error('invalid configuration: one of PRIMARY_JWT_HS256_SECRET, PRIMARY_JWT_PUBLIC_KEY_PEM, PRIMARY_JWT_JWKS_URL is required (or DEMO_MODE=true)')
  }
  if (config.DEMO_MODE && sources.length === 1 && config.PRIMARY_JWT_HS256_SECRET === undefined) {
    throw new Error('invalid configuration: DEMO_MODE signs primary tokens with HS256; use PRIMARY_JWT_HS256_SECRET or no key source')
  }
  if (config.PRIMARY_JWT_ALGORITHMS !== undefined) {
    for (const alg of config.PRIMARY_JWT_ALGORITHMS.split(',')) {
      if (!(PRIMARY_ALGORITHMS as readonly string[]).includes(alg)) {
        throw new Error(`invalid configuration: PRIMARY_JWT_ALGORITHMS: ${alg} is not one of ${PRIMARY_ALGORITHMS.join(', ')}`)
      }
    }
  }
  return config
}
