import { randomBytes } from 'node:crypto'
import { NOTIFIER_DEMO_OUTBOX_KEY, NOTIFIER_SERVICE } from '@warden/contracts'
import { parseKeyRing, runService, systemClock, type Clock, type ServiceOverrides } from '@warden/service-kit'
import { addressPolicy } from './address-policy.js'
import { createBusUserNotifier, withDemoOutbox, type DemoMessage } from './adapters/bus-user-notifier.js'
import { createHmacReportLinks } from './adapters/hmac-report-links.js'
import { createHttpWebhookSender, type Resolver } from './adapters/http-webhook-sender.js'
import { consumeAllEvents } from './adapters/jetstream-event-source.js'
import { createKeyRingCipher } from './adapters/key-ring-cipher.js'
import { createPublisherEventSink } from './adapters/publisher-event-sink.js'
import { createRedisOutbox } from './adapters/redis-outbox.js'
import { ACTIVITY_BUCKET, createStoreActivityStore } from './adapters/store-activity-store.js'
import { createStoreFailureLog, FAILURE_BUCKET } from './adapters/store-failure-log.js'
import { createStoreWebhookStore, WEBHOOK_BUCKET } from './adapters/store-webhook-store.js'
import type { NotifierConfig } from './config.js'
import { createDispatcher, type Dispatcher } from './dispatcher.js'
import { notifierEndpoints } from './endpoints.js'
import { KNOWN_EVENTS } from './event-types.js'
import type { DeliveryFailure, SecurityEvent, UserNotifier, Webhook } from './ports.js'
import { createNotifierService, type NotifierService } from './service.js'

export { loadNotifierConfig, NotifierConfig } from './config.js'
export type { DemoMessage } from './adapters/bus-user-notifier.js'

export interface NotifierOverrides extends ServiceOverrides {
  /** Replaces the user-notification port (an integrator's own channel, or a test's recorder). */
  readonly userNotifier?: UserNotifier
  /** Replaces DNS for the webhook sender (tests). */
  readonly resolve?: Resolver
  /** false: deliveries move, and old activity is swept, only when the caller runs them (tests with a moved clock). */
  readonly autoDispatch?: boolean
}

export interface RunningNotifier {
  /** Stops consuming and dispatching, stops the endpoints, drains NATS, closes the rest. Idempotent. */
  readonly stop: () => Promise<void>
  readonly opsPort: number
  /** The delivery loop (tests run it by hand with autoDispatch: false). */
  readonly dispatcher: Dispatcher
  /** Deletes the activity older than the retention now (the sweep's step; tests call it with a moved clock). */
  readonly pruneActivity: () => Promise<number>
}

/**
 * Starts the notifier in this process on service-kit's lifecycle (runService: NATS, Redis, the
 * store, WARDEN_EVENTS, the ops port, graceful stop): opens its buckets, registers the `notifier`
 * micro service (feed, audit, webhook admin, "Not you?" reports), consumes every event durably and
 * in order, delivers webhooks and user notifications from the outbox, and sweeps old activity.
 * Not a factor, so not runFactorService: no describe and no `user.reset` (the audit trail outlives
 * a reset; the reset is in it).
 */
export async function startNotifier (config: Readonly<NotifierConfig>, overrides: NotifierOverrides = {}): Promise<RunningNotifier> {
  const clock: Clock = overrides.clock ?? systemClock
  // Configuration errors before any connection is made; the values are never echoed.
  const keyRing = parseKeyRing(config.SECRET_KEYS, config.SECRET_ACTIVE_KEY_ID)
  const reportKey = Buffer.from(config.REPORT_LINK_KEY, 'base64')
  if (reportKey.length < 32) throw new Error('invalid configuration: REPORT_LINK_KEY: must be base64 of at least 32 bytes')
  const policy = addressPolicy({ demoMode: config.DEMO_MODE, allowedNetworks: config.WEBHOOK_ALLOWED_NETWORKS })

  let dispatcher: Dispatcher | undefined
  let notifier: NotifierService | undefined
  const running = await runService<NotifierConfig>({
    name: NOTIFIER_SERVICE,
    description: 'Warden notifications, activity feed, audit trail and webhooks',
    build: async ({ nc, redis, stores, log, metrics, publisher }) => {
      const demoOutbox = async (m: DemoMessage): Promise<void> => {
        await redis.multi().lpush(NOTIFIER_DEMO_OUTBOX_KEY, JSON.stringify(m)).ltrim(NOTIFIER_DEMO_OUTBOX_KEY, 0, 49).exec()
      }
      const outbox = createRedisOutbox(redis, { prefix: NOTIFIER_SERVICE, dedupeTtlMs: config.OUTBOX_DEDUPE_TTL_SEC * 1000 })
      const http = createHttpWebhookSender({ policy, timeoutMs: config.WEBHOOK_TIMEOUT_MS, ...(overrides.resolve === undefined ? {} : { resolve: overrides.resolve }) })
      const users = overrides.userNotifier ?? createBusUserNotifier({ nc, timeoutMs: config.USER_NOTIFY_TIMEOUT_MS })
      const service = createNotifierService({
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
        notifier: config.DEMO_MODE ? withDemoOutbox(users, { outbox: demoOutbox, now: () => clock.now() }) : users,
        links: createHmacReportLinks({ key: reportKey, baseUrl: config.PUBLIC_URL }),
        events: createPublisherEventSink(publisher),
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
          activityRetentionMs: config.ACTIVITY_RETENTION_DAYS * 86_400_000,
        },
      })
      notifier = service
      const loop = createDispatcher({
        outbox,
        deliver: async (d) => {
          const outcome = await service.deliver(d)
          metrics.inc('notifier_deliveries_total', { target: d.target === 'user' ? 'user' : 'webhook', outcome })
          if (outcome === 'failed') log.warn({ target: d.target, eventId: d.item.event.eventId, attempts: d.item.attempts + 1 }, 'delivery given up after the retry period')
        },
        clock,
        settings: { concurrencyPerTarget: config.WEBHOOK_CONCURRENCY, leaseMs: config.WEBHOOK_TIMEOUT_MS * 2 + 10_000 },
        onError: (err, target) => { log.error({ err, target }, 'delivery step failed; retried at the next tick') },
      })
      dispatcher = loop
      const sweep = async (): Promise<void> => {
        try {
          const pruned = await service.pruneActivity()
          if (pruned > 0) log.info({ pruned }, 'activity older than the retention deleted')
        } catch (err) { log.error({ err }, 'activity sweep failed; tried again at the next one') }
      }
      return {
        endpoints: notifierEndpoints(service),
        start: async () => {
          let sweeper: NodeJS.Timeout | undefined
          if (overrides.autoDispatch !== false) {
            loop.start(config.DISPATCH_INTERVAL_MS)
            sweeper = setInterval(() => { void sweep() }, config.ACTIVITY_PRUNE_INTERVAL_SEC * 1000).unref()
          }
          const source = await consumeAllEvents(nc, { durable: NOTIFIER_SERVICE, known: KNOWN_EVENTS, log }, (subject, payload) => service.handleEvent(subject, payload))
          return [
            ['stop consuming events', source.stop],
            ['stop dispatching', loop.stop],
            ['stop sweeping', async () => { clearInterval(sweeper) }],
          ]
        },
      }
    },
  }, config, overrides)
  // runService resolved, so build ran and set both.
  const loop = dispatcher as Dispatcher
  const service = notifier as NotifierService
  return { stop: running.stop, opsPort: running.opsPort, dispatcher: loop, pruneActivity: () => service.pruneActivity() }
}
