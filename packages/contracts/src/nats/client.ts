import { errors, type Msg, type NatsConnection } from '@nats-io/transport-node'
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
 * Calls a contract endpoint. Validates the request before sending and the reply on receipt, and
 * turns every outcome into a valid response or a BusError (TIMEOUT / UNAVAILABLE for transport).
 */
export async function request<E extends AnyEndpoint> (
  nc: NatsConnection, endpoint: E, body: RequestOf<E>, opts: { timeoutMs?: number } = {},
): Promise<ResponseOf<E>> {
  if (!endpoint.isRequest(body)) throw new BusError('BAD_REQUEST', 'request does not match the contract')
  return inSpan(`${endpoint.subject} send`, 'client', endpoint.subject, context.active(), async () => {
    let msg: Msg
    try {
      msg = await nc.request(endpoint.subject, JSON.stringify(body), {
        timeout: opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        headers: traceHeaders(),
      })
    } catch (cause) {
      if (cause instanceof errors.TimeoutError) throw new BusError('TIMEOUT', 'the service did not answer in time', { cause })
      if (cause instanceof errors.RequestError && cause.isNoResponders()) throw new BusError('UNAVAILABLE', 'the service is not available', { cause })
      if (cause instanceof errors.NoRespondersError) throw new BusError('UNAVAILABLE', 'the service is not available', { cause })
      throw new BusError('UNAVAILABLE', 'the bus is not available', { cause })
    }
    if (ServiceError.isServiceError(msg)) throw toBusError(msg)
    let data: unknown
    try { data = msg.json() } catch { throw new BusError('INTERNAL', 'internal error') }
    if (!endpoint.isResponse(data)) throw new BusError('INTERNAL', 'internal error', { cause: new Error(`response of ${endpoint.subject} does not match the contract`) })
    return data as ResponseOf<E>
  })
}
