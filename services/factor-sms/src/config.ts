import { AttemptLimitsConfig, FactorServiceConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'

/**
 * The SMS factor's settings. Defaults are SECURITY.md §2's (the "SMS sending budget", "OOB
 * validity" and "Phones per account" rows); the breaker defaults are ours and documented here.
 */
export const SmsConfig = Type.Object({
  ...FactorServiceConfig,
  ...AttemptLimitsConfig('SMS'),
  SECRET_KEYS: Type.String({
    minLength: 46, description: 'Key ring for phone numbers at rest: kid:base64(32 bytes)[,kid2:...]',
  }),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id that encrypts new numbers; the first of SECRET_KEYS by default',
  })),
  SMS_HMAC_KEY: Type.String({
    minLength: 44, pattern: '^[A-Za-z0-9+/=_-]+$',
    description: 'base64, at least 32 bytes: keys the HMACs of codes (in Redis) and of numbers (lookups, budgets). Rotating it voids live codes and per-number budgets',
  }),

  VONAGE_API_KEY: Type.String({ minLength: 1, maxLength: 64 }),
  VONAGE_API_SECRET: Type.String({ minLength: 1, maxLength: 128 }),
  VONAGE_REST_HOST: Type.String({ default: 'https://rest.nexmo.com', pattern: '^https?://[^/]+$', description: 'Vonage REST host (the fake in demo mode and tests)' }),
  VONAGE_FROM: Type.String({ default: 'Warden', minLength: 1, maxLength: 15, description: 'Sender id: up to 11 letters or a number' }),
  VONAGE_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 30_000, default: 5_000 }),
  SMS_PROVIDER_RETRIES: Type.Integer({ minimum: 0, maximum: 2, default: 2, description: 'Retries of statuses 1 (throttled) and 5 (internal error), within the code TTL' }),
  SMS_PROVIDER_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 10_000, default: 500, description: 'First retry wait; doubled for the next' }),

  SMS_APP_NAME: Type.String({ default: 'Warden', minLength: 1, maxLength: 30, description: 'Named in the SMS text' }),
  SMS_ORIGIN_HOST: Type.String({
    default: 'localhost', pattern: '^[a-z0-9.-]{1,253}$',
    description: 'Host of the sign-in page, for the origin-bound last line (@host #code) that WebOTP autofills',
  }),
  SMS_DEFAULT_LOCALE: Type.String({ default: 'en', pattern: '^[a-z]{2}$' }),

  SMS_CODE_TTL_SEC: Type.Integer({ minimum: 60, maximum: 600, default: 300, description: 'Life of a code (NIST: at most 10 min)' }),
  SMS_CODE_MAX_TRIES: Type.Integer({ minimum: 1, maximum: 10, default: 5, description: 'Wrong tries that burn a code' }),
  SMS_RESEND_COOLDOWN_SEC: Type.Integer({ minimum: 0, maximum: 600, default: 30 }),
  SMS_MAX_SENDS_PER_CHALLENGE: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  SMS_MAX_PHONES: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  SMS_PHONE_VERIFY_TTL_SEC: Type.Integer({ minimum: 60, maximum: 3600, default: 900, description: 'How long an added phone waits for its code before its slot is freed' }),

  SMS_ACCOUNT_MAX_PER_DAY: Type.Integer({ minimum: 1, default: 10, description: 'SMS per account per 24 h, shared by all its phones' }),
  SMS_PHONE_MAX_PER_HOUR: Type.Integer({ minimum: 1, default: 5, description: 'SMS per phone number per hour, across accounts' }),
  SMS_IP_MAX_PER_HOUR: Type.Integer({ minimum: 1, default: 20, description: 'SMS per source IP per hour' }),
  SMS_ALLOWED_COUNTRIES: Type.String({
    default: 'NO,SE,DK,FI,IS,NL,BE,LU,DE,AT,CH,FR,GB,IE,ES,PT,IT,PL,EE,LV,LT,CZ,US,CA',
    pattern: '^(\\*|[A-Z]{2}(,[A-Z]{2})*)$',
    description: 'ISO 3166 regions numbers may be in (comma-separated), or * for all',
  }),
  SMS_GLOBAL_MAX_PER_HOUR: Type.Integer({ minimum: 1, default: 1000, description: 'All SMS per hour; beyond it the global breaker opens' }),
  SMS_GLOBAL_PAUSE_SEC: Type.Integer({ minimum: 60, default: 900, description: 'How long the open global breaker pauses SMS' }),
  SMS_CONVERSION_MIN_SENT: Type.Integer({ minimum: 1, default: 50, description: 'Codes sent to a calling code in the window before its conversion is judged' }),
  SMS_CONVERSION_MIN_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 0.3, description: 'Verified share below which a calling code stops receiving SMS' }),
  SMS_CONVERSION_WINDOW_SEC: Type.Integer({ minimum: 300, default: 3600 }),
  SMS_CONVERSION_GRACE_SEC: Type.Integer({
    minimum: 0, default: 120,
    description: 'Codes younger than this are not judged yet: a burst of honest sends is not a low conversion because nobody has typed the code so far',
  }),
  SMS_CONVERSION_PAUSE_SEC: Type.Integer({ minimum: 60, default: 3600, description: 'How long an open conversion breaker stops SMS to its calling code' }),
})
export type SmsConfig = Type.Static<typeof SmsConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadSmsConfig (env: Record<string, string | undefined> = process.env): Readonly<SmsConfig> {
  return loadConfig(SmsConfig, env)
}

/** The allow-list as a set of regions, or undefined for "every region". */
export function allowedRegions (config: Pick<SmsConfig, 'SMS_ALLOWED_COUNTRIES'>): ReadonlySet<string> | undefined {
  return config.SMS_ALLOWED_COUNTRIES === '*' ? undefined : new Set(config.SMS_ALLOWED_COUNTRIES.split(','))
}
