import type { NatsConnection } from '@nats-io/transport-node'
import type { Service } from '@nats-io/services'
import type { AnyEndpoint, RequestOf, ResponseOf } from '@warden/contracts'
import { serve, type Handler, type ServeOptions } from '@warden/contracts/nats'
import { connectMongoStoreFactory, createKvStoreFactory, type StoreFactory } from '@warden/store'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import type { Type } from 'typebox'
import { systemClock, type Clock } from './clock.js'
import { FactorServiceConfig } from './config.js'
import { createPublisherEventSink, type EventSink } from './event-sink.js'
import { createEventPublisher, ensureEventStream, type EventPublisher } from './events.js'
import { createLogger, type Log } from './log.js'
import { createMetrics, startOpsServer, type Metrics, type OpsServer, type ReadinessCheck } from './ops.js'
import { connectRedis } from './redis.js'
import { addMicroService, connectNats, type ShutdownStep } from './runtime.js'

/** The settings runService reads: BaseConfig and StoreConfig, spread into every service's schema. */
export type ServiceSettings = Type.Static<Type.TObject<typeof FactorServiceConfig>>

/** One contract endpoint and the function that answers it. */
export interface EndpointHandler {
  readonly endpoint: AnyEndpoint
  readonly handler: Handler<AnyEndpoint>
  /** How to register it when not as usual (the scatter describe: its own name and queue group). */
  readonly options?: ServeOptions
}

/** Pairs an endpoint with its handler, typed by the contract. serve() validates both ends. */
export function handle<E extends AnyEndpoint> (endpoint: E, handler: (req: RequestOf<E>) => Promise<ResponseOf<E>>): EndpointHandler {
  // serve() hands the handler only requests that passed endpoint.isRequest, so the cast holds.
  return { endpoint, handler: handler as Handler<AnyEndpoint> }
}

/** Everything runService has opened, for a service's build to wire its adapters with. */
export interface ServiceContext<C> {
  /** The NATS micro service name, e.g. `factor-totp` or `notifier`. */
  readonly name: string
  readonly config: Readonly<C>
  readonly nc: NatsConnection
  readonly redis: Redis
  /** The store chosen by STORE (JetStream KV or MongoDB): open the service's own buckets with it. */
  readonly stores: StoreFactory
  readonly log: Log
  readonly metrics: Metrics
  readonly clock: Clock
  /** Security events that must not fail an answer (a failed publish is logged). */
  readonly events: EventSink
  /** The raw publisher, where a failed publish must fail the request. */
  readonly publisher: EventPublisher
}

/** What a service's build gives runService. */
export interface ServiceParts {
  /** The contract endpoints to serve on the NATS micro service, each with its handler. */
  readonly endpoints: readonly EndpointHandler[]
  /**
   * Background work (event consumers, delivery loops), started once the endpoints are served.
   * Answers the steps that stop it: at shutdown they run first, in order, before the endpoints stop.
   */
  readonly start?: () => Promise<readonly ShutdownStep[]>
}

export interface ServiceSpec<C> {
  /** The NATS micro service name. */
  readonly name: string
  /** Shown by `$SRV.INFO`. */
  readonly description: string
  readonly build: (ctx: ServiceContext<C>) => Promise<ServiceParts> | ServiceParts
}

export interface ServiceOverrides {
  /** Time for every decision (tests move it instead of sleeping). */
  readonly clock?: Clock
  /** Where the pino lines go (tests capture them); stdout otherwise. */
  readonly logDestination?: DestinationStream
}

export interface RunningService {
  /** Stops the background work and taking requests, drains NATS, closes the store, Redis and the ops port. Idempotent. */
  readonly stop: () => Promise<void>
  /** The port of /healthz, /readyz and /metrics (useful with OPS_PORT=0). */
  readonly opsPort: number
}

/**
 * The lifecycle every Warden bus service shares: connects NATS and Redis, opens the store STORE
 * names, ensures the WARDEN_EVENTS stream, builds the service's handlers, registers the NATS micro
 * service with its endpoints (through serve(), which validates both ends and counts outcomes),
 * starts its background work, and serves /healthz, /readyz and /metrics. On stop, or on a failed
 * start, it unwinds in order: stop taking work, finish what is in flight, then close what it used.
 */
export async function runService<C extends ServiceSettings> (spec: ServiceSpec<C>, config: Readonly<C>, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const settings: Readonly<ServiceSettings> = config
  const { name } = spec
  const clock = overrides.clock ?? systemClock
  const log = createLogger({ name, level: settings.LOG_LEVEL, ...(overrides.logDestination === undefined ? {} : { destination: overrides.logDestination }) })
  // A configuration error, before any connection is made; the URI itself is never echoed.
  if (settings.STORE === 'mongodb' && settings.MONGODB_URI === undefined) throw new Error('invalid configuration: MONGODB_URI: required with STORE=mongodb')

  let nc: NatsConnection | undefined
  let redis: Redis | undefined
  let stores: StoreFactory | undefined
  let service: Service | undefined
  let background: readonly ShutdownStep[] = []
  let ops: OpsServer | undefined
  const unwind = async (): Promise<void> => {
    const steps: Array<readonly [string, (() => Promise<unknown>) | undefined]> = [
      ...background,
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
    nc = await connectNats(settings.NATS_URL, name)
    const bus = nc
    redis = await connectRedis(settings.REDIS_URL, name)
    const cache = redis
    // Without a listener ioredis prints every reconnect error; requests fail closed meanwhile.
    cache.on('error', (err: Error) => { log.warn({ err }, 'redis connection error') })
    const ready: Record<string, ReadinessCheck> = { nats: async () => !bus.isClosed(), redis: async () => cache.status === 'ready' }
    if (settings.STORE === 'mongodb') {
      const mongo = await connectMongoStoreFactory(settings.MONGODB_URI as string, settings.MONGODB_DB)
      stores = mongo
      ready.store = mongo.ping
    } else {
      stores = createKvStoreFactory(bus, { replicas: settings.KV_REPLICAS })
    }
    await ensureEventStream(bus)

    const metrics = createMetrics(name)
    const publisher = createEventPublisher(bus, clock)
    const parts = await spec.build({ name, config, nc: bus, redis: cache, stores, log, metrics, clock, events: createPublisherEventSink(publisher, log), publisher })

    service = await addMicroService(bus, { name, version: settings.SERVICE_VERSION, description: spec.description })
    for (const { endpoint, handler, options } of parts.endpoints) serve(service, endpoint, handler, log, metrics, options)
    // Ready means the server has our subscriptions: a request right after start must find us.
    await bus.flush()
    if (parts.start !== undefined) background = await parts.start()

    ops = await startOpsServer({ host: settings.OPS_HOST, port: settings.OPS_PORT, metrics, ready })
    log.info({ opsPort: ops.port, endpoints: parts.endpoints.map((h) => h.endpoint.subject) }, `${name} ready`)

    let stopping: Promise<void> | undefined
    return {
      opsPort: ops.port,
      stop: () => {
        stopping ??= unwind()
        return stopping
      },
    }
  } catch (err) {
    await unwind()
    throw err
  }
}
