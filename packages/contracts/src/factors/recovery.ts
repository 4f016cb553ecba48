import { Type } from 'typebox'
import { defineEndpoint } from '../endpoint.js'
import { FlowId, IdempotencyKey, Timestamp, UserId, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// The one-time emergency code (the recovery service). A new verb of this factor goes here, and in `endpoints`.

export const RecoveryCode = Type.String({ pattern: '^[A-Z2-7]{4}(-?[A-Z2-7]{4}){3}$', description: 'Emergency code: 16 base32 characters (80 bits), dashes optional' })
export const VerifyRecoveryRequest = Type.Object({
  userId: UserId, flowId: FlowId, code: RecoveryCode,
  mode: Type.Union([Type.Literal('temporary'), Type.Literal('permanent')]),
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export const VerifyRecoveryResponse = Type.Union([
  Type.Object({
    result: Type.Literal('verified'), verifiedAt: Timestamp,
    newCode: Type.Optional(Type.String({ description: 'Temporary loss: the replacement code, shown once' })),
  }, { additionalProperties: false }),
  VerifyRejected(['invalid_code']),
])
export const verifyRecovery = defineEndpoint({
  subject: 'warden.recovery.v1.verify',
  summary: 'Spend the emergency code (once); temporary loss issues a new one, permanent loss resets 2FA',
  request: VerifyRecoveryRequest, response: VerifyRecoveryResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'UNAVAILABLE', 'INTERNAL'],
})

export const recovery = defineFactor({
  name: 'recovery',
  service: 'recovery',
  // A look-up secret has no RFC 8176 value of its own: a one-time password.
  amr: ['otp'],
  // Seeds: the emergency code is the last resort.
  fallback: true,
  describe: 'Whether the user has an unused emergency code',
  endpoints: { verify: verifyRecovery },
})
