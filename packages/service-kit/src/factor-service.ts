import { DESCRIBE_ENDPOINTS, ENDPOINTS, SERVICES, userReset, type AnyEndpoint, type DescribeEndpoint, type FactorName } from '@warden/contracts'
import { factorsDescribe, type Handler } from '@warden/contracts/nats'
import type { Type } from 'typebox'
import { createAttemptGate, type AttemptGate } from './attempt-gate.js'
import { createRedisAttemptLimiter, type AttemptLimits } from './attempt-limiter.js'
import { consumeEvents } from './event-consumer.js'
import { runService, type EndpointHandler, type RunningService, type ServiceContext, type ServiceOverrides, type ServiceSettings } from './run-service.js'

export { handle, type EndpointHandler } from './run-service.js'

/** The settings runFactorService reads: BaseConfig and StoreConfig, spread into every factor service's schema. */
export type FactorServiceSettings = ServiceSettings

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

/** Everything runService has opened, plus what a factor has: its name and attempt gates. */
export interface FactorContext<C> extends ServiceContext<C> {
  readonly factor: FactorName
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

export type FactorServiceOverrides = ServiceOverrides

export type RunningFactorService = RunningService

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
 * Runs one factor service in this process, the same for every factor, on runService's lifecycle
 * (NATS, Redis, the store STORE names, WARDEN_EVENTS, the ops port, graceful stop): builds the
 * factor's handlers, checks they are exactly its contract's endpoints, serves them (describe also
 * on the scatter subject every factor service answers), and consumes
 * `user.reset` durably. main.ts runs it; tests and the gateway's end-to-end tests call it with a
 * moved clock.
 */
export async function runFactorService<S extends Type.TSchema> (
  spec: FactorServiceSpec<S>,
  config: Readonly<Type.Static<S> & FactorServiceSettings>,
  overrides: FactorServiceOverrides = {},
): Promise<RunningFactorService> {
  const name = SERVICES[spec.factor]
  return runService<Type.Static<S> & FactorServiceSettings>({
    name,
    description: spec.description,
    build: async (ctx) => {
      const { clock, events } = ctx
      const handlers = await spec.build({
        ...ctx,
        factor: spec.factor,
        attemptGate: (opts) => createAttemptGate({
          factor: spec.factor,
          limiter: createRedisAttemptLimiter(ctx.redis, { prefix: opts.counter, clock, limits: opts.limits }),
          clock,
          events: opts.announceLocks ? events : undefined,
          suspendedHint: opts.suspendedHint,
        }),
      })
      assertServesItsContract(name, spec.factor, handlers.endpoints)
      // The scatter describe (one publish the gateway sends per sign-in start) is answered by the
      // factor's own describe handler, in a queue group of this service: one replica answers.
      const describe = handlers.endpoints.find((h) => h.endpoint.subject === DESCRIBE_ENDPOINTS[spec.factor].subject) as EndpointHandler
      return {
        endpoints: [...handlers.endpoints, factorsDescribe(spec.factor, name, describe.handler as Handler<DescribeEndpoint>)],
        // Every owner deletes its own data when a user's 2FA is reset (durable: survives our restarts).
        start: async () => {
          const resets = await consumeEvents(ctx.nc, { durable: `${name}-user-reset`, event: userReset, log: ctx.log }, ({ userId }) => handlers.reset(userId))
          return [['stop consuming user.reset', resets.stop]]
        },
      }
    },
  }, config, overrides)
}
