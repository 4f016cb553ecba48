import { AttemptLimitsConfig, FactorServiceConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'

export const TotpConfig = Type.Object({
  ...FactorServiceConfig,
  TOTP_ISSUER: Type.String({
    default: 'Warden', minLength: 1, maxLength: 64, pattern: '^[^:]+$',
    description: 'Issuer shown in the authenticator app (otpauth forbids a colon in it)',
  }),
  SECRET_KEYS: Type.String({
    minLength: 46, description: 'Key ring for seeds at rest: kid:base64(32 bytes)[,kid2:...]',
  }),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id that encrypts new seeds; the first of SECRET_KEYS by default',
  })),
  TOTP_ENROLLMENT_TTL_SEC: Type.Integer({ minimum: 60, maximum: 3600, default: 600, description: 'Life of a pending enrollment' }),
  ...AttemptLimitsConfig('TOTP'),
})
export type TotpConfig = Type.Static<typeof TotpConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadTotpConfig (env: Record<string, string | undefined> = process.env): Readonly<TotpConfig> {
  return loadConfig(TotpConfig, env)
}
