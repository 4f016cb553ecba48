import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, IdempotencyKey, OpaqueId, SixDigitCode, Timestamp, UserId, UserRequest } from '../messages/common.js'
import { defineFactor } from './define.js'

// The authenticator app (RFC 6238), served by factor-totp. A new verb of this factor goes here:
// its schemas, its endpoint, and a line in `endpoints` below.

export const EnrollTotpRequest = Type.Object({
  userId: UserId,
  accountName: Type.String({ minLength: 1, maxLength: 100, description: 'Label shown in the authenticator app' }),
}, { additionalProperties: false })
export type EnrollTotpRequest = Type.Static<typeof EnrollTotpRequest>

export const EnrollTotpResponse = Type.Object({
  enrollmentId: OpaqueId,
  secret: Type.String({ pattern: '^[A-Z2-7]{32}$', description: 'Base32 shared secret (160 bits), for manual entry' }),
  otpauthUri: Type.String({ maxLength: 500 }),
  qrSvg: Type.String({ maxLength: 100_000 }),
  expiresAt: Timestamp,
}, { additionalProperties: false })
export type EnrollTotpResponse = Type.Static<typeof EnrollTotpResponse>

export const enrollTotp = defineEndpoint({
  subject: 'warden.totp.v1.enroll',
  summary: 'Start an authenticator-app enrollment: a new secret that becomes active only once confirmed',
  request: EnrollTotpRequest,
  response: EnrollTotpResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const ConfirmTotpRequest = Type.Object({
  userId: UserId, enrollmentId: OpaqueId, code: SixDigitCode,
}, { additionalProperties: false })
export type ConfirmTotpRequest = Type.Static<typeof ConfirmTotpRequest>

export const ConfirmTotpResponse = Type.Union([
  Type.Object({ result: Type.Literal('confirmed'), confirmedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    result: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('clock_skew')]),
    offsetSec: Type.Optional(Type.Integer({ description: 'Approximate device clock offset, for clock_skew' })),
  }, { additionalProperties: false }),
])
export type ConfirmTotpResponse = Type.Static<typeof ConfirmTotpResponse>

export const confirmTotp = defineEndpoint({
  subject: 'warden.totp.v1.confirm',
  summary: 'Activate a pending enrollment with a code from the app',
  request: ConfirmTotpRequest,
  response: ConfirmTotpResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'ENROLLMENT_EXPIRED', 'FACTOR_LOCKED', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL'],
})

export const VerifyTotpRequest = Type.Object({
  userId: UserId, flowId: FlowId, code: SixDigitCode, idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type VerifyTotpRequest = Type.Static<typeof VerifyTotpRequest>

// A wrong code is an answer, not an error: the caller branches on `result`.
export const VerifyTotpResponse = Type.Union([
  Type.Object({ result: Type.Literal('verified'), verifiedAt: Timestamp }, { additionalProperties: false }),
  Type.Object({
    result: Type.Literal('rejected'),
    reason: Type.Union([Type.Literal('invalid_code'), Type.Literal('replayed'), Type.Literal('clock_skew')]),
    offsetSec: Type.Optional(Type.Integer({ description: 'Approximate device clock offset, for clock_skew' })),
    attemptsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }),
])
export type VerifyTotpResponse = Type.Static<typeof VerifyTotpResponse>

export const verifyTotp = defineEndpoint({
  subject: 'warden.totp.v1.verify',
  summary: 'Check a code at sign-in: window T-1..T+1, each step usable once, attempts counted per user',
  request: VerifyTotpRequest,
  response: VerifyTotpResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'RATE_LIMITED', 'UNAVAILABLE', 'CONFLICT', 'INTERNAL'],
})

export const RemoveResponse = Type.Object({ removed: Type.Boolean() }, { additionalProperties: false })
export type RemoveResponse = Type.Static<typeof RemoveResponse>

export const removeTotp = defineEndpoint({
  subject: 'warden.totp.v1.remove',
  summary: 'Remove the authenticator app (and any pending enrollment)',
  request: UserRequest,
  response: RemoveResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const totp = defineFactor({
  name: 'totp',
  service: 'factor-totp',
  // RFC 8176: a one-time password.
  amr: ['otp'],
  fallback: false,
  describe: 'Whether the user has an active authenticator app, and whether it is locked',
  endpoints: { enroll: enrollTotp, confirm: confirmTotp, verify: verifyTotp, remove: removeTotp },
})
