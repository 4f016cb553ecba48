import { Type } from 'typebox'
import { ajv } from './ajv.js'

/**
 * The closed set of error codes, on the bus and at the HTTP edge, with their natural status.
 * Adding a code is a contract change. The gateway's own table maps bus codes to HTTP where the
 * meaning differs at the edge (a BAD_REQUEST from a factor is the gateway's own bug).
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  /** The primary token is too old for this (starting the setup wizard): enter the password again. */
  REAUTHENTICATION_REQUIRED: 401,
  FORBIDDEN: 403,
  STEP_UP_REQUIRED: 403,
  /** The application's policy requires 2FA: it cannot be turned off. */
  TWO_FACTOR_REQUIRED: 403,
  NOT_FOUND: 404,
  NOT_ENROLLED: 404,
  ALREADY_ENROLLED: 409,
  CONFLICT: 409,
  LIMIT_REACHED: 409,
  FLOW_EXPIRED: 410,
  // A phone number that cannot be added, each for its own reason (factor-sms).
  PHONE_INVALID: 422,
  PHONE_PREMIUM_RATE: 422,
  PHONE_SHARED_COST: 422,
  PHONE_TOLL_FREE: 422,
  PHONE_VOIP: 422,
  PHONE_NOT_MOBILE: 422,
  PHONE_COUNTRY_NOT_ALLOWED: 422,
  ENROLLMENT_EXPIRED: 410,
  RATE_LIMITED: 429,
  FACTOR_LOCKED: 429,
  // The hosted flow (RFC 6749 / RFC 9126 error meanings, in the house shape):
  INVALID_CLIENT: 401,
  INVALID_GRANT: 400,
  INVALID_REDIRECT_URI: 400,
  INVALID_REQUEST_URI: 400,
  INTERNAL: 500,
  PROVIDER_UNAVAILABLE: 502,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const
export type ErrorCode = keyof typeof ERROR_STATUS
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]

export const ErrorBody = Type.Object({
  code: Type.Unsafe<ErrorCode>({ type: 'string', enum: ERROR_CODES, description: 'Stable error code' }),
  message: Type.String({ maxLength: 200, description: 'Safe to show; never the message of an internal fault' }),
  retryAfterSec: Type.Optional(Type.Integer({ minimum: 0, description: 'When to try again, for 429/503' })),
}, { additionalProperties: false })
export type ErrorBody = Type.Static<typeof ErrorBody>
export const isErrorBody = ajv.compile<ErrorBody>(ErrorBody)

const kBusError = Symbol.for('warden.contracts.BusError')

/** An error with a contract code. Its message must be safe to show to a caller. */
export class BusError extends Error {
  readonly code: ErrorCode
  readonly retryAfterSec: number | undefined
  constructor (code: ErrorCode, message: string = code, opts: { cause?: unknown, retryAfterSec?: number } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'BusError'
    this.code = code
    this.retryAfterSec = opts.retryAfterSec
  }

  get status (): number { return ERROR_STATUS[this.code] }
  get [kBusError] (): true { return true }

  /** A brand check, not instanceof: survives duplicate copies of this package. */
  static is (err: unknown): err is BusError {
    return typeof err === 'object' && err !== null && (err as { [kBusError]?: unknown })[kBusError] === true
  }

  toBody (): ErrorBody {
    const message = this.message.slice(0, 200)
    return this.retryAfterSec === undefined
      ? { code: this.code, message }
      : { code: this.code, message, retryAfterSec: Math.max(0, Math.ceil(this.retryAfterSec)) }
  }
}
