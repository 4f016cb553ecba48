import { confirmTotp, describeTotp, enrollTotp, removeTotp, verifyTotp } from '@warden/contracts'
import {
  attemptLimitsFrom, createRedisAdmittingLedger, handle, parseKeyRing, runFactorService,
  type FactorServiceOverrides, type FactorServiceSpec, type KeyRing, type RunningFactorService,
} from '@warden/service-kit'
import { createKeyRingCipher } from './adapters/key-ring-cipher.js'
import { createOtplibTotp } from './adapters/otplib-totp.js'
import { createQrcodeSvgRenderer } from './adapters/qrcode-svg.js'
import { createRandomIds } from './adapters/random-ids.js'
import { createRedisUsedStepGuard } from './adapters/redis-used-step-guard.js'
import { createStoreEnrollmentStore, TOTP_BUCKET, type TotpRecord } from './adapters/store-enrollment-store.js'
import { TotpConfig } from './config.js'
import { createTotpService } from './service.js'

export { loadTotpConfig, TotpConfig } from './config.js'

/** factor-totp on the factor skeleton: its adapters around service.ts, and its five endpoints. */
function totpService (keyRing: KeyRing): FactorServiceSpec<typeof TotpConfig> {
  return {
    factor: 'totp',
    description: 'Warden authenticator-app (TOTP) factor',
    configSchema: TotpConfig,
    async build ({ config, redis, stores, clock, events, attemptGate }) {
      const limits = attemptLimitsFrom(config, 'TOTP')
      // The sign-in counter: its gate, and the two scripts that merge a step of it with the ledger's
      // begin and with the step's claim (bench/FIXES.md §9), all on the same counter.
      const signInCounter = 'totp'
      const totp = createTotpService({
        enrollments: createStoreEnrollmentStore(await stores.open<TotpRecord>(TOTP_BUCKET)),
        usedSteps: createRedisUsedStepGuard(redis, { prefix: 'totp', signInCounter }),
        verifyOutcomes: createRedisAdmittingLedger(redis, { prefix: 'totp', attempts: { prefix: signInCounter, limits, clock } }),
        totp: createOtplibTotp(),
        cipher: createKeyRingCipher(keyRing),
        signIns: attemptGate({ counter: signInCounter, limits, announceLocks: true, suspendedHint: 'enroll the authenticator app again' }),
        confirmations: attemptGate({ counter: 'totp-confirm', limits, announceLocks: false }),
        clock,
        events,
        qr: createQrcodeSvgRenderer(),
        ids: createRandomIds(),
        settings: { issuer: config.TOTP_ISSUER, enrollmentTtlMs: config.TOTP_ENROLLMENT_TTL_SEC * 1000 },
      })
      return {
        endpoints: [
          handle(describeTotp, (req) => totp.describe(req)),
          handle(enrollTotp, (req) => totp.enroll(req)),
          handle(confirmTotp, (req) => totp.confirm(req)),
          handle(verifyTotp, (req) => totp.verify(req)),
          handle(removeTotp, (req) => totp.remove(req)),
        ],
        reset: (userId) => totp.reset(userId),
      }
    },
  }
}

/** Starts factor-totp in this process: main.ts runs it; tests and the gateway's end-to-end tests call it too. */
export async function startTotpService (config: Readonly<TotpConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  // Before any connection: a bad key ring is a configuration error, not an outage.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  return runFactorService(totpService(keyRing), config, overrides)
}
