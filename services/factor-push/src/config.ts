import { AttemptLimitsConfig, FactorServiceConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'

// Defaults from shared/SECURITY.md §2: push 120 s, pairing code 10 min; one open push, at most 3
// per 10 min, 2 denials in 1 h pause push for 1 h ("not me" counts double); wrong numbers count
// like wrong codes (10 in 15 min lock 15 min).
export const PushConfig = Type.Object({
  ...FactorServiceConfig,
  // Wrong numbers: PUSH_MAX_FAILURES, PUSH_FAILURE_WINDOW_SEC, PUSH_LOCK_SEC, PUSH_SUSPEND_AFTER, PUSH_FREE_FAILURES.
  ...AttemptLimitsConfig('PUSH'),
  SECRET_KEYS: Type.String({ minLength: 46, description: 'Key ring for device data at rest (FCM tokens): kid:base64(32 bytes)[,kid2:...]' }),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id that seals new data; the first of SECRET_KEYS by default' })),
  PUSH_CHALLENGE_TTL_SEC: Type.Integer({ minimum: 30, maximum: 600, default: 120, description: 'Life of a push challenge (N §3.1.3.2: ≤10 min)' }),
  PUSH_CHALLENGE_RETAIN_SEC: Type.Integer({ minimum: 10, maximum: 3600, default: 600, description: 'How long an ended challenge can still be read by the status long-poll' }),
  PUSH_PAIRING_TTL_SEC: Type.Integer({ minimum: 60, maximum: 600, default: 600, description: 'Life of a pairing code (N §4.1.2.2: ≤10 min)' }),
  PUSH_MAX_DEVICES: Type.Integer({ minimum: 1, maximum: 50, default: 10, description: 'Paired devices per user' }),
  PUSH_MAX_TOKEN_SKEW_SEC: Type.Integer({ minimum: 5, maximum: 300, default: 60, description: 'How far a device request\'s iat may be from the server clock' }),
  PUSH_MAX_PER_WINDOW: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'Pushes per user within PUSH_WINDOW_SEC' }),
  PUSH_WINDOW_SEC: Type.Integer({ minimum: 60, default: 600 }),
  PUSH_DENIALS_TO_PAUSE: Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'Weighted denials within PUSH_DENIAL_WINDOW_SEC that pause push' }),
  PUSH_DENIAL_WINDOW_SEC: Type.Integer({ minimum: 60, default: 3600 }),
  PUSH_PAUSE_SEC: Type.Integer({ minimum: 60, default: 3600, description: 'How long push stays paused after the denials' }),
  PUSH_NOT_ME_WEIGHT: Type.Integer({ minimum: 1, maximum: 10, default: 2, description: 'What a "this wasn\'t me" denial counts' }),
  PUSH_POLL_INTERVAL_MS: Type.Integer({ minimum: 20, maximum: 5000, default: 250, description: 'How often the status long-poll looks at the challenge' }),
  FCM_SERVICE_ACCOUNT_JSON: Type.Optional(Type.String({
    minLength: 2, description: 'A Google service account key (JSON) for FCM. Unset: no FCM; the apps poll',
  })),
  FCM_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 5, default: 2, description: 'Retries of UNAVAILABLE/INTERNAL within the challenge TTL' }),
  FCM_RETRY_DELAY_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 250, description: 'First retry delay; doubles each retry' }),
})
export type PushConfig = Type.Static<typeof PushConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadPushConfig (env: Record<string, string | undefined> = process.env): Readonly<PushConfig> {
  return loadConfig(PushConfig, env)
}
