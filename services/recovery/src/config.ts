import { AttemptLimitsConfig, FactorServiceConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'

export const RecoveryConfig = Type.Object({
  ...FactorServiceConfig,
  // 10 wrong codes in 15 min lock code recovery for 15 min; 100 in a row turn it off until support acts.
  ...AttemptLimitsConfig('RECOVERY'),
  SECRET_KEYS: Type.String({
    minLength: 46, description: 'Key ring that seals a just-shown code for the retry window: kid:base64(32 bytes)[,kid2:...]',
  }),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id that seals new codes; the first of SECRET_KEYS by default',
  })),
  // OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1 (SECURITY.md §2: Argon2id, 128-bit salt).
  RECOVERY_ARGON2_MEMORY_KIB: Type.Integer({ minimum: 8_192, maximum: 1_048_576, default: 19_456, description: 'Argon2id memory per hash (KiB)' }),
  RECOVERY_ARGON2_TIME_COST: Type.Integer({ minimum: 1, maximum: 10, default: 2, description: 'Argon2id passes' }),
  RECOVERY_ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 8, default: 1, description: 'Argon2id lanes' }),
  RECOVERY_RETRY_WINDOW_SEC: Type.Integer({
    minimum: 30, maximum: 600, default: 300,
    description: 'How long a retry after a lost reply gets the same answer, and the same new code (kept sealed until then)',
  }),
  SUPPORT_CODE_TTL_SEC: Type.Integer({ minimum: 60, maximum: 86_400, default: 3_600, description: 'Life of a support code when the admin does not say' }),
  SUPPORT_CODE_MAX_TTL_SEC: Type.Integer({ minimum: 60, maximum: 86_400, default: 86_400, description: 'The longest life an admin may give a support code (at most 24 h)' }),
})
export type RecoveryConfig = Type.Static<typeof RecoveryConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadRecoveryConfig (env: Record<string, string | undefined> = process.env): Readonly<RecoveryConfig> {
  const config = loadConfig(RecoveryConfig, env)
  if (config.SUPPORT_CODE_TTL_SEC > config.SUPPORT_CODE_MAX_TTL_SEC) {
    throw new Error('invalid configuration: SUPPORT_CODE_TTL_SEC: must not exceed SUPPORT_CODE_MAX_TTL_SEC')
  }
  return config
}
