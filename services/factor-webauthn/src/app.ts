import {
  confirmWebauthn, describeWebauthn, enrollWebauthn, listWebauthn, removeWebauthn, renameWebauthn, verifyWebauthn,
  webauthnOptions, type VerifyWebauthnResponse,
} from '@warden/contracts'
import {
  attemptLimitsFrom, createRedisOutcomeLedger, handle, runFactorService, type FactorServiceOverrides, type RunningFactorService,
} from '@warden/service-kit'
import { createRandomIds } from './adapters/random-ids.js'
import { createRedisChallengeStore } from './adapters/redis-challenge-store.js'
import { createSimpleWebauthnCeremony } from './adapters/simplewebauthn-ceremony.js'
import { createStoreCredentialStore, WEBAUTHN_BUCKET, type WebauthnRecord } from './adapters/store-credential-store.js'
import { attestationRoots, WebauthnConfig, webauthnSettings } from './config.js'
import { createWebauthnService } from './service.js'

export { loadWebauthnConfig, WebauthnConfig } from './config.js'

/** Redis keys of this service: `webauthn:challenge:…`, `webauthn:attempts:…`, `webauthn:outcome:…`. */
const PREFIX = 'webauthn'

/**
 * Starts factor-webauthn in this process on the factor kit's skeleton (NATS micro service,
 * `user.reset`, ops port): main.ts runs it; tests and the gateway's end-to-end tests call it with
 * a moved clock.
 */
export async function startWebauthnService (config: Readonly<WebauthnConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'webauthn',
    description: 'Warden security-key and passkey (WebAuthn) factor',
    configSchema: WebauthnConfig,
    build: async (ctx) => {
      const settings = webauthnSettings(ctx.config)
      const webauthn = createWebauthnService({
        credentials: createStoreCredentialStore(await ctx.stores.open<WebauthnRecord>(WEBAUTHN_BUCKET)),
        challenges: createRedisChallengeStore(ctx.redis, { prefix: PREFIX }),
        ceremony: createSimpleWebauthnCeremony({ attestationRoots: attestationRoots(ctx.config) }),
        attempts: ctx.attemptGate({
          counter: PREFIX,
          limits: attemptLimitsFrom(ctx.config, 'WEBAUTHN'),
          announceLocks: true,
          suspendedHint: 'register a security key again',
        }),
        verifyOutcomes: createRedisOutcomeLedger<VerifyWebauthnResponse>(ctx.redis, { prefix: PREFIX }),
        clock: ctx.clock,
        events: ctx.events,
        ids: createRandomIds(),
        settings,
      })
      ctx.log.info({ rpId: settings.rp.rpId, origins: settings.rp.origins, attestation: settings.attestation.conveyance }, 'relying party')
      return {
        endpoints: [
          handle(describeWebauthn, (req) => webauthn.describe(req)),
          handle(enrollWebauthn, (req) => webauthn.enroll(req)),
          handle(confirmWebauthn, (req) => webauthn.confirm(req)),
          handle(webauthnOptions, (req) => webauthn.options(req)),
          handle(verifyWebauthn, (req) => webauthn.verify(req)),
          handle(listWebauthn, (req) => webauthn.list(req)),
          handle(renameWebauthn, (req) => webauthn.rename(req)),
          handle(removeWebauthn, (req) => webauthn.remove(req)),
        ],
        reset: (userId) => webauthn.reset(userId),
      }
    },
  }, config, overrides)
}
