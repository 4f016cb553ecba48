import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createEventPublisher, ensureEventStream, type Clock, type EventPublisher } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { createAttemptKeys, type AttemptKey } from '../attempt-key.js'
import type { GatewayConfig } from '../config.js'
import { createPolicyStore } from '../adapters/policy-store.js'
import { createRememberDeviceStore } from '../adapters/remembered-devices.js'
import { createRedisRiskSignals } from '../adapters/risk-signals.js'
import { createRedisUserLocks } from '../adapters/user-locks.js'
import { createUserReset } from '../adapters/user-reset.js'
import type { Policy } from '../policy.js'
import type { PolicyStore, RememberDeviceStore, RiskSignals, UserLocks, UserReset } from '../ports.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-application policies, in the gateway's own KV bucket. */
    policies: PolicyStore
    /** Remember-this-device tokens (HMAC only), in Redis. */
    rememberedDevices: RememberDeviceStore
    /** Adaptive-policy signals: known networks, recent failures, in Redis. */
    risk: RiskSignals
    /** Security events to WARDEN_EVENTS. */
    events: EventPublisher
    /** Drops the user's remembered devices and risk signals, then publishes user.reset. */
    resetUser: UserReset
    /** Idempotency keys of verify attempts, the same on every replica that shares the HMAC key. */
    attemptKeys: AttemptKey
    /** Users locked by a "Not you?" report, until an admin reset. */
    userLocks: UserLocks
  }
}

export const POLICY_BUCKET = 'gateway_policies'

async function storesPlugin (app: FastifyInstance, opts: { config: GatewayConfig, clock: Clock }): Promise<void> {
  const { config, clock } = opts
  const defaults: Policy = { mode: config.DEFAULT_POLICY_MODE, rememberDays: config.DEFAULT_REMEMBER_DAYS, stepUpMaxAgeSec: config.STEP_UP_MAX_AGE_SEC }
  const bucket = await createKvStoreFactory(app.nats).open<Policy>(POLICY_BUCKET)
  app.decorate('policies', createPolicyStore(bucket, defaults))

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
  app.decorate('events', createEventPublisher(app.nats, clock))
  app.decorate('userLocks', createRedisUserLocks(app.redis))
  app.decorate('resetUser', createUserReset({ events: app.events, rememberedDevices: app.rememberedDevices, risk: app.risk, userLocks: app.userLocks }))
}

export default fp(storesPlugin, { name: 'stores', dependencies: ['nats', 'redis'] })
