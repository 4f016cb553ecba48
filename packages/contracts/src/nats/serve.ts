import type { Service, ServiceMsg } from '@nats-io/services'
import type { AnyEndpoint, RequestOf, ResponseOf } from '../endpoint.js'
import { BusError } from '../errors.js'
import { extractTrace, inSpan } from './trace.js'

/** The slice of a pino logger that serve() needs. */
export interface Log {
  error: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  debug: (obj: object, msg: string) => void
}

export type Handler<E extends AnyEndpoint> = (req: RequestOf<E>, msg: ServiceMsg) => Promise<ResponseOf<E>>

function parse (msg: ServiceMsg): unknown {
  try {
    return msg.json()
  } catch {
    throw new BusError('BAD_REQUEST', 'request is not JSON')
  }
}

/**
 * Adds one contract endpoint to a NATS micro service. Validates the request and the response,
 * answers faults with a generic INTERNAL (the cause stays in our log), and continues the
 * caller's trace.
 */
export function serve<E extends AnyEndpoint> (service: Service, endpoint: E, handler: Handler<E>, log: Log): void {
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
      })
    } catch (cause) {
      const err = BusError.is(cause) ? cause : new BusError('INTERNAL', 'internal error', { cause })
      if (err.status >= 500) log.error({ err: err.cause ?? err, errorCode: err.code, subject: endpoint.subject }, 'request failed')
      else log.debug({ errorCode: err.code, subject: endpoint.subject }, 'request refused')
      msg.respondError(err.status, err.code, JSON.stringify(err.toBody()))
    }
  }
}
