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

/**
 * One inbox token waiting for replies. `deliver` sees each reply and answers whether the wait is
 * over; `end` runs once when it is over for another reason (its deadline, no responders, the
 * connection closed), with the error a single request fails with.
 */
interface Pending {
  deliver: (msg: Msg) => boolean
  end: (err: BusError) => void
  timer: ReturnType<typeof setTimeout>
}

/**
 * Request/reply over one wildcard inbox subscription per connection, like nats.js' own muxed
 * request(), but without its per-request Error objects: nats-core builds a RequestError and a
 * TimeoutError up front on every request (for async stack traces) and another on completion,
 * which the CPU profile of the sign-in path showed at ~12% of the gateway (bench/FIXES.md). Here
 * an error is made only when a request actually fails. The same inbox serves a scatter: one
 * publish whose token stays open for several replies until its caller has enough or the deadline.
 */
class RequestMux {
  private readonly prefix: string
  private readonly pending = new Map<string, Pending>()
  private readonly sub: Subscription
  private next = 0

  constructor (private readonly nc: NatsConnection) {
    this.prefix = `${createInbox()}.`
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => { if (err === null) this.settle(msg) } })
    // A closed connection answers nothing more: end what waits now instead of at its deadline.
    void nc.closed().then(() => { this.endAll(new BusError('UNAVAILABLE', 'the bus is not available')) })
  }

  get usable (): boolean { return !this.sub.isClosed() }

  /** One reply: the first message on the inbox, or TIMEOUT / UNAVAILABLE. */
  request (subject: string, data: string, timeoutMs: number, headers: ReturnType<typeof traceHeaders>): Promise<Msg> {
    return new Promise<Msg>((resolve, reject) => {
      this.publish(subject, data, timeoutMs, headers, {
        deliver: (msg) => {
          // The server's own answer when nobody serves the subject: a 503 status without a body.
          if (isNoResponders(msg)) reject(new BusError('UNAVAILABLE', 'the service is not available'))
          else resolve(msg)
          return true
        },
        end: reject,
      })
    })
  }

  /**
   * Many replies to one publish: `onReply` sees each as it arrives and answers whether enough have
   * come. Resolves then, at the deadline, or when the connection closes (what arrived was already
   * seen); rejects UNAVAILABLE when nobody serves the subject or the publish itself fails.
   */
  gather (subject: string, data: string, timeoutMs: number, headers: ReturnType<typeof traceHeaders>, onReply: (msg: Msg) => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.publish(subject, data, timeoutMs, headers, {
        deliver: (msg) => {
          if (isNoResponders(msg)) {
            reject(new BusError('UNAVAILABLE', 'the service is not available'))
            return true
          }
          const done = onReply(msg)
          if (done) resolve()
          return done
        },
        end: () => { resolve() },
      }, reject)
    })
  }

  private publish (subject: string, data: string, timeoutMs: number, headers: ReturnType<typeof traceHeaders>,
    waiter: Omit<Pending, 'timer'>, onPublishError: (err: BusError) => void = waiter.end): void {
    const token = (this.next++).toString(36)
    const timer = setTimeout(() => {
      this.pending.delete(token)
      waiter.end(new BusError('TIMEOUT', 'the service did not answer in time'))
    }, timeoutMs)
    this.pending.set(token, { ...waiter, timer })
    try {
      this.nc.publish(subject, data, { reply: this.prefix + token, headers })
    } catch (cause) {
      clearTimeout(timer)
      this.pending.delete(token)
      onPublishError(new BusError('UNAVAILABLE', 'the bus is not available', { cause }))
    }
  }

  private settle (msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length)
    const p = this.pending.get(token)
    if (p === undefined) return // late: its caller already has its answer (or TIMEOUT)
    if (!p.deliver(msg)) return
    this.pending.delete(token)
    clearTimeout(p.timer)
  }

  private endAll (err: BusError): void {
    for (const [token, p] of this.pending) {
      this.pending.delete(token)
      clearTimeout(p.timer)
      p.end(err)
    }
  }
}

function isNoResponders (msg: Msg): boolean {
  return msg.data.length === 0 && msg.headers?.code === 503
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

/** Why a scatter left a reply out: an error answer, or one that breaks the contract. */
export interface IgnoredReply { readonly error: BusError }

export interface ScatterOptions<R> {
  /** How long to wait for replies (DEFAULT_REQUEST_TIMEOUT_MS when left out). */
  readonly timeoutMs?: number
  /** How many kept replies end the wait early: the caller gets them as soon as they are in. */
  readonly expected: number
  /**
   * Whether to keep a valid reply (default: keep all). Called once per valid reply, in order of
   * arrival; the caller drops duplicates and replies it did not ask for here.
   */
  readonly accept?: (res: R) => boolean
  /** Told about each error reply and each reply that breaks the contract (they are left out). */
  readonly onIgnored?: (ignored: IgnoredReply) => void
}

/**
 * One publish of a contract request that several services answer (each in its own queue group),
 * collected on the muxed inbox: returns the valid replies `accept` kept, as soon as `expected` of
 * them arrived, or what arrived by the deadline (maybe nothing: a missing answer is the caller's
 * to treat, e.g. as unavailable). Error replies and replies that break the contract are left out.
 * Throws a BusError only for a request that breaks the contract (BAD_REQUEST), or UNAVAILABLE
 * when nobody serves the subject or the bus cannot send.
 */
export async function scatter<E extends AnyEndpoint> (
  nc: NatsConnection, endpoint: E, body: RequestOf<E>, opts: ScatterOptions<ResponseOf<E>>,
): Promise<Array<ResponseOf<E>>> {
  if (!endpoint.isRequest(body)) throw new BusError('BAD_REQUEST', 'request does not match the contract')
  return inSpan(`${endpoint.subject} send`, 'client', endpoint.subject, context.active(), async () => {
    const kept: Array<ResponseOf<E>> = []
    if (opts.expected <= 0) return kept
    await muxOf(nc).gather(endpoint.subject, JSON.stringify(body), opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, traceHeaders(), (msg) => {
      if (ServiceError.isServiceError(msg)) {
        opts.onIgnored?.({ error: toBusError(msg) })
        return false
      }
      let data: unknown
      try { data = msg.json() } catch { data = undefined }
      if (!endpoint.isResponse(data)) {
        opts.onIgnored?.({ error: new BusError('INTERNAL', 'internal error', { cause: new Error(`response of ${endpoint.subject} does not match the contract`) }) })
        return false
      }
      const res = data as ResponseOf<E>
      if (opts.accept !== undefined && !opts.accept(res)) return false
      kept.push(res)
      return kept.length >= opts.expected
    })
    return kept
  })
}
