import { BusError, ErrorBody, ERROR_STATUS, type ErrorCode } from '@warden/contracts'
import { Type } from 'typebox'

/**
 * The one place where an error code becomes an HTTP status (ARCHITECTURE §3, STYLE §3.7.6).
 *
 * - NOT_ENROLLED is 409, not the bus's 404: the URL exists; the user's state (no such factor, or
 *   it was removed while a sign-in was open) conflicts with the request.
 * - PROVIDER_UNAVAILABLE, UNAVAILABLE and TIMEOUT are all 503 with Retry-After: for the client
 *   they mean the same thing, "try again shortly", and 502/504 would expose our topology.
 * - FACTOR_LOCKED and RATE_LIMITED are 429 with Retry-After (SECURITY §4.5: the lock is visible
 *   at the second-factor step because the password was already accepted).
 * - A BAD_REQUEST *from a factor* never reaches this table as such: `fromFactor` turns it into
 *   INTERNAL, because it means the gateway let an invalid payload through (our bug, a 500).
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  ...ERROR_STATUS,
  // Where the edge means something else than the bus (see above):
  NOT_ENROLLED: 409,
  PROVIDER_UNAVAILABLE: 503,
  TIMEOUT: 503,
})

/** Retry-After when the error itself does not say (seconds). */
export const DEFAULT_RETRY_AFTER_SEC: Readonly<Partial<Record<number, number>>> = { 429: 60, 503: 5 }

/** Messages for 5xx answers: fixed strings, never the text of a fault. */
const SERVER_MESSAGES: Readonly<Partial<Record<ErrorCode, string>>> = {
  INTERNAL: 'internal error',
  PROVIDER_UNAVAILABLE: 'a provider is not available: try again shortly',
  UNAVAILABLE: 'a service is not available: try again shortly',
  TIMEOUT: 'a service did not answer in time: try again shortly',
}

/** `{ error: { code, message, retryAfterSec? } }`: the body of every error answer. */
export const ErrorResponse = Type.Object({ error: ErrorBody }, { additionalProperties: false, description: 'Every error answer' })
export type ErrorResponse = Type.Static<typeof ErrorResponse>

export interface HttpErrorAnswer { status: number, body: ErrorResponse, retryAfterSec?: number }

/** The HTTP answer for a BusError: status from the table, safe message, Retry-After on 429/503. */
export function toHttp (err: BusError): HttpErrorAnswer {
  const status = HTTP_STATUS[err.code]
  const message = status >= 500 ? (SERVER_MESSAGES[err.code] ?? 'internal error') : err.message.slice(0, 200)
  const fallback = DEFAULT_RETRY_AFTER_SEC[status]
  const retryAfterSec = err.retryAfterSec !== undefined ? Math.max(0, Math.ceil(err.retryAfterSec)) : fallback
  const error: ErrorBody = retryAfterSec === undefined ? { code: err.code, message } : { code: err.code, message, retryAfterSec }
  return retryAfterSec === undefined ? { status, body: { error } } : { status, body: { error }, retryAfterSec }
}

/**
 * An error from a factor service, as the edge sees it. BAD_REQUEST means we sent something the
 * contract refuses: that is our fault, so it becomes INTERNAL (the cause stays for the log).
 */
export function fromFactor (err: unknown): unknown {
  if (BusError.is(err) && err.code === 'BAD_REQUEST') return new BusError('INTERNAL', 'internal error', { cause: err })
  return err
}

/** Shorthand for the gateway's own refusals. */
export function fail (code: ErrorCode, message: string, opts: { retryAfterSec?: number } = {}): BusError {
  return new BusError(code, message, opts)
}
