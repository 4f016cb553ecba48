import type { Agent } from 'node:http'
import {
  answerPush, createPairing, describePush, listDevices, notifyPush, pendingChallenges, pushStatus, registerDevice, renameDevice, startPush, unpairDevice,
} from '@warden/contracts'
import {
  attemptLimitsFrom, createRedisOutcomeLedger, handle, parseKeyRing, runFactorService,
  type FactorServiceOverrides, type RunningFactorService,
} from '@warden/service-kit'
import type { FcmPushSender } from './adapters/fcm-push-sender.js'
import { createJoseDeviceTokens } from './adapters/jose-device-tokens.js'
import { createKeyRingTokenCipher } from './adapters/key-ring-token-cipher.js'
import { createCryptoRandomness } from './adapters/random.js'
import { createRedisChallengeStore } from './adapters/redis-challenge-store.js'
import { createRedisFatigueBreaker } from './adapters/redis-fatigue-breaker.js'
import { createRedisPairingCodes } from './adapters/redis-pairing-codes.js'
import { createRedisReplayLedger } from './adapters/redis-replay-ledger.js'
import { createStoreDeviceStore, PUSH_BUCKET, type PushRecord } from './adapters/store-device-store.js'
import { PushConfig } from './config.js'
import { createPushService } from './service.js'

export { loadPushConfig, PushConfig } from './config.js'

export interface PushServiceOverrides extends FactorServiceOverrides {
  /**
   * FCM without a service account: a credential and an HTTPS agent (tests pass testkit's fake FCM).
   * Otherwise FCM_SERVICE_ACCOUNT_JSON decides; without it there is no FCM and the apps poll.
   */
  readonly fcm?: { credential: { getAccessToken: () => Promise<{ access_token: string, expires_in: number }> }, projectId: string, httpAgent?: Agent }
}

/**
 * Starts factor-push in this process on the factor skeleton (runFactorService): its bucket
 * `factor_push`, its Redis keys under `push:`, FCM when configured. main.ts runs it; tests and the
 * gateway's end-to-end tests call it with a moved clock and the fake FCM.
 */
export async function startPushService (config: Readonly<PushConfig>, overrides: PushServiceOverrides = {}): Promise<RunningFactorService> {
  // Before any connection: a bad key ring or service account is a configuration error, not an outage.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  // firebase-admin (~15 MiB of RSS) is loaded only when FCM is configured: without it the apps poll.
  const fcmAdapter = overrides.fcm === undefined && config.FCM_SERVICE_ACCOUNT_JSON === undefined
    ? undefined
    : await import('./adapters/fcm-push-sender.js')
  const fcm = overrides.fcm ?? (config.FCM_SERVICE_ACCOUNT_JSON === undefined ? undefined : fcmAdapter?.fcmCredential(config.FCM_SERVICE_ACCOUNT_JSON))
  let sender: FcmPushSender | undefined
  const running = await runFactorService({
    factor: 'push',
    description: 'Warden push factor: approvals in the authenticator app, with number matching',
    configSchema: PushConfig,
    build: async (ctx) => {
      const { redis, clock } = ctx
      if (fcm !== undefined && fcmAdapter !== undefined) {
        sender = fcmAdapter.createFcmPushSender({
          ...fcm, maxRetries: config.FCM_MAX_RETRIES, retryDelayMs: config.FCM_RETRY_DELAY_MS, clock, log: ctx.log,
        })
      }
      const push = createPushService({
        devices: createStoreDeviceStore(await ctx.stores.open<PushRecord>(PUSH_BUCKET)),
        pairing: createRedisPairingCodes(redis, { prefix: 'push' }),
        challenges: createRedisChallengeStore(redis, { prefix: 'push', clock }),
        fatigue: createRedisFatigueBreaker(redis, {
          prefix: 'push',
          clock,
          limits: {
            maxPerWindow: config.PUSH_MAX_PER_WINDOW,
            windowMs: config.PUSH_WINDOW_SEC * 1000,
            denialsToPause: config.PUSH_DENIALS_TO_PAUSE,
            denialWindowMs: config.PUSH_DENIAL_WINDOW_SEC * 1000,
            pauseMs: config.PUSH_PAUSE_SEC * 1000,
          },
        }),
        gate: ctx.attemptGate({ counter: 'push', limits: attemptLimitsFrom(config, 'PUSH'), announceLocks: true, suspendedHint: 'pair the authenticator app again' }),
        replay: createRedisReplayLedger(redis, { prefix: 'push' }),
        tokens: createJoseDeviceTokens({ clock }),
        ...(sender === undefined ? {} : { sender }),
        cipher: createKeyRingTokenCipher(keyRing),
        random: createCryptoRandomness(),
        notices: createRedisOutcomeLedger(redis, { prefix: 'push-notice', ttlMs: 24 * 3600_000 }),
        events: ctx.events,
        clock,
        pause: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
        settings: {
          challengeTtlMs: config.PUSH_CHALLENGE_TTL_SEC * 1000,
          challengeRetainMs: config.PUSH_CHALLENGE_RETAIN_SEC * 1000,
          pairingTtlMs: config.PUSH_PAIRING_TTL_SEC * 1000,
          maxDevices: config.PUSH_MAX_DEVICES,
          maxTokenSkewMs: config.PUSH_MAX_TOKEN_SKEW_SEC * 1000,
          notMeWeight: config.PUSH_NOT_ME_WEIGHT,
          pollIntervalMs: config.PUSH_POLL_INTERVAL_MS,
        },
      })
      return {
        endpoints: [
          handle(describePush, (req) => push.describe(req)),
          handle(startPush, (req) => push.start(req)),
          handle(pushStatus, (req) => push.status(req)),
          handle(createPairing, (req) => push.createPairing(req)),
          handle(listDevices, (req) => push.listDevices(req)),
          handle(renameDevice, (req) => push.renameDevice(req)),
          handle(unpairDevice, (req) => push.removeDevice(req)),
          handle(registerDevice, (req) => push.registerDevice(req)),
          handle(pendingChallenges, (req) => push.deviceChallenges(req)),
          handle(answerPush, (req) => push.answer(req)),
          handle(notifyPush, (req) => push.notify(req)),
        ],
        reset: (userId) => push.reset(userId),
      }
    },
  }, config, overrides)
  let stopping: Promise<void> | undefined
  return {
    opsPort: running.opsPort,
    stop: async () => {
      stopping ??= (async () => { await running.stop(); await sender?.close() })()
      return stopping
    },
  }
}
