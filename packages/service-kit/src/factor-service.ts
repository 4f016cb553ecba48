import type { NatsConnection } from '@nats-io/transport-node'
import type { Service } from '@nats-io/services'
import { ENDPOINTS, SERVICES, userReset, type AnyEndpoint, type FactorName, type RequestOf, type ResponseOf } from '@warden/contracts'
import { serve, type Handler } from '@warden/contracts/nats'
import { connectMongoStoreFactory, createKvStoreFactory, type StoreFactory } from '@warden/store'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import type { Type } from 'typebox'
import { createAttemptGate, type AttemptGate } from './attempt-gate.js'
import { createRedisAttemptLimiter, type AttemptLimits } from './attempt-limiter.js'
import { systemClock, type Clock } from './clock.js'
import { FactorServiceConfig } from './config.js'
import { consumeEvents, type EventSubscription } from './event-consumer.js'
import { createPublisherEventSink, type EventSink } from './event-sink.js'
import { createEventPublisher, ensureEventStream, type EventPublisher } from './events.js'
import { createLogger, type Log } from './log.js'
import { createMetrics, startOpsServer, type Metrics, type OpsServer, type ReadinessCheck } from './ops.js'
import { connectRedis } from './redis.js'
import { addMicroService, connectNats } from './runtime.js'

/** The settings runFactorService reads: BaseConfig and StoreConfig, spread into every factor service's schema. */
export type FactorServiceSettings = Type.Static<Type.TObject<typeof FactorServiceConfig>>

/** One contract endpoint and the function that answers it. */
export interface EndpointHandler {
  readonly endpoint: AnyEndpoint
  readonly handler: Handler<AnyEndpoint>
}

/** Pairs an endpoint with its handler, typed by the contract. serve() validates both ends. */
export function handle<E extends AnyEndpoint> (endpoint: E, handler: (req: RequestOf<E>) => Promise<ResponseOf<E>>): EndpointHandler {
  // serve() hands the handler only requests that passed endpoint.isRequest, so the cast holds.
  return { endpoint, handler: handler as Handler<AnyEndpoint> }
}

/** What a factor's build gives the skeleton to serve. */
export interface FactorHandlers {
  /** Exactly the factor's contract endpoints (checked at start-up), each with its handler. */
  readonly endpoints: readonly EndpointHandler[]
  /** `user.reset`: forget everything about the user. Idempotent: events arrive at least once. */
  readonly reset: (userId: string) => Promise<void>
}

export interface AttemptGateOptions {
  /** Names the counter in Redis (`<counter>:attempts:{userId}`), e.g. `totp` or `totp-confirm`. */
  readonly counter: string
  readonly limits: AttemptLimits
  /** Publish `factor.locked` when this counter locks: yes for sign-in, no for confirming an enrollment. */
  readonly announceLocks: boolean
  /** What a suspended user must do, e.g. "enroll the authenticator app again". */
  readonly suspendedHint?: string
}

/** Everything the skeleton has opened, for a factor's build to wire its adapters with. */
export interface FactorContext<C> {
  /** The NATS micro service name, e.g. `factor-totp`. */
  readonly name: string
  readonly factor: FactorName
  readonly config: Readonly<C>
  readonly nc: NatsConnection
  readonly redis: Redis
  /** The store chosen by STORE (JetStream KV or MongoDB): open the factor's own bucket with it. */
  readonly stores: StoreFactory
  readonly log: Log
  readonly metrics: Metrics
  readonly clock: Clock
  /** Security events that must not fail an answer (a failed publish is logged). */
  readonly events: EventSink
  /** The raw publisher, where a failed publish must fail the request. */
  readonly publisher: EventPublisher
  /** An attempt gate on a Redis counter, announcing locks through `events`. */
  readonly attemptGate: (opts: AttemptGateOptions) => AttemptGate
}

/** A factor service, declared once: its factor, its config schema and how its handlers are built. */
export interface FactorServiceSpec<S extends Type.TSchema> {
  readonly factor: FactorName
  /** Shown by `$SRV.INFO`. */
  readonly description: string
  /** The service's config schema, FactorServiceConfig spread into it. */
  readonly configSchema: S
  readonly build: (ctx: FactorContext<Type.Static<S>>) => Promise<FactorHandlers> | FactorHandlers
}

export interface FactorServiceOverrides {
  /** Time for every decision (tests move it instead of sleeping). */
  readonly clock?: Clock
  /** Where the pino lines go (tests capture them); stdout otherwise. */
  readonly logDestination?: DestinationStream
}

export interface RunningFactorService {
  /** Stops taking requests, drains NATS, closes the store, Redis and the ops port. Idempotent. */
  readonly stop: () => Promise<void>
  /** The port of /healthz, /readyz and /metrics (useful with OPS_PORT=0). */
  readonly opsPort: number
}

/** The endpoints of `factor` in the contracts: a factor service serves all of them and nothing else. */
export function contractEndpoints (factor: FactorName): readonly AnyEndpoint[] {
  return ENDPOINTS.filter((e) => e.service === factor)
}

function assertServesItsContract (name: string, factor: FactorName, served: readonly EndpointHandler[]): void {
  const expected = contractEndpoints(factor).map((e) => e.subject)
  const given = served.map((h) => h.endpoint.subject)
  const missing = expected.filter((s) => !given.includes(s))
  const foreign = given.filter((s) => !expected.includes(s))
  const twice = given.filter((s, i) => given.indexOf(s) !== i)
  if (missing.length + foreign.length + twice.length > 0) {
    throw new Error(`${name} must serve each endpoint of its contract once: missing [${missing.join(', ')}], not its own [${foreign.join(', ')}], twice [${twice.join(', ')}]`)
  }
}

/**
 * Runs one factor service in this process, the same for every factor: connects NATS and Redis,
 * opens the store STORE names, ensures the WARDEN_EVENTS stream, builds the factor's handlers,
 * registers the NATS micro service with every contract endpoint (through serve(), which counts
 * outcomes), consumes `user.reset` durably, and serves /healthz, /readyz and /metrics. main.ts
 * runs it; tests and the gateway's end-to-end tests call it with a moved clock.
 */
export async function runFactorService<S extends Type.TSchema> (
  spec: FactorServiceSpec<S>,
  config: Readonly<Type.Static<S> & FactorServiceSettings>,
  overrides: FactorServiceOverrides = {},
): Promise<RunningFactorService> {
  // The kit's own fields, typed apart from the factor's (the generic schema hides them).
  const settings: Readonly<FactorServiceSettings> = config
  const name = SERVICES[spec.factor]
  const clock = overrides.clock ?? systemClock
  const log = createLogger({ name, level: settings.LOG_LEVEL, ...(overrides.logDestination === undefined ? {} : { destination: overrides.logDestination }) })
  // A configuration error, before any connection is made; the URI itself is never echoed.
  if (settings.STORE === 'mongodb' && settings.MONGODB_URI === undefined) throw new Error('invalid configuration: MONGODB_URI: required with STORE=mongodb')

  let nc: NatsConnection | undefined
  let redis: Redis | undefined
  let stores: StoreFactory | undefined
  let service: Service | undefined
  let resets: EventSubscription | undefined
  let ops: OpsServer | undefined
  // In this order: stop taking work, finish what is in flight, then close what it used.
  const unwind = async (): Promise<void> => {
    const steps: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['stop consuming user.reset', resets?.stop],
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
    const events = createPublisherEventSink(publisher, log)
    const handlers = await spec.build({
      name,
      factor: spec.factor,
      config,
      nc: bus,
      redis: cache,
      stores,
      log,
      metrics,
      clock,
      events,
      publisher,
      attemptGate: (opts) => createAttemptGate({
        factor: spec.factor,
        limiter: createRedisAttemptLimiter(cache, { prefix: opts.counter, clock, limits: opts.limits }),
        clock,
        events: opts.announceLocks ? events : undefined,
        suspendedHint: opts.suspendedHint,
      }),
    })
    assertServesItsContract(name, spec.factor, handlers.endpoints)

    service = await addMicroService(bus, { name, version: settings.SERVICE_VERSION, description: spec.description })
    for (const { endpoint, handler } of handlers.endpoints) serve(service, endpoint, handler, log, metrics)
    // Ready means the server has our subscriptions: a request right after start must find us.
    await bus.flush()
    // Every owner deletes its own data when a user's 2FA is reset (durable: survives our restarts).
    resets = await consumeEvents(bus, { durable: `${name}-user-reset`, event: userReset, log }, ({ userId }) => handlers.reset(userId))

    ops = await startOpsServer({ host: settings.OPS_HOST, port: settings.OPS_PORT, metrics, ready })
    log.info({ opsPort: ops.port, endpoints: handlers.endpoints.map((h) => h.endpoint.subject) }, `${name} ready`)

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
