import { acknowledgeRecoveryCode, DESCRIBE_ENDPOINTS, issueRecoveryCode, issueSupportCode, verifyRecovery } from '@warden/contracts'
import {
  attemptLimitsFrom, createRedisOutcomeLedger, handle, parseKeyRing, runFactorService,
  type FactorServiceOverrides, type RunningFactorService,
} from '@warden/service-kit'
import { createArgon2CodeHasher } from './adapters/argon2-code-hasher.js'
import { createKeyRingCodeSealer } from './adapters/key-ring-code-sealer.js'
import { createRandomCodeSource } from './adapters/random-code-source.js'
import { createRandomIds } from './adapters/random-ids.js'
import { createStoreRecoveryStore, RECOVERY_BUCKET } from './adapters/store-recovery-store.js'
import { RecoveryConfig } from './config.js'
import type { RecordedVerify, RecoveryRecord } from './ports.js'
import { createRecoveryService } from './service.js'

export { loadRecoveryConfig, RecoveryConfig } from './config.js'
export { normalizeRecoveryCode } from './code-format.js'

/**
 * Starts the recovery service in this process on the factor skeleton: main.ts runs it; tests and
 * the gateway's end-to-end tests call it with a moved clock.
 */
export async function startRecoveryService (config: Readonly<RecoveryConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  // Before any connection: a bad key ring is a configuration error, not an outage.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  return runFactorService({
    factor: 'recovery',
    description: 'Warden one-time emergency code and support code',
    configSchema: RecoveryConfig,
    build: async (ctx) => {
      const retryWindowMs = ctx.config.RECOVERY_RETRY_WINDOW_SEC * 1000
      const recovery = createRecoveryService({
        store: createStoreRecoveryStore(await ctx.stores.open<RecoveryRecord>(RECOVERY_BUCKET)),
        hasher: createArgon2CodeHasher({
          memoryKib: ctx.config.RECOVERY_ARGON2_MEMORY_KIB,
          timeCost: ctx.config.RECOVERY_ARGON2_TIME_COST,
          parallelism: ctx.config.RECOVERY_ARGON2_PARALLELISM,
        }),
        codes: createRandomCodeSource(),
        sealer: createKeyRingCodeSealer(keyRing),
        gate: ctx.attemptGate({
          counter: 'recovery',
          limits: attemptLimitsFrom(ctx.config, 'RECOVERY'),
          announceLocks: true,
          suspendedHint: 'code recovery is off until customer support acts',
        }),
        // Outcomes only (never a code); kept as long as a retry may get the same answer.
        verifyOutcomes: createRedisOutcomeLedger<RecordedVerify>(ctx.redis, { prefix: 'recovery', ttlMs: retryWindowMs }),
        clock: ctx.clock,
        events: ctx.events,
        ids: createRandomIds(),
        settings: {
          retryWindowMs,
          supportCodeTtlMs: ctx.config.SUPPORT_CODE_TTL_SEC * 1000,
          supportCodeMaxTtlMs: ctx.config.SUPPORT_CODE_MAX_TTL_SEC * 1000,
        },
      })
      return {
        endpoints: [
          handle(DESCRIBE_ENDPOINTS.recovery, (req) => recovery.describe(req)),
          handle(issueRecoveryCode, (req) => recovery.issue(req)),
          handle(acknowledgeRecoveryCode, (req) => recovery.acknowledge(req)),
          handle(verifyRecovery, (req) => recovery.verify(req)),
          handle(issueSupportCode, (req) => recovery.issueSupportCode(req)),
        ],
        reset: (userId) => recovery.reset(userId),
      }
    },
  }, config, overrides)
}
