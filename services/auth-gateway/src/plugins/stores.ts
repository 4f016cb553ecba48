import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createEventPublisher, ensureEventStream, withDeadlines, type Clock, type EventPublisher } from '@warden/service-kit'
import { createKvStoreFactory, mirrorKvBucket, type Store } from '@warden/store'
import { createAttemptKeys, type AttemptKey } from '../attempt-key.js'
import type { GatewayConfig } from '../config.js'
import { createApplicationStore } from '../adapters/application-store.js'
import type { ApplicationRecord, ApplicationStore } from '../applications.js'
import { createRememberDeviceStore } from '../adapters/remembered-devices.js'
import { createStoreRevocation, REVOCATION_BUCKET, type StoredCutoff } from '../adapters/revocation.js'
import { createRedisRiskSignals } from '../adapters/risk-signals.js'
import { createRedisUserLocks } from '../adapters/user-locks.js'
import { createUserReset } from '../adapters/user-reset.js'
import type { Policy } from '../policy.js'
import type { PolicyStore, RememberDeviceStore, Revocation, RiskSignals, UserLocks, UserReset } from '../ports.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-application policies: the policy of the application record (adapters/application-store.ts). */
    policies: PolicyStore
    /** Registered applications (the hosted flow), one record per clientId with its policy. */
    applications: ApplicationStore
    /** Remember-this-device tokens (HMAC only), in Redis. */
    rememberedDevices: RememberDeviceStore
    /** Adaptive-policy signals: known networks, recent failures, in Redis. */
    risk: RiskSignals
    /** Per-user "tokens valid after" cutoffs, in the gateway's KV bucket `gateway_revocations`. */
    revocation: Revocation
    /** Security events to WARDEN_EVENTS. */
    events: EventPublisher
    /** Revokes the user's tokens, drops their remembered devices and risk signals, then publishes user.reset. */
    resetUser: UserReset
    /** Idempotency keys of verify attempts, the same on every replica that shares the HMAC key. */
    attemptKeys: AttemptKey
    /** Users locked by a "Not you?" report, until an admin reset. */
    userLocks: UserLocks
  }
}

/** Where policies lived before applications: still read when an application record has none. */
export const POLICY_BUCKET = 'gateway_policies'
export const APPLICATION_BUCKET = 'gateway_applications'

async function storesPlugin (app: FastifyInstance, opts: { config: GatewayConfig, clock: Clock }): Promise<void> {
  const { config, clock } = opts
  const defaults: Policy = { mode: config.DEFAULT_POLICY_MODE, rememberDays: config.DEFAULT_REMEMBER_DAYS, stepUpMaxAgeSec: config.STEP_UP_MAX_AGE_SEC }
  // Every KV call and event publish has STORE_TIMEOUT_MS: a bucket or stream that does not answer
  // is a 503 within the request's deadline, not the NATS client's own, longer timeout.
  const kv = createKvStoreFactory(app.nats)
  // Sign-in reads the policy on every start: from these watched copies once they have caught up.
  const onError = (err: unknown): void => { app.log.warn({ err }, 'policy watch failed: policies are read from the bucket') }
  const mirrors = {
    applications: await mirrorKvBucket<ApplicationRecord>(app.nats, APPLICATION_BUCKET, { onError }),
    legacyPolicies: await mirrorKvBucket<Policy>(app.nats, POLICY_BUCKET, { onError }),
  }
  app.addHook('onClose', async () => { await mirrors.applications.stop(); await mirrors.legacyPolicies.stop() })
  const { applications, policies } = createApplicationStore(
    withDeadlines(await kv.open<ApplicationRecord>(APPLICATION_BUCKET), config.STORE_TIMEOUT_MS, 'the application store'),
    withDeadlines(await kv.open<Policy>(POLICY_BUCKET), config.STORE_TIMEOUT_MS, 'the policy store'),
    defaults, mirrors)
  app.decorate('policies', policies)
  app.decorate('applications', applications)
  const cutoffs = await kv.open<StoredCutoff>(REVOCATION_BUCKET)
  app.decorate('revocation', createStoreRevocation(withDeadlines<Store<StoredCutoff>>(cutoffs, config.STORE_TIMEOUT_MS, 'the token revocation store')))

  let hmacKey: Buffer
  if (config.REMEMBER_DEVICE_HMAC_KEY !== undefined) {
    hmacKey = Buffer.from(config.REMEMBER_DEVICE_HMAC_KEY, 'base64')
    if (hmacKey.length < 32) throw new Error('invalid configuration: REMEMBER_DEVICE_HMAC_KEY must decode to at least 32 bytes')
  } else {
    hmacKey = randomBytes(32)
    app.log.warn({}, 'REMEMBER_DEVICE_HMAC_KEY is not set: generated one; remembered devices will not survive a restart or work across replicas')
  }
  app.decorate('rememberedDevices', createRememberDeviceStore(app.redis, { hmacKey, clock }))
  // One gateway secret, two uses: each derives its own key from it (attempt-key.ts).
  app.decorate('attemptKeys', createAttemptKeys(hmacKey))
  app.decorate('risk', createRedisRiskSignals(app.redis, { clock }))
  await ensureEventStream(app.nats)
  app.decorate('events', withDeadlines(createEventPublisher(app.nats, clock), config.STORE_TIMEOUT_MS, 'the event stream'))
  app.decorate('userLocks', createRedisUserLocks(app.redis))
  app.decorate('resetUser', createUserReset({ events: app.events, rememberedDevices: app.rememberedDevices, risk: app.risk, revocation: app.revocation, clock, userLocks: app.userLocks }))
}

export default fp(storesPlugin, { name: 'stores', dependencies: ['nats', 'redis'] })
