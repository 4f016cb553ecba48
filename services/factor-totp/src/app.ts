import type { NatsConnection } from '@nats-io/transport-node'
import { SERVICES, userReset } from '@warden/contracts'
import {
  addMicroService, connectNats, consumeEvents, connectRedis, createEventPublisher, createLogger, createMetrics,
  createRedisAttemptLimiter, createRedisOutcomeLedger, ensureEventStream, parseKeyRing, startOpsServer, systemClock,
  type AttemptLimits, type Clock,
} from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import { createKeyRingCipher } from './adapters/key-ring-cipher.js'
import { createOtplibTotp } from './adapters/otplib-totp.js'
import { createPublisherEventSink } from './adapters/publisher-event-sink.js'
import { createQrcodeSvgRenderer } from './adapters/qrcode-svg.js'
import { createRandomIds } from './adapters/random-ids.js'
import { createRedisUsedStepGuard } from './adapters/redis-used-step-guard.js'
import { createStoreEnrollmentStore, TOTP_BUCKET, type TotpRecord } from './adapters/store-enrollment-store.js'
import type { TotpConfig } from './config.js'
import { serveTotp } from './endpoints.js'
import { createTotpService } from './service.js'

export { loadTotpConfig, TotpConfig } from './config.js'

export interface TotpServiceOverrides {
  /** Time for every decision (tests move it instead of sleeping). */
  clock?: Clock
  /** Where the pino lines go (tests capture them); stdout otherwise. */
  logDestination?: DestinationStream
}

export interface RunningTotpService {
  /** Stops taking requests, drains NATS, closes Redis and the ops port. Idempotent. */
  stop: () => Promise<void>
  /** The port of /healthz, /readyz and /metrics (useful with OPS_PORT=0). */
  opsPort: number
}

const NAME = SERVICES.totp

/**
 * Starts factor-totp in this process: connects NATS and Redis, opens the `factor_totp` bucket,
 * ensures the events stream, registers the `factor-totp` micro service with its five endpoints
 * and starts the ops port. main.ts runs it; tests and the gateway's end-to-end tests call it too.
 */
export async function startTotpService (config: Readonly<TotpConfig>, overrides: TotpServiceOverrides = {}): Promise<RunningTotpService> {
  const clock = overrides.clock ?? systemClock
  const log = createLogger({ name: NAME, level: config.LOG_LEVEL, ...(overrides.logDestination === undefined ? {} : { destination: overrides.logDestination }) })
  // Before any connection: a bad key ring is a configuration error, not an outage.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  const limits: AttemptLimits = {
    maxFailures: config.TOTP_MAX_FAILURES,
    windowMs: config.TOTP_FAILURE_WINDOW_SEC * 1000,
    lockMs: config.TOTP_LOCK_SEC * 1000,
    suspendAfter: config.TOTP_SUSPEND_AFTER,
    freeFailures: config.TOTP_FREE_FAILURES,
  }

  // Unwound from the end: stop taking requests, drain NATS, then close Redis and the ops port.
  const cleanup: Array<() => Promise<unknown>> = []
  const unwind = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) {
      try { await step() } catch (err) { log.warn({ err }, 'shutdown step failed') }
    }
  }
  try {
    const nc: NatsConnection = await connectNats(config.NATS_URL, NAME)
    cleanup.push(() => nc.drain())
    const redis: Redis = await connectRedis(config.REDIS_URL, NAME)
    // Without a listener ioredis prints every reconnect error; requests fail closed meanwhile.
    redis.on('error', (err: Error) => { log.warn({ err }, 'redis connection error') })
    cleanup.unshift(() => redis.quit().catch(() => { redis.disconnect() }))

    const store = await createKvStoreFactory(nc, { replicas: config.KV_REPLICAS }).open<TotpRecord>(TOTP_BUCKET)
    await ensureEventStream(nc)

    const totp = createTotpService({
      enrollments: createStoreEnrollmentStore(store),
      usedSteps: createRedisUsedStepGuard(redis, { prefix: 'totp' }),
      verifyOutcomes: createRedisOutcomeLedger(redis, { prefix: 'totp' }),
      totp: createOtplibTotp(),
      cipher: createKeyRingCipher(keyRing),
      limiter: createRedisAttemptLimiter(redis, { prefix: 'totp', clock, limits }),
      confirmLimiter: createRedisAttemptLimiter(redis, { prefix: 'totp-confirm', clock, limits }),
      clock,
      events: createPublisherEventSink(createEventPublisher(nc, clock), log),
      qr: createQrcodeSvgRenderer(),
      ids: createRandomIds(),
      settings: { issuer: config.TOTP_ISSUER, enrollmentTtlMs: config.TOTP_ENROLLMENT_TTL_SEC * 1000, lockMs: limits.lockMs },
    })

    const metrics = createMetrics(NAME)
    const service = await addMicroService(nc, { name: NAME, version: config.SERVICE_VERSION, description: 'Warden authenticator-app (TOTP) factor' })
    cleanup.push(() => service.stop())
    serveTotp(service, totp, log, metrics)
    // Ready means the server has our subscriptions: a request right after start must find us.
    await nc.flush()
    // Every owner deletes its own data when a user's 2FA is reset (durable: survives our restarts).
    const resets = await consumeEvents(nc, { durable: `${NAME}-user-reset`, event: userReset, log }, ({ userId }) => totp.reset(userId))
    cleanup.push(() => resets.stop())

    const ops = await startOpsServer({
      host: config.OPS_HOST,
      port: config.OPS_PORT,
      metrics,
      ready: { nats: async () => !nc.isClosed(), redis: async () => redis.status === 'ready' },
    })
    cleanup.unshift(() => ops.close())
    log.info({ opsPort: ops.port, endpoints: service.info().endpoints.map((e) => e.subject) }, `${NAME} ready`)

    let stopping: Promise<void> | undefined
    return {
      opsPort: ops.port,
      stop: async () => {
        stopping ??= unwind()
        return stopping
      },
    }
  } catch (err) {
    await unwind()
    throw err
  }
}
