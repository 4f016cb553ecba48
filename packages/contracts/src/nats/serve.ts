import type { Service, ServiceMsg } from '@nats-io/services'
import type { AnyEndpoint, RequestOf, ResponseOf } from '../endpoint.js'
import { BusError } from '../errors.js'
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

/**
 * Adds one contract endpoint to a NATS micro service. Validates the request and the response,
 * answers faults with a generic INTERNAL (the cause stays in our log), continues the caller's
 * trace, and counts every outcome per endpoint (`ok` or the error code) in `metrics`.
 */
export function serve<E extends AnyEndpoint> (service: Service, endpoint: E, handler: Handler<E>, log: Log, metrics?: OutcomeCounter): void {
  service.addEndpoint(endpoint.name, {
    subject: endpoint.subject,
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
        metrics?.inc(REQUESTS_METRIC, { endpoint: endpoint.name, outcome: 'ok', ...resultOf(res) })
      })
    } catch (cause) {
      const err = BusError.is(cause) ? cause : new BusError('INTERNAL', 'internal error', { cause })
      if (isFault(err)) log.error({ err: err.cause ?? err, errorCode: err.code, subject: endpoint.subject }, 'request failed')
      else log.info({ errorCode: err.code, reason: err.message, subject: endpoint.subject }, 'request refused')
      metrics?.inc(REQUESTS_METRIC, { endpoint: endpoint.name, outcome: err.code })
      msg.respondError(err.status, err.code, JSON.stringify(err.toBody()))
    }
  }
}
