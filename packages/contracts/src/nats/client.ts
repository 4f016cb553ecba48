import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { ServiceError, ServiceErrorHeader } from '@nats-io/services'
import { context } from '@opentelemetry/api'
import type { AnyEndpoint, RequestOf, ResponseOf } from '../endpoint.js'
import { BusError, ERROR_CODES, isErrorBody, type ErrorCode } from '../errors.js'
import { inSpan, traceHeaders } from './trace.js'

export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000

function toBusError (msg: Msg): BusError {
  let body: unknown
  try { body = msg.json() } catch { body = undefined }
  if (isErrorBody(body)) {
    return new BusError(body.code, body.message, body.retryAfterSec === undefined ? {} : { retryAfterSec: body.retryAfterSec })
  }
  // A service outside our contract (or Svcm itself) answered: keep the code if it is one of ours.
  const header = msg.headers?.get(ServiceErrorHeader) ?? ''
  const code: ErrorCode = (ERROR_CODES as string[]).includes(header) ? header as ErrorCode : 'INTERNAL'
  return new BusError(code, code === 'INTERNAL' ? 'internal error' : code)
}

interface Pending { resolve: (msg: Msg) => void, reject: (err: BusError) => void, timer: ReturnType<typeof setTimeout> }

/**
 * Request/reply over one wildcard inbox subscription per connection, like nats.js' own muxed
 * request(), but without its per-request Error objects: nats-core builds a RequestError and a
 * TimeoutError up front on every request (for async stack traces) and another on completion,
 * which the CPU profile of the sign-in path showed at ~12% of the gateway (bench/FIXES.md). Here
 * an error is made only when a request actually fails.
 */
class RequestMux {
  private readonly prefix: string
  private readonly pending = new Map<string, Pending>()
  private readonly sub: Subscription
  private next = 0

  constructor (private readonly nc: NatsConnection) {
    this.prefix = `${createInbox()}.`
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => { if (err === null) this.settle(msg) } })
    // A closed connection answers nothing more: fail what waits now instead of at its deadline.
    void nc.closed().then(() => { this.failAll() })
  }

  get usable (): boolean { return !this.sub.isClosed() }

  request (subject: string, data: string, timeoutMs: number, headers: ReturnType<typeof traceHeaders>): Promise<Msg> {
    const token = (this.next++).toString(36)
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token)
        reject(new BusError('TIMEOUT', 'the service did not answer in time'))
      }, timeoutMs)
      this.pending.set(token, { resolve, reject, timer })
      try {
        this.nc.publish(subject, data, { reply: this.prefix + token, headers })
      } catch (cause) {
        clearTimeout(timer)
        this.pending.delete(token)
        reject(new BusError('UNAVAILABLE', 'the bus is not available', { cause }))
      }
    })
  }

  private settle (msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length)
    const p = this.pending.get(token)
    if (p === undefined) return // late: its caller already got TIMEOUT
    this.pending.delete(token)
    clearTimeout(p.timer)
    // The server's own answer when nobody serves the subject: a 503 status without a body.
    if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new BusError('UNAVAILABLE', 'the service is not available'))
    else p.resolve(msg)
  }

  private failAll (): void {
    for (const [token, p] of this.pending) {
      this.pending.delete(token)
      clearTimeout(p.timer)
      p.reject(new BusError('UNAVAILABLE', 'the bus is not available'))
    }
  }
}

const muxes = new WeakMap<NatsConnection, RequestMux>()

function muxOf (nc: NatsConnection): RequestMux {
  let mux = muxes.get(nc)
  if (mux === undefined || !mux.usable) {
    try {
      mux = new RequestMux(nc)
    } catch (cause) {
      throw new BusError('UNAVAILABLE', 'the bus is not available', { cause })
    }
    muxes.set(nc, mux)
  }
  return mux
}

/**
 * Calls a contract endpoint. Validates the request before sending and the reply on receipt, and
 * turns every outcome into a valid response or a BusError (TIMEOUT / UNAVAILABLE for transport).
 */
export async function request<E extends AnyEndpoint> (
  nc: NatsConnection, endpoint: E, body: RequestOf<E>, opts: { timeoutMs?: number } = {},
): Promise<ResponseOf<E>> {
  if (!endpoint.isRequest(body)) throw new BusError('BAD_REQUEST', 'request does not match the contract')
  return inSpan(`${endpoint.subject} send`, 'client', endpoint.subject, context.active(), async () => {
    const msg = await muxOf(nc).request(endpoint.subject, JSON.stringify(body), opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, traceHeaders())
    if (ServiceError.isServiceError(msg)) throw toBusError(msg)
    let data: unknown
    try { data = msg.json() } catch { throw new BusError('INTERNAL', 'internal error') }
    if (!endpoint.isResponse(data)) throw new BusError('INTERNAL', 'internal error', { cause: new Error(`response of ${endpoint.subject} does not match the contract`) })
    return data as ResponseOf<E>
  })
}
