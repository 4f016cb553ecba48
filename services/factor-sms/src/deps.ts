import {
  attemptLimitsFrom, createRedisOutcomeLedger, parseKeyRing,
  type AttemptGateOptions, type AttemptGate, type Clock, type Log,
} from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { Redis } from 'ioredis'
import { createCryptoRandomness } from './adapters/crypto-randomness.js'
import { createHmacDigests, parseHmacKey } from './adapters/hmac-digests.js'
import { createKeyRingPhoneCipher } from './adapters/key-ring-phone-cipher.js'
import { createLibphonenumberPhoneNumbers } from './adapters/libphonenumber-phone-numbers.js'
import { createRedisChallengeStore } from './adapters/redis-challenge-store.js'
import { createRedisConversionBreaker } from './adapters/redis-conversion-breaker.js'
import { createRedisSendBudget } from './adapters/redis-send-budget.js'
import { createStorePhoneStore, type SmsRecord } from './adapters/store-phone-store.js'
import { createVonageSmsClient, createVonageSmsSender } from './adapters/vonage-sms-sender.js'
import { allowedRegions, type SmsConfig } from './config.js'
import type { EventSink, Metrics, SmsServiceDeps } from './ports.js'

const PREFIX = 'sms'

/**
 * Every adapter of the SMS service, from config and the clients made once at start-up. Throws on
 * a bad key ring or HMAC key before anything is served.
 */
export function buildSmsDeps (opts: {
  config: Readonly<SmsConfig>
  redis: Redis
  store: Store<SmsRecord>
  events: EventSink
  /** The kit's attempt gate on a Redis counter (FactorContext.attemptGate). */
  attemptGate: (opts: AttemptGateOptions) => AttemptGate
  metrics: Pick<Metrics, 'inc'>
  log: Pick<Log, 'warn' | 'error'>
  clock: Clock
  /** Waits between provider retries (tests move their clock instead). */
  sleep?: (ms: number) => Promise<void>
}): SmsServiceDeps {
  const { config, redis, clock } = opts
  const limits = attemptLimitsFrom(config, 'SMS')
  const random = createCryptoRandomness()
  const codeTtlMs = config.SMS_CODE_TTL_SEC * 1000
  const sms = createVonageSmsClient({
    apiKey: config.VONAGE_API_KEY, apiSecret: config.VONAGE_API_SECRET, restHost: config.VONAGE_REST_HOST, timeout: config.VONAGE_TIMEOUT_MS,
  })
  return {
    phones: createStorePhoneStore(opts.store),
    numbers: createLibphonenumberPhoneNumbers(),
    cipher: createKeyRingPhoneCipher(parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)),
    digests: createHmacDigests(parseHmacKey(config.SMS_HMAC_KEY)),
    // Kept long enough for every resend of a challenge, so the send count cannot be reset by waiting.
    challenges: createRedisChallengeStore(redis, { prefix: PREFIX, keepMs: codeTtlMs * (config.SMS_MAX_SENDS_PER_CHALLENGE + 1) }),
    budget: createRedisSendBudget(redis, {
      prefix: PREFIX,
      limits: {
        accountPerDay: config.SMS_ACCOUNT_MAX_PER_DAY,
        numberPerHour: config.SMS_PHONE_MAX_PER_HOUR,
        ipPerHour: config.SMS_IP_MAX_PER_HOUR,
        globalPerHour: config.SMS_GLOBAL_MAX_PER_HOUR,
        globalPauseMs: config.SMS_GLOBAL_PAUSE_SEC * 1000,
      },
    }),
    conversion: createRedisConversionBreaker(redis, {
      prefix: PREFIX,
      limits: {
        windowMs: config.SMS_CONVERSION_WINDOW_SEC * 1000,
        graceMs: config.SMS_CONVERSION_GRACE_SEC * 1000,
        minSent: config.SMS_CONVERSION_MIN_SENT,
        minRatio: config.SMS_CONVERSION_MIN_RATIO,
        pauseMs: config.SMS_CONVERSION_PAUSE_SEC * 1000,
      },
    }),
    sender: createVonageSmsSender({
      sms,
      from: config.VONAGE_FROM,
      retries: config.SMS_PROVIDER_RETRIES,
      backoffMs: config.SMS_PROVIDER_BACKOFF_MS,
      clock,
      log: opts.log,
      ...(opts.sleep === undefined ? {} : { sleep: opts.sleep }),
    }),
    gate: opts.attemptGate({ counter: PREFIX, limits, announceLocks: true, suspendedHint: 'add your phone again' }),
    // Codes typed to verify a new phone never lock sign-in.
    confirmGate: opts.attemptGate({ counter: `${PREFIX}-confirm`, limits, announceLocks: false }),
    deliveries: createRedisOutcomeLedger(redis, { prefix: `${PREFIX}-delivery`, ttlMs: codeTtlMs }),
    startOutcomes: createRedisOutcomeLedger(redis, { prefix: `${PREFIX}-start` }),
    addOutcomes: createRedisOutcomeLedger(redis, { prefix: `${PREFIX}-add` }),
    verifyOutcomes: createRedisOutcomeLedger(redis, { prefix: PREFIX }),
    confirmOutcomes: createRedisOutcomeLedger(redis, { prefix: `${PREFIX}-confirm` }),
    noticeOutcomes: createRedisOutcomeLedger(redis, { prefix: `${PREFIX}-notice`, ttlMs: 24 * 3600_000 }),
    random,
    clock,
    events: opts.events,
    metrics: opts.metrics,
    settings: {
      appName: config.SMS_APP_NAME,
      originHost: config.SMS_ORIGIN_HOST,
      defaultLocale: config.SMS_DEFAULT_LOCALE,
      codeTtlMs,
      maxTries: config.SMS_CODE_MAX_TRIES,
      resendCooldownMs: config.SMS_RESEND_COOLDOWN_SEC * 1000,
      maxSends: config.SMS_MAX_SENDS_PER_CHALLENGE,
      maxPhones: config.SMS_MAX_PHONES,
      phoneVerifyTtlMs: config.SMS_PHONE_VERIFY_TTL_SEC * 1000,
      allowedRegions: allowedRegions(config),
    },
  }
}
