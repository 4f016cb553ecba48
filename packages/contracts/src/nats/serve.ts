import type { Service, ServiceMsg } from '@nats-io/services'
import type { AnyEndpoint, RequestOf, ResponseOf } from '../endpoint.js'
import { BusError } from '../errors.js'
import { DESCRIBE_ENDPOINTS, describeFactors, type DescribeEndpoint, type FactorName } from '../factors/index.js'
import { extractTrace, inSpan } from './trace.js'

/** The slice of a pino logger that serve() needs. */
export interface Log {
  error: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  debug: (obj: object, msg: string) => void
}

/** Where serve() counts outcomes (service-kit's Metrics fits). Labels are contract words, never user data. */
export interface OutcomeCounter {
  inc: (name: string, labels: Record<string, string>) => void
}

/** The counter serve() increments once per request. */
export const REQUESTS_METRIC = 'bus_requests_total'

export type Handler<E extends AnyEndpoint> = (req: RequestOf<E>, msg: ServiceMsg) => Promise<ResponseOf<E>>

function parse (msg: ServiceMsg): unknown {
  try {
    return msg.json()
  } catch {
    throw new BusError('BAD_REQUEST', 'request is not JSON')
  }
}

/**
 * A fault is ours to fix: logged as an error with its cause. Everything else is a refusal the
 * contract foresees (a 4xx such as NOT_ENROLLED, RATE_LIMITED or FACTOR_LOCKED, or UNAVAILABLE:
 * the same attempt is still running, or a dependency is away and the caller retries).
 */
export function isFault (err: BusError): boolean {
  return err.status >= 500 && err.code !== 'UNAVAILABLE'
}

/** The answer's own verdict, when it has one (`verified`, `invalid_code`…): a contract literal. */
function resultOf (res: unknown): Record<string, string> {
  if (typeof res !== 'object' || res === null) return {}
  const { result, reason } = res as { result?: unknown, reason?: unknown }
  if (typeof reason === 'string') return { result: reason }
  return typeof result === 'string' ? { result } : {}
}

/** How serve() registers an endpoint, when not as usual (the endpoint's name, the service's queue group). */
export interface ServeOptions {
  /** The micro endpoint's name in $SRV.INFO / STATS and the metrics' `endpoint` label. */
  readonly name?: string
  /** The queue group: one subscriber of each group gets a request. */
  readonly queue?: string
}

/**
 * Adds one contract endpoint to a NATS micro service. Validates the request and the response,
 * answers faults with a generic INTERNAL (the cause stays in our log), continues the caller's
 * trace, and counts every outcome per endpoint (`ok` or the error code) in `metrics`.
 */
export function serve<E extends AnyEndpoint> (service: Service, endpoint: E, handler: Handler<E>, log: Log, metrics?: OutcomeCounter, opts: ServeOptions = {}): void {
  // The catalog compiles validators on first use; an endpoint we serve compiles now, so a service
  // that starts can check its first request without a compile in its path.
  void [endpoint.isRequest, endpoint.isResponse]
  const name = opts.name ?? endpoint.name
  service.addEndpoint(name, {
    subject: endpoint.subject,
    ...(opts.queue === undefined ? {} : { queue: opts.queue }),
    metadata: { summary: endpoint.summary },
    // Svcm only catches synchronous throws: start the async work here and guard it in respond().
    handler: (err, msg) => {
      if (err !== null) {
        log.error({ err, subject: endpoint.subject }, 'endpoint subscription failed')
        return
      }
      void respond(msg)
    },
  })

  async function respond (msg: ServiceMsg): Promise<void> {
    try {
      await inSpan(`${endpoint.subject} process`, 'server', endpoint.subject, extractTrace(msg.headers), async () => {
        const req = parse(msg)
        if (!endpoint.isRequest(req)) throw new BusError('BAD_REQUEST', 'request does not match the contract')
        const res = await handler(req as RequestOf<E>, msg)
        // Our own bug: never send a reply that breaks the contract.
        if (!endpoint.isResponse(res)) throw new BusError('INTERNAL', 'internal error', { cause: new Error('response does not match the contract') })
        msg.respond(JSON.stringify(res))
        metrics?.inc(REQUESTS_METRIC, { endpoint: name, outcome: 'ok', ...resultOf(res) })
      })
    } catch (cause) {
      const err = BusError.is(cause) ? cause : new BusError('INTERNAL', 'internal error', { cause })
      if (isFault(err)) log.error({ err: err.cause ?? err, errorCode: err.code, subject: endpoint.subject }, 'request failed')
      else log.info({ errorCode: err.code, reason: err.message, subject: endpoint.subject }, 'request refused')
      metrics?.inc(REQUESTS_METRIC, { endpoint: name, outcome: err.code })
      msg.respondError(err.status, err.code, JSON.stringify(err.toBody()))
    }
  }
}

/** What a factor service registers to answer the scatter describe (runService's EndpointHandler fits). */
export interface FactorsDescribe {
  readonly endpoint: DescribeEndpoint
  readonly handler: Handler<DescribeEndpoint>
  readonly options: ServeOptions
}

/**
 * The scatter describe (`warden.factors.v1.describe`) for the factor service `serviceName`: its
 * own describe handler, in a queue group named after the service, so every factor service answers
 * once and only one replica of each does (the micro services' default group `q` is shared by all
 * services: one factor in total would answer). A handler that answers for another factor is a
 * bug: INTERNAL, so the caller sees the factor as not answering, as a direct describe would.
 */
export function factorsDescribe (factor: FactorName, serviceName: string, describe: Handler<DescribeEndpoint>): FactorsDescribe {
  return {
    endpoint: describeFactors,
    handler: async (req, msg) => {
      const res = await describe(req, msg)
      if (res.factor !== factor) throw new BusError('INTERNAL', 'internal error', { cause: new Error(`describe of ${factor} answered for ${res.factor}`) })
      return res
    },
    options: { name: 'factors-describe', queue: serviceName },
  }
}

/** Serves a factor's describe on its own subject and on the scatter subject (for services not run by runFactorService, e.g. test fakes). */
export function serveDescribe (service: Service, factor: FactorName, describe: Handler<DescribeEndpoint>, log: Log, metrics?: OutcomeCounter): void {
  serve(service, DESCRIBE_ENDPOINTS[factor], describe, log, metrics)
  const scatter = factorsDescribe(factor, service.info().name, describe)
  serve(service, scatter.endpoint, scatter.handler, log, metrics, scatter.options)
}
