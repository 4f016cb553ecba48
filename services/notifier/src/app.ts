import { randomBytes } from 'node:crypto'
import type { Service } from '@nats-io/services'
import type { NatsConnection } from '@nats-io/transport-node'
import { NOTIFIER_SERVICE } from '@warden/contracts'
import {
  addMicroService, connectNats, connectRedis, createEventPublisher, createLogger, createMetrics, ensureEventStream, parseKeyRing,
  startOpsServer, systemClock, type Clock, type OpsServer, type ReadinessCheck,
} from '@warden/service-kit'
import { connectMongoStoreFactory, createKvStoreFactory, type StoreFactory } from '@warden/store'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import { addressPolicy } from './address-policy.js'
import { createConsoleUserNotifier, type DemoMessage } from './adapters/console-user-notifier.js'
import { createHmacReportLinks } from './adapters/hmac-report-links.js'
import { createHttpWebhookSender, type Resolver } from './adapters/http-webhook-sender.js'
import { consumeAllEvents, type EventSource } from './adapters/jetstream-event-source.js'
import { createKeyRingCipher } from './adapters/key-ring-cipher.js'
import { createPublisherEventSink } from './adapters/publisher-event-sink.js'
import { createRedisOutbox } from './adapters/redis-outbox.js'
import { ACTIVITY_BUCKET, createStoreActivityStore } from './adapters/store-activity-store.js'
import { createStoreFailureLog, FAILURE_BUCKET } from './adapters/store-failure-log.js'
import { createStoreWebhookStore, WEBHOOK_BUCKET } from './adapters/store-webhook-store.js'
import type { NotifierConfig } from './config.js'
import { createDispatcher, type Dispatcher } from './dispatcher.js'
import { serveNotifier } from './endpoints.js'
import { KNOWN_EVENTS } from './event-types.js'
import type { DeliveryFailure, SecurityEvent, UserNotifier, Webhook } from './ports.js'
import { createNotifierService } from './service.js'

export { loadNotifierConfig, NotifierConfig } from './config.js'
export type { DemoMessage } from './adapters/console-user-notifier.js'

/** Where demo-mode messages are kept for GET /v1/demo/outbox (newest first, at most 50). */
export const DEMO_OUTBOX_KEY = 'notifier:demo-outbox'

export interface NotifierOverrides {
  /** Time for every decision (tests move it instead of sleeping). */
  readonly clock?: Clock
  /** Where the pino lines go (tests capture them); stdout otherwise. */
  readonly logDestination?: DestinationStream
  /** Replaces the user-notification port (an integrator's own channel, or a test's recorder). */
  readonly userNotifier?: UserNotifier
  /** Replaces DNS for the webhook sender (tests). */
  readonly resolve?: Resolver
  /** false: deliveries move only when the caller runs the dispatcher (tests with a moved clock). */
  readonly autoDispatch?: boolean
}

export interface RunningNotifier {
  /** Stops consuming and dispatching, stops the endpoints, drains NATS, closes the rest. Idempotent. */
  readonly stop: () => Promise<void>
  readonly opsPort: number
  /** The delivery loop (tests run it by hand with autoDispatch: false). */
  readonly dispatcher: Dispatcher
}

/**
 * Starts the notifier in this process: connects NATS and Redis, opens its buckets on the
 * configured store, ensures WARDEN_EVENTS, registers the `notifier` micro service (feed, audit,
 * webhook admin, "Not you?" reports), consumes every event durably and in order, delivers
 * webhooks and user notifications from the outbox, and serves /healthz, /readyz and /metrics.
 * Not a factor, so not runFactorService: the same pieces, without describe and without
 * `user.reset` (the audit trail outlives a reset; the reset is in it).
 */
export async function startNotifier (config: Readonly<NotifierConfig>, overrides: NotifierOverrides = {}): Promise<RunningNotifier> {
  const name = NOTIFIER_SERVICE
  const clock = overrides.clock ?? systemClock
  const log = createLogger({ name, level: config.LOG_LEVEL, ...(overrides.logDestination === undefined ? {} : { destination: overrides.logDestination }) })
  // Configuration errors before any connection is made; the values are never echoed.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  const reportKey = Buffer.from(config.REPORT_LINK_KEY, 'base64')
  if (reportKey.length < 32) throw new Error('invalid configuration: REPORT_LINK_KEY: must be base64 of at least 32 bytes')
  const policy = addressPolicy({ demoMode: config.DEMO_MODE, allowedNetworks: config.WEBHOOK_ALLOWED_NETWORKS })
  if (config.STORE === 'mongodb' && config.MONGODB_URI === undefined) throw new Error('invalid configuration: MONGODB_URI: required with STORE=mongodb')

  let nc: NatsConnection | undefined
  let redis: Redis | undefined
  let stores: StoreFactory | undefined
  let service: Service | undefined
  let source: EventSource | undefined
  let dispatcher: Dispatcher | undefined
  let ops: OpsServer | undefined
  const unwind = async (): Promise<void> => {
    const steps: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['stop consuming events', source?.stop],
      ['stop dispatching', dispatcher?.stop],
      ['stop the endpoints', service === undefined ? undefined : () => (service as Service).stop()],
      ['drain NATS', nc === undefined ? undefined : () => (nc as NatsConnection).drain()],
      ['close the store', stores?.close],
      ['close Redis', redis === undefined ? undefined : () => (redis as Redis).quit().catch(() => { redis?.disconnect() })],
      ['close the ops port', ops?.close],
    ]
    for (const [step, run] of steps) {
      if (run === undefined) continue
      try { await run() } catch (err) { log.warn({ err, step }, 'shutdown step failed') }
    }
  }

  try {
    nc = await connectNats(config.NATS_URL, name)
    const bus = nc
    redis = await connectRedis(config.REDIS_URL, name)
    const cache = redis
    cache.on('error', (err: Error) => { log.warn({ err }, 'redis connection error') })
    const ready: Record<string, ReadinessCheck> = { nats: async () => !bus.isClosed(), redis: async () => cache.status === 'ready' }
    if (config.STORE === 'mongodb') {
      const mongo = await connectMongoStoreFactory(config.MONGODB_URI as string, config.MONGODB_DB)
      stores = mongo
      ready.store = mongo.ping
    } else {
      stores = createKvStoreFactory(bus, { replicas: config.KV_REPLICAS })
    }
    await ensureEventStream(bus)

    const metrics = createMetrics(name)
    const demoOutbox = async (m: DemoMessage): Promise<void> => {
      await cache.multi().lpush(DEMO_OUTBOX_KEY, JSON.stringify(m)).ltrim(DEMO_OUTBOX_KEY, 0, 49).exec()
    }
    const outbox = createRedisOutbox(cache, { prefix: name, dedupeTtlMs: config.OUTBOX_DEDUPE_TTL_SEC * 1000 })
    const http = createHttpWebhookSender({ policy, timeoutMs: config.WEBHOOK_TIMEOUT_MS, ...(overrides.resolve === undefined ? {} : { resolve: overrides.resolve }) })
    const notifier = createNotifierService({
      activity: createStoreActivityStore(await stores.open<SecurityEvent>(ACTIVITY_BUCKET)),
      webhooks: createStoreWebhookStore(await stores.open<Webhook>(WEBHOOK_BUCKET)),
      failures: createStoreFailureLog(await stores.open<DeliveryFailure>(FAILURE_BUCKET)),
      outbox,
      sender: config.DEMO_MODE
        ? {
            // Demo mode shows each delivery in the outbox too (where, and what type; the body is the receiver's).
            post: async (req) => {
              const sent = await http.post(req)
              const type = /"type":"([a-z.]+)"/.exec(req.body)?.[1] ?? 'event'
              await demoOutbox({ channel: 'webhook', to: req.url, text: `${type} ${req.headers['webhook-id'] ?? ''}: ${sent.ok ? `delivered (${sent.status})` : sent.error}`, sentAt: clock.now().toISOString() }).catch(() => undefined)
              return sent
            },
          }
        : http,
      notifier: overrides.userNotifier ?? createConsoleUserNotifier({ log, demo: config.DEMO_MODE, outbox: demoOutbox, now: () => clock.now() }),
      links: createHmacReportLinks({ key: reportKey, baseUrl: config.PUBLIC_URL }),
      events: createPublisherEventSink(createEventPublisher(bus, clock)),
      cipher: createKeyRingCipher(keyRing),
      clock,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      settings: {
        addressPolicy: policy,
        retryBaseDelayMs: config.WEBHOOK_RETRY_BASE_SEC * 1000,
        retryFactor: config.WEBHOOK_RETRY_FACTOR,
        retryMaxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_SEC * 1000,
        retryForMs: config.WEBHOOK_RETRY_FOR_SEC * 1000,
        secretOverlapMs: config.WEBHOOK_SECRET_OVERLAP_SEC * 1000,
        reportLinkTtlMs: config.REPORT_LINK_TTL_SEC * 1000,
      },
    })

    service = await addMicroService(bus, { name, version: config.SERVICE_VERSION, description: 'Warden notifications, activity feed, audit trail and webhooks' })
    serveNotifier(service, notifier, log, metrics)
    await bus.flush()

    dispatcher = createDispatcher({
      outbox,
      deliver: async (d) => {
        const outcome = await notifier.deliver(d)
        metrics.inc('notifier_deliveries_total', { target: d.target === 'user' ? 'user' : 'webhook', outcome })
        if (outcome === 'failed') log.warn({ target: d.target, eventId: d.item.event.eventId, attempts: d.item.attempts + 1 }, 'delivery given up after the retry period')
      },
      clock,
      settings: { concurrencyPerTarget: config.WEBHOOK_CONCURRENCY, leaseMs: config.WEBHOOK_TIMEOUT_MS * 2 + 10_000 },
      onError: (err, target) => { log.error({ err, target }, 'delivery step failed; retried at the next tick') },
    })
    if (overrides.autoDispatch !== false) dispatcher.start(config.DISPATCH_INTERVAL_MS)
    source = await consumeAllEvents(bus, { durable: name, known: KNOWN_EVENTS, log }, (subject, payload) => notifier.handleEvent(subject, payload))

    ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, metrics, ready })
    log.info({ opsPort: ops.port, endpoints: service.info().endpoints.map((e) => e.subject) }, `${name} ready`)

    const running = dispatcher
    let stopping: Promise<void> | undefined
    return {
      opsPort: ops.port,
      dispatcher: running,
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
